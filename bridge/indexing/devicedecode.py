"""The device lane: baseline JPEGs decoded in batches by torchvision on the model's device (nvJPEG on a GPU,
libjpeg on the CPU), then, without leaving the device, one shared bitmap per photo and from it the model input,
the pixel analyses and the caption input. Only small results come back to the host.

What the lane takes: files whose content is a baseline (sequential) 8-bit YCbCr JPEG that ends with its EOI
marker, within the pixel limit. Everything else (progressive, CMYK, greyscale or cut JPEGs, files with data after
the image, RAW, HEIC, PNG…) and every file the device decoder rejects goes back to the CPU workers, whose decoder
records a named reason when it fails too. A photo decoded here still gets its metadata from a CPU worker (a
metadata-only job), and the scheduler (`lanes.py`) joins the two halves.

The shared bitmap is made the way the CPU decoder makes it (`decode.decode_image`): the stored pixels reduced by
an integer box filter so the shortest side lands in [target, 2 target), then turned upright by the EXIF
orientation. The CPU decoder's draft mode scales in the DCT domain instead of averaging pixels, so the two
bitmaps agree closely, not bit for bit: on the 38 shared JPEGs the lane takes, the mean absolute difference is
0.00 grey levels (median) and 0.78 at most; `tests/bridge/indexing/test_devicedecode.py` holds it to 1.5.
Model input: shortest side resized to the model's size (bicubic, antialiased, as Pillow resizes) and centre-
cropped, like `preprocess.model_input`. Caption input: squashed to the caption model's square (bicubic).
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from bridge.files.formats import limits_for
from bridge.files.thumbs import THUMB_SIZE, thumb_path, write_thumbnail
from bridge.indexing.decode import exif_orientation
from bridge.indexing.worker import Job
from bridge.records import FileResult, Stage

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

_MIN_BYTES = 128
READ_THREADS = 4  # file reads overlap the device's work on the previous batch


@dataclass(frozen=True, slots=True)
class Eligible:
    """A file the device lane can decode, with what the header says."""

    job: Job
    data: bytearray  # the whole file (writable: torch.frombuffer needs it)
    orientation: int
    width: int  # as stored, before orientation
    height: int


def batch_size(device: str) -> int:
    """Files per decode call: 64 measured best for nvJPEG on 24 MP files (gpu.md); few on a CPU."""
    return 64 if device.startswith("cuda") else 8


def read(job: Job) -> bytearray | None:
    """The file's bytes, or None when it cannot be read here (the CPU worker will say why)."""
    limit = job.max_bytes or limits_for(job.path).max_bytes
    if job.size > limit:
        return None
    try:
        with open(job.path, "rb") as f:
            data = bytearray(f.read(limit + 1))
    except OSError:
        return None
    return data if len(data) <= limit else None


def inspect(job: Job, data: bytearray | None) -> Eligible | None:
    """`Eligible` when the device decoder would read this file as the CPU decoder does; None otherwise."""
    if data is None or len(data) < _MIN_BYTES or data[:3] != b"\xff\xd8\xff":
        return None
    if data[-2:] != b"\xff\xd9":  # cut, or with data after the image: the CPU decoder's checks decide
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data), formats=("JPEG",))  # the header only: no pixels read
            with img:
                if img.mode != "RGB" or img.info.get("progressive") or img.info.get("progression"):
                    return None
                width, height = img.size
                if width < 1 or height < 1 or width * height > job.max_pixels:
                    return None
                orientation = exif_orientation(img, bytes(data[:65536]))
    except Exception:  # anything odd in the header: the CPU decoder names it
        return None
    return Eligible(job, data, orientation, width, height)


def decode(items: Sequence[Eligible], device: str) -> list[torch.Tensor | None]:
    """3 x H x W uint8 tensors on `device`, one per item; None where the decoder refused the file. A batch
    the decoder refuses as a whole is retried one file at a time, so one bad file never costs the others.
    Out of device memory: the batch is split in halves (never lost)."""
    import torch

    tensors = [torch.frombuffer(item.data, dtype=torch.uint8) for item in items]
    try:
        out = _decode_jpeg(tensors, device)
        return list(out)
    except torch.OutOfMemoryError:
        if len(items) == 1:
            return [None]
        _free(device)
        half = len(items) // 2
        return decode(items[:half], device) + decode(items[half:], device)
    except RuntimeError:
        if len(items) == 1:
            return [None]
    results: list[torch.Tensor | None] = []
    for t in tensors:
        try:
            results.append(_decode_jpeg(t, device))
        except RuntimeError:
            results.append(None)
    return results


def _decode_jpeg(data: torch.Tensor | list[torch.Tensor], device: str) -> Any:
    """torchvision's JPEG decoder (nvJPEG on CUDA). torchvision 0.29 deprecates its image codecs in favour of
    TorchCodec, which does not install here yet: the warning is silenced, the call kept in this one place."""
    import torchvision.io as tio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return tio.decode_jpeg(data, mode=tio.ImageReadMode.RGB, device=device)


