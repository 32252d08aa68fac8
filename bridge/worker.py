"""What a decode worker process does for one file: metadata, decode, model input. Never imports torch."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from bridge.records import DecodeError, Failure, FileResult, MetadataError, Reason


@dataclass(frozen=True, slots=True)
class Job:
    path: str
    fingerprint: str
    want_metadata: bool
    want_pixels: bool
    image_size: int = 224
    decode_size: int = 448
    max_pixels: int = 250_000_000
    analyses: tuple[tuple[str, str], ...] = ()  # pixel analyses to compute: (kind, version)
    want_bitmap: bool = False  # send the decoded bitmap back (the caption stage)


def init_worker(log_path: str | None = None) -> None:
    """Workers ignore Ctrl-C: the main process decides when to stop, after the current batch.

    LibRaw and libheif print warnings straight to file descriptor 2 ("unknown file: Unexpected end of
    file"); they would tear through the progress display, so a worker's stderr goes to a log file.
    Failures themselves come back as values with their reasons.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if log_path:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)


def process(job: Job) -> FileResult:
    from bridge.analyses import compute
    from bridge.decode import decode_image
    from bridge.metadata import read_metadata
    from bridge.preprocess import model_input

    failures: list[Failure] = []
    timings: dict[str, float] = {}
    metadata = None
    pixels = None
    if job.want_metadata:
        t = time.process_time()
        try:
            metadata = read_metadata(job.path)
        except MetadataError as e:
            failures.append(Failure(job.path, "metadata", e.reason, e.detail))
            metadata = {}
        except FileNotFoundError:
            failures.append(
                Failure(job.path, "decode", Reason.MISSING, "file disappeared before it was read")
            )
            return FileResult(job.path, job.fingerprint, None, None, tuple(failures), timings)
        timings["metadata"] = time.process_time() - t
    analyses: dict[str, tuple[str, object]] = {}
    bitmap = None
    if job.want_pixels or job.analyses or job.want_bitmap:
        t = time.process_time()
        try:
            decoded = decode_image(job.path, target=job.decode_size, max_pixels=job.max_pixels)
            if job.want_pixels:
                pixels = model_input(decoded, job.image_size)
            if metadata is not None:
                # The decoder knows the real (oriented) pixel size; EXIF can disagree (HEIF, edited files).
                metadata["width"], metadata["height"] = decoded.width, decoded.height
            if job.want_bitmap:
                bitmap = decoded.pixels
        except DecodeError as e:
            failures.append(Failure(job.path, "decode", e.reason, e.detail))
            decoded = None
        timings["decode"] = time.process_time() - t
        if decoded is not None:
            # Decode once, reuse the bitmap: quality scores and duplicate signatures need no second read.
            for kind, version in job.analyses:
                t = time.process_time()
                try:
                    analyses[kind] = (version, compute(kind, decoded.pixels))
                except Exception as e:  # an analysis bug or odd bitmap must not lose the file's vector
                    failures.append(Failure(job.path, kind, Reason.CORRUPT, f"{type(e).__name__}: {e}"))
                timings[kind] = time.process_time() - t
    return FileResult(job.path, job.fingerprint, metadata, pixels, tuple(failures), timings, analyses, bitmap)
