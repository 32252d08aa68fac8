"""What a decode worker process does for one file: metadata, decode, model input. Never imports torch."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bridge.records import Decoded, DecodeError, Failure, FileResult, MetadataError, Reason, Stage

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_CHECK_SECONDS = 1.0
_init_error: str | None = None  # why this worker cannot work (set by init_worker, reported by every call)


class WorkerEnvironmentError(Exception):
    """This worker process cannot do any work (its environment is broken, not the file it was given)."""


class WorkerSourceUnavailable(WorkerEnvironmentError):
    """The store a job's URL points at stopped answering (or refused the credentials): not the file's
    fault, nor this worker's; the run stops with `SourceOutage` and the next one reads the file again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One file for a decode worker: what to read from it and the limits to read it under."""

    path: str
    fingerprint: str
    want_metadata: bool
    want_pixels: bool
    image_size: int = 224
    decode_size: int = 448
    max_pixels: int = 250_000_000
    analyses: tuple[tuple[Stage, str], ...] = ()  # pixel analyses to compute: (kind, version)
    want_bitmap: bool = False  # send the decoded bitmap back (the caption stage)
    caption_size: int = 0  # send back the caption model's square input instead (captions in the same pass)
    thumb_dir: str = ""  # write the photo's thumbnail into this cache from the decoded bitmap ("" = don't)
    size: int = 0  # bytes at scan time: a file above `max_bytes` is refused before it is opened
    max_bytes: int = 0  # 0: the format's default limit (bridge.files.formats.LIMITS)
    storage: str = ""  # object_storage_options (bridge.files.objects.encode_options) when `path` is a URL
    # An offline original's stand-in (bridge.indexing.standins): read these pixels for `path`, and say so
    stand_in: str = ""
    stand_in_kind: str = ""  # lightroom-preview | lightroom-smart-preview


def init_worker(log_path: str | None = None, parent_pid: int | None = None) -> None:
    """Workers ignore Ctrl-C: the main process decides when to stop, after the current batch.

    LibRaw and libheif print warnings straight to file descriptor 2 ("unknown file: Unexpected end of
    file"); they would tear through the progress display, so a worker's stderr goes to a log file.
    Failures themselves come back as values with their reasons.

    Never raises: a failing initializer makes the pool report a dead worker, which would be blamed on a
    file. The problem is kept instead and every call answers WorkerEnvironmentError with it (R44).
    """
    global _init_error
    if parent_pid is not None:
        die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if log_path:
        try:
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as e:
            _init_error = f"cannot write the decoder log {log_path}: {e.strerror or e}"
            return
        os.dup2(fd, 2)
        os.close(fd)