def shared_bitmap(pixels: torch.Tensor, orientation: int, target: int) -> torch.Tensor:
    """The CPU decoder's bitmap size, made on the device: JPEG draft mode's DCT scale (the largest of 1/8, 1/4,
    1/2 that keeps both sides >= target) as a box filter, then `decode._shrink`'s integer box reduction so the
    shortest side is in [target, 2 target), then the orientation (`decode._orient`)."""
    h, w = pixels.shape[-2:]
    fit = min(h // target, w // target)
    draft = next((s for s in (8, 4, 2) if s <= fit), 1)
    pixels = _box(pixels, draft)
    return orient(_box(pixels, min(pixels.shape[-2:]) // target), orientation)


def _box(pixels: torch.Tensor, factor: int) -> torch.Tensor:
    import torch

    if factor < 2:
        return pixels
    reduced = torch.nn.functional.avg_pool2d(pixels[None].float(), factor, ceil_mode=True)
    return reduced[0].round_().to(torch.uint8)


def orient(t: torch.Tensor, orientation: int) -> torch.Tensor:
    """Apply EXIF orientation to a C x H x W tensor, as `ImageOps.exif_transpose` does."""
    if orientation == 2:
        return t.flip(-1)
    if orientation == 3:
        return t.flip(-1, -2)
    if orientation == 4:
        return t.flip(-2)
    if orientation == 5:
        return t.transpose(-1, -2)
    if orientation == 6:
        return t.rot90(-1, (-2, -1))
    if orientation == 7:
        return t.rot90(1, (-2, -1)).flip(-1)
    if orientation == 8:
        return t.rot90(1, (-2, -1))
    return t


def model_input(bitmap: torch.Tensor, size: int) -> torch.Tensor:
    """size x size: shortest side resized to `size` (bicubic, antialiased), then centre-cropped."""
    from torchvision.transforms.v2 import functional as tf

    h, w = bitmap.shape[-2:]
    new = (int(size * h / w), size) if w <= h else (size, int(size * w / h))  # (H, W), as model_input
    out = bitmap
    if (h, w) != new:
        out = tf.resize(bitmap, list(new), interpolation=tf.InterpolationMode.BICUBIC, antialias=True)
    top, left = round((new[0] - size) / 2), round((new[1] - size) / 2)
    return out[:, top : top + size, left : left + size]


def caption_input(bitmap: torch.Tensor, size: int) -> torch.Tensor:
    """size x size squash (what BLIP's processor does), bicubic, antialiased."""
    from torchvision.transforms.v2 import functional as tf

    if tuple(bitmap.shape[-2:]) == (size, size):
        return bitmap
    return tf.resize(bitmap, [size, size], interpolation=tf.InterpolationMode.BICUBIC, antialias=True)


def analyses(bitmaps: Sequence[torch.Tensor], kinds: Sequence[tuple[Stage, str]]) -> list[dict[str, Any]]:
    """The pixel analyses of each bitmap, batched on the bitmaps' device, as kind → (version, data)."""
    out: list[dict[str, Any]] = [{} for _ in bitmaps]
    for kind, version in kinds:
        if kind == Stage.QUALITY:
            from bridge.analyses.quality_batch import scores

            data: list[Any] = [q.as_payload() for q in scores(bitmaps)]
        elif kind == Stage.DUPSIG:
            from bridge.analyses.dupsig_batch import signatures

            data = [s.to_json() for s in signatures(bitmaps)]
        elif kind == Stage.COMPOSITION:  # no torch twin: the CPU analysis on a copy (~50 ms a bitmap)
            from bridge.analyses.kinds import compute

            data = [compute(kind, b.permute(1, 2, 0).contiguous().cpu().numpy()) for b in bitmaps]
        elif kind == Stage.FACES:  # dlib on the CPU (the dlib-bin wheel has no CUDA), on a copy
            from bridge.analyses.kinds import compute as compute_faces

            data = [compute_faces(kind, b.permute(1, 2, 0).cpu().numpy(), version) for b in bitmaps]
        else:
            raise ValueError(f"unknown pixel analysis {kind!r}")
        for d, value in zip(out, data, strict=True):
            d[kind] = (version, value)
    return out


def save_thumbnail(job: Job, bitmap: torch.Tensor) -> None:
    """The window's thumbnail from the shared bitmap: shrunk on the device, encoded here (small)."""
    from torchvision.transforms.v2 import functional as tf

    dest = thumb_path(Path(job.thumb_dir), job.fingerprint)
    if dest.exists():
        return
    h, w = bitmap.shape[-2:]
    scale = min(1.0, THUMB_SIZE / max(h, w))
    size = [max(1, round(h * scale)), max(1, round(w * scale))]
    small = (
        tf.resize(bitmap, size, interpolation=tf.InterpolationMode.BICUBIC, antialias=True)
        if scale < 1
        else bitmap
    )
    with contextlib.suppress(
        OSError
    ):  # a full or read-only disk never fails the photo: the window makes it later
        write_thumbnail(Image.fromarray(to_host(small), "RGB"), dest)


def to_host(t: torch.Tensor) -> np.ndarray:
    """C x H x W device tensor → H x W x C uint8 numpy array."""
    return np.ascontiguousarray(t.permute(1, 2, 0).cpu().numpy())


# what the device made for one file: job, model input, analyses, caption input, oriented (width, height)
_Made = tuple[Job, np.ndarray | None, dict[str, Any], np.ndarray | None, tuple[int, int]]


class DeviceLane:
    """Takes baseline JPEGs from the shared `JobQueue` in batches and turns them into `FileResult`s (without
    metadata: `wants_metadata` says which still need a CPU worker's metadata half). Runs in its own thread."""

    def __init__(self, device: str, *, stop: Callable[[], bool]) -> None:
        self.device = device
        self.stop = stop
        self.decoded = 0
        self.turned_away = 0
        self.seconds = 0.0

    def run(
        self, take: Callable[[int], list[Job]], reject: Callable[[list[Job]], None]
    ) -> Iterator[tuple[Job, FileResult, tuple[int, int]]]:
        """Yield (job, result, oriented (width, height)) per decoded file; `reject` hands files back to the
        CPU workers."""
        size = batch_size(self.device)
        with ThreadPoolExecutor(READ_THREADS, thread_name_prefix="device-read") as reader:
            ahead = self._read_ahead(reader, take(size))
            while ahead and not self.stop():
                batch = ahead
                ahead = self._read_ahead(reader, take(size))  # the next batch's reads overlap this one
                items: list[Eligible] = []
                turned: list[Job] = []
                for job, fut in batch:
                    item = inspect(job, fut.result())
                    if item is None:
                        turned.append(job)
                    else:
                        items.append(item)
                yield from self._process(items, turned)
                if turned:
                    self.turned_away += len(turned)
                    reject(turned)
            # Stopped: files not decoded yet are simply not done (the next run does them).
            for _, fut in ahead:
                fut.cancel()

    @staticmethod
    def _read_ahead(
        reader: ThreadPoolExecutor, jobs: list[Job]
    ) -> list[tuple[Job, Future[bytearray | None]]]:
        return [(job, reader.submit(read, job)) for job in jobs]

    def _process(
        self, items: list[Eligible], turned: list[Job]
    ) -> Iterator[tuple[Job, FileResult, tuple[int, int]]]:
        if not items:
            return
        t0 = time.perf_counter()
        try:
            out = self._on_device(items, turned)
        except Exception:
            # A bug or an odd file in the device code must not cost the photos: the CPU workers take the batch
            # (their decoder records a named reason for any file that really is bad).
            log.warning("device lane: batch of %d handed to the CPU workers", len(items), exc_info=True)
            turned.extend(item.job for item in items if item.job not in turned)
            out = []
        seconds = time.perf_counter() - t0
        self.seconds += seconds
        self.decoded += len(out)
        for job, model_in, wanted, caption, oriented in out:
            result = FileResult(job.path, job.fingerprint, None, model_in, (), {}, wanted, caption)
            yield job, result, oriented

    def _on_device(self, items: list[Eligible], turned: list[Job]) -> list[_Made]:
        import torch

        with torch.inference_mode():
            decoded = decode(items, self.device)
            kept: list[tuple[Eligible, torch.Tensor]] = []
            for item, pixels in zip(items, decoded, strict=True):
                if pixels is None or tuple(pixels.shape[-2:]) != (item.height, item.width):
                    turned.append(item.job)
                else:
                    kept.append((item, pixels))
            del decoded
            bitmaps = [shared_bitmap(p, item.orientation, item.job.decode_size) for item, p in kept]
            eligible = [item for item, _ in kept]
            del kept  # the full-size decodes: only the shared bitmaps are needed from here
            kinds = sorted({kv for item in eligible for kv in item.job.analyses})
            results = analyses(bitmaps, kinds) if kinds else [{} for _ in eligible]
            out: list[_Made] = []
            for item, bitmap, found in zip(eligible, bitmaps, results, strict=True):
                job = item.job
                wanted = {k: v for k, v in found.items() if any(k == kind for kind, _ in job.analyses)}
                model_in = to_host(model_input(bitmap, job.image_size)) if job.want_pixels else None
                caption = to_host(caption_input(bitmap, job.caption_size)) if job.caption_size else None
                if job.thumb_dir:
                    save_thumbnail(job, bitmap)
                oriented = (
                    (item.height, item.width)
                    if item.orientation in (5, 6, 7, 8)
                    else (item.width, item.height)
                )
                out.append((job, model_in, wanted, caption, oriented))
        return out


def _free(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
