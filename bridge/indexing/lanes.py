"""Which decoder takes which file, and one stream of results from both.

Without a device lane (the default on a CPU, `device_decode = "off"`, a metadata-only run) every job goes to
the CPU worker processes (`DecodePool`), as before. With one (`device_decode = "auto"` and the model on a GPU,
or `"on"`), the run's JPEGs are offered to the device lane (`devicedecode.DeviceLane`, a thread feeding the GPU
in batches) and everything else to the CPU workers, through one `JobQueue`: an idle CPU worker steals JPEGs from
the back of the device's queue, the device lane hands back files it cannot decode, and asks the CPU workers for
the metadata half of each photo it decoded. This module joins the halves and yields one `FileResult` per file.

Both lanes run in threads and put what they make on one bounded queue, so memory stays flat whichever side is
faster; the caller's thread embeds and commits. A stop (Ctrl-C, the caller giving up) ends both lanes after
their current step; halves that never met are simply not committed and the next run redoes those files.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from bridge.files.formats import extension
from bridge.files.objects import is_url
from bridge.indexing.context import RunContext
from bridge.indexing.decodepool import DecodePool
from bridge.indexing.devicedecode import DeviceLane
from bridge.indexing.jobqueue import JobQueue
from bridge.indexing.worker import Job
from bridge.records import FileResult

JPEG_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif"})
POLL_S = 0.1  # how often the consumer looks at the stop flag while waiting for results


@dataclass
class LaneCounts:
    """What each lane did in a run (shown in the run's summary)."""

    device: str | None = None
    device_decoded: int = 0
    turned_away: int = 0  # offered to the device lane, decoded by the CPU workers instead
    stolen: int = 0  # device-eligible files an idle CPU worker took
    device_seconds: float = 0.0


def device_for(ctx: RunContext) -> str | None:
    """The device the lane decodes on, or None for CPU workers only."""
    mode = ctx.settings.device_decode
    if mode == "off" or ctx.embedder is None:
        return None
    device = str(getattr(ctx.embedder, "devices", [ctx.embedder.device])[0])
    if mode == "auto" and not device.startswith("cuda"):
        return None
    return device


def pool_for(ctx: RunContext, stop: threading.Event) -> DecodePool:
    # Enough decoded photos in flight to fill the next batch while the model runs on this one; the
    # bound keeps memory flat (a 224 px model input is 150 KB).
    n = ctx.settings.workers or os.cpu_count() or 2
    return DecodePool(n, ctx.decoder_log, stop, depth=max(4 * n, 2 * ctx.batch_size))


def wants_device(job: Job) -> bool:
    # An object in a bucket (s3://…) is read by the CPU workers, many requests in flight across processes;
    # the device lane reads local files only.
    return (
        (job.want_pixels or bool(job.analyses) or job.caption_size > 0)
        and extension(job.path) in JPEG_EXTENSIONS
        and not is_url(job.path)
    )


def results(ctx: RunContext, jobs: Sequence[Job], counts: LaneCounts | None = None) -> Iterator[FileResult]:
    """Each job's result, in completion order, from whichever decoder took it."""
    device = device_for(ctx)
    eligible = [j for j in jobs if wants_device(j)] if device else []
    if device is None or not eligible:
        yield from pool_for(ctx, ctx.stop).results(list(jobs))
        return
    counts = counts if counts is not None else LaneCounts()
    counts.device = device
    others = [j for j in jobs if not wants_device(j)]
    yield from _two_lanes(ctx, device, JobQueue(others, eligible, open_=True), counts)


def _two_lanes(ctx: RunContext, device: str, jobs: JobQueue, counts: LaneCounts) -> Iterator[FileResult]:
    halt = threading.Event()  # ctx.stop, or the consumer went away
    pool = pool_for(ctx, halt)
    out: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=pool.depth)
    meta_expected: set[str] = set()  # photos decoded on the device whose metadata half a CPU worker makes
    oriented: dict[str, tuple[int, int]] = {}

    def put(item: tuple[str, Any]) -> None:
        """A result: dropped once halted (nobody will commit it; the next run redoes that file)."""
        while not halt.is_set():
            try:
                out.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def tell(item: tuple[str, Any]) -> None:
        """A "done" or an error: always delivered (the consumer reads until both lanes said done)."""
        out.put(item)

    def cpu_side() -> None:
        try:
            for r in pool.results(jobs):
                put(("cpu", r))
        except BaseException as e:  # handed to the consumer, which raises it
            tell(("error", e))
        finally:
            tell(("done", "cpu"))

    def device_side() -> None:
        lane = DeviceLane(device, stop=halt.is_set)
        try:
            for job, r, size in lane.run(jobs.take_device, jobs.to_cpu):
                if job.want_metadata:
                    oriented[job.fingerprint] = size
                    meta_expected.add(job.fingerprint)  # before the job is queued: its result may come first
                    jobs.to_metadata([metadata_job(job)])
                put(("device", (job, r)))
        except BaseException as e:
            tell(("error", e))
        finally:
            jobs.close()
            counts.device_decoded, counts.turned_away = lane.decoded, lane.turned_away
            counts.device_seconds = lane.seconds
            tell(("done", "device"))

    threads = [
        threading.Thread(target=cpu_side, name="decode-cpu", daemon=True),
        threading.Thread(target=device_side, name="decode-device", daemon=True),
    ]
    for t in threads:
        t.start()
    halves: dict[str, FileResult] = {}
    finished = 0
    try:
        while finished < len(threads):
            if ctx.stop.is_set():
                halt.set()  # both lanes end after their current step; what arrives meanwhile is still used
            try:
                kind, item = out.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if kind == "done":
                finished += 1
            elif kind == "error":
                raise item
            elif kind == "device":
                job, r = item
                if not job.want_metadata:
                    yield r
                elif (other := halves.pop(r.fingerprint, None)) is not None:
                    yield join(r, other, oriented.pop(r.fingerprint))
                else:
                    halves[r.fingerprint] = r
            elif item.fingerprint in meta_expected:  # a CPU worker's metadata half
                if (other := halves.pop(item.fingerprint, None)) is not None:
                    yield join(other, item, oriented.pop(item.fingerprint))
                else:
                    halves[item.fingerprint] = item
            else:
                yield item
    finally:
        halt.set()
        for t in threads:
            while t.is_alive():  # drain, so a lane blocked on a full queue sees the halt
                with suppress(queue.Empty):
                    out.get(timeout=POLL_S)
        counts.stolen = jobs.stolen


def metadata_job(job: Job) -> Job:
    """The CPU half of a photo the device decoded: its metadata only."""
    return replace(job, want_pixels=False, analyses=(), want_bitmap=False, caption_size=0)


def join(device: FileResult, meta: FileResult, size: tuple[int, int]) -> FileResult:
    """One file's result from its device half (pixels, analyses, caption input) and metadata half."""
    metadata = meta.metadata
    if metadata is not None:
        # As the CPU path does: the decoder knows the real (oriented) pixel size; EXIF can disagree.
        metadata = {**metadata, "width": size[0], "height": size[1]}
    return FileResult(
        device.path,
        device.fingerprint,
        metadata,
        device.model_input,
        meta.failures + device.failures,
        {**meta.timings, **device.timings},
        device.analyses,
        device.bitmap,
    )