def die_with_parent(parent_pid: int) -> None:
    """A worker must not outlive the indexer (R46): after a kill -9 nobody would ever shut the pool down,
    and each orphan holds 100-250 MB. Linux: the kernel sends SIGKILL when the parent dies. Everywhere: a
    thread notices the parent is gone (we are re-parented) and exits."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl (unusual libc): the watchdog thread still works
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watchdog", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)  # no cleanup: there is nobody left to report to


def ping() -> int:
    """A no-op job: proves a worker can start and work. Raises WorkerEnvironmentError when it cannot."""
    if _init_error:
        raise WorkerEnvironmentError(_init_error)
    return os.getpid()


def process(job: Job) -> FileResult:
    from bridge.analyses.kinds import compute
    from bridge.files.thumbs import save_thumbnail
    from bridge.indexing.decode import SourceUnavailable, decode_image, read_file
    from bridge.indexing.preprocess import caption_input, model_input
    from bridge.metadata.read import read_metadata

    if _init_error:
        raise WorkerEnvironmentError(_init_error)
    failures: list[Failure] = []
    timings: dict[str, float] = {}
    metadata = None
    pixels = None
    max_bytes = job.max_bytes or _default_max_bytes(job.path)
    if job.size > max_bytes:  # known from the scan: not even opened
        detail = (
            f"the file is {job.size / 1e6:.0f} MB, above the {max_bytes / 1e6:.0f} MB limit for its format"
        )
        fail = Failure(job.path, Stage.DECODE, Reason.TOO_LARGE, detail + " (setting format_limits)")
        return FileResult(job.path, job.fingerprint, None, None, (fail,), timings)
    src = job.stand_in or job.path  # what is read; results are always recorded under `job.path`
    t = time.process_time()
    try:
        data = read_file(src, max_bytes, storage=job.storage, size=job.size)  # once, for all uses
    except SourceUnavailable as e:  # the bucket's store is down, not this file: the run stops (R44)
        raise WorkerSourceUnavailable(str(e)) from None
    except DecodeError as e:
        fail = Failure(job.path, Stage.DECODE, e.reason, e.detail)
        return FileResult(job.path, job.fingerprint, None, None, (fail,), timings)
    timings["read"] = time.process_time() - t
    if job.want_metadata:
        t = time.process_time()
        try:
            # The content's embedded metadata only: a sidecar belongs to a path, not to the content (two
            # copies may have different ones); the run reads sidecars per path (bridge.indexing.sidecars).
            metadata = read_metadata(src, data=data, sidecar=None)
        except MetadataError as e:
            failures.append(Failure(job.path, Stage.METADATA, e.reason, e.detail))
            metadata = {}
        if job.stand_in_kind:  # the pixels are Lightroom's preview, not the original: marked in the index
            metadata["pixel_source"] = job.stand_in_kind
        displayed_size(metadata)
        metadata["file_format"] = content_format(src, data)
        timings["metadata"] = time.process_time() - t
    analyses: dict[str, tuple[str, object]] = {}
    bitmap = None
    if job.want_pixels or job.analyses or job.want_bitmap or job.caption_size:
        t = time.process_time()
        try:
            decoded = decode_image(src, target=job.decode_size, max_pixels=job.max_pixels, data=data)
            if job.want_pixels:
                pixels = model_input(decoded, job.image_size)
            if metadata is not None:
                record_decoded(metadata, decoded)
            if job.caption_size:
                bitmap = caption_input(decoded, job.caption_size)
            elif job.want_bitmap:
                bitmap = decoded.pixels
        except DecodeError as e:
            failures.append(Failure(job.path, Stage.DECODE, e.reason, e.detail))
            decoded = None
            if metadata is not None and e.size is not None:  # LibRaw's image size beats EXIF's sensor size
                metadata["width"], metadata["height"] = e.size
        timings["decode"] = time.process_time() - t
        if decoded is not None and job.thumb_dir:
            t = time.process_time()
            save_thumbnail(decoded.pixels, Path(job.thumb_dir), job.fingerprint)
            timings["thumbnail"] = time.process_time() - t
        if decoded is not None:
            # Decode once, reuse the bitmap: quality scores and duplicate signatures need no second read.
            for kind, version in job.analyses:
                t = time.process_time()
                try:
                    analyses[kind] = (version, compute(kind, decoded.pixels, version))
                except Exception as e:  # an analysis bug or odd bitmap must not lose the file's vector
                    log.warning("%s failed on %s: %s: %s", kind, job.path, type(e).__name__, e)
                    detail = f"the {kind} analysis failed on this photo's pixels (details in the decoder log)"
                    failures.append(Failure(job.path, kind, Reason.CORRUPT, detail))
                timings[kind] = time.process_time() - t
    return FileResult(job.path, job.fingerprint, metadata, pixels, tuple(failures), timings, analyses, bitmap)


def displayed_size(metadata: dict[str, object]) -> None:
    """`width`/`height` mean the displayed image, after orientation, as Lightroom shows it. Metadata gives
    the stored size: swap it for orientations 5-8, so a photo whose decode fails still reads right. A
    successful decode then replaces both with what it saw (`record_decoded`)."""
    if metadata.get("orientation") in (5, 6, 7, 8) and "width" in metadata and "height" in metadata:
        metadata["width"], metadata["height"] = metadata["height"], metadata["width"]


def record_decoded(metadata: dict[str, object], decoded: Decoded) -> None:
    """What the decoder learnt, into the metadata payload: the displayed size (EXIF can disagree: HEIF,
    edited files, RAW sensor sizes), the format the content really is, and whether the file was partial."""
    metadata["width"], metadata["height"] = decoded.width, decoded.height
    if decoded.format:
        metadata["file_format"] = decoded.format
    if decoded.partial is not None:
        metadata["partial"] = decoded.partial
        metadata["decode_note"] = (
            f"the file ends early: {decoded.partial:.0%} of the image rows were decoded, "
            "the rest shows grey in viewers"
        )


def content_format(path: str, data: bytes) -> str:
    """The format the bytes are, whatever the extension says (a JPEG named .nef reads "jpeg")."""
    from bridge.files.formats import decoder_for, sniff

    kind = sniff(data[:16])
    if decoder_for(path, kind) == "raw":
        return "raw"
    return kind or "unknown"


def _default_max_bytes(path: str) -> int:
    from bridge.files.formats import limits_for

    return limits_for(path).max_bytes
