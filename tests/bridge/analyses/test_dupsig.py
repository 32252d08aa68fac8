"""The duplicate signature: the CPU path (`dupsig.signature`) against its definitions (imagehash's hashes,
OpenCV's area resize), the batched torch path (`dupsig_batch.signatures`) against the CPU path within the
tolerances its docstring documents, and the version bump that recomputes stored signatures.
Speed is measured by bench/bench_quality.py, never asserted here."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import imagehash
import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from bridge.analyses import dupsig, dupsig_batch
from bridge.analyses.dupsig import DUPSIG_VERSION, DupSignature, signature
from bridge.analyses.dupsig_batch import (
    HASH_TOLERANCE_BITS,
    THUMB_MAX_TOLERANCE,
    THUMB_MEAN_TOLERANCE,
    signatures,
)
from bridge.analyses.kinds import pixel_versions
from bridge.indexing.decode import DecodeError, decode_image
from bridge.records import Stage
from tests.photo_factory import textured_image

FOLDERS = (("jpeg", "*.jpg"), ("png", "*.png"), ("tiff", "*.tif*"), ("webp", "*.webp"))


def _photos(root: Path) -> Iterator[tuple[str, np.ndarray]]:
    """The shared photos decoded as the pipeline decodes them (the decode worker's bitmap)."""
    for folder, pattern in FOLDERS:
        for path in sorted((root / folder).glob(pattern)):
            try:
                yield f"{folder}/{path.name}", decode_image(path, target=448).pixels
            except DecodeError:
                continue


@pytest.fixture(scope="module")
def photos(shared_data: Path) -> list[tuple[str, np.ndarray]]:
    got = list(_photos(shared_data))
    assert len(got) >= 40
    return got


def _jpeg(img: Image.Image, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def ladder(pixels: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Degraded copies of one bitmap, as duplicates of it arrive: blur, JPEG re-encodes, a 50 % resize,
    +-1 EV, a crop."""
    img = Image.fromarray(pixels)
    h, w = pixels.shape[:2]
    light = pixels.astype(np.float32)
    return [
        ("blur 1", np.asarray(img.filter(ImageFilter.GaussianBlur(1)))),
        ("blur 3", np.asarray(img.filter(ImageFilter.GaussianBlur(3)))),
        *((f"jpeg q{q}", _jpeg(img, q)) for q in (90, 50, 10)),
        ("resize 50 %", np.asarray(img.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.LANCZOS))),
        ("+1 EV", np.clip(light * 2.0, 0, 255).astype(np.uint8)),
        ("-1 EV", np.clip(light * 0.5, 0, 255).astype(np.uint8)),
        ("crop", np.ascontiguousarray(pixels[h // 10 : h - h // 5, w // 8 : w - w // 10])),
    ]


def _tensor(pixels: np.ndarray) -> torch.Tensor:
    """H x W x 3 -> 3 x H x W, as a decode worker would hand a bitmap over (a view, not contiguous)."""
    return torch.from_numpy(pixels.copy()).permute(2, 0, 1)


def assert_agree(cpu: Sequence[DupSignature], batch: Sequence[DupSignature], labels: Sequence[str]) -> None:
    """Within the tolerances documented in dupsig_batch's docstring."""
    assert len(cpu) == len(batch) == len(labels)
    for a, b, label in zip(cpu, batch, labels, strict=True):
        assert (a.thumb_w, a.thumb_h) == (b.thumb_w, b.thumb_h), label
        assert (a.phash ^ b.phash).bit_count() <= HASH_TOLERANCE_BITS, label
        assert (a.dhash ^ b.dhash).bit_count() <= HASH_TOLERANCE_BITS, label
        diff = np.abs(a.thumb_array().astype(np.int16) - b.thumb_array())
        assert diff.mean() <= THUMB_MEAN_TOLERANCE, label
        assert diff.max() <= THUMB_MAX_TOLERANCE, label
        assert a.version == b.version == DUPSIG_VERSION


def _imagehash_int(h: imagehash.ImageHash) -> int:
    return int("".join("1" if bit else "0" for bit in h.hash.flatten()), 2)


# --------------------------------------------------------------------------------------------
# CPU path: definitions
# --------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_hashes_stay_close_to_imagehash(photos: list[tuple[str, np.ndarray]]) -> None:
    """Same definitions and bit order as imagehash's phash/dhash, only the resampling filter differs
    (area average instead of LANCZOS): a few bits apart, where a wrong bit order or DCT scaling would
    sit ~32 bits apart. Measured on the shared photos: phash 0-4 (median 0), dhash 0-14 (median 5)."""
    ph, dh = [], []
    for _, pixels in photos:
        sig = signature(pixels)
        gray = Image.fromarray(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY), "L")
        ph.append((sig.phash ^ _imagehash_int(imagehash.phash(gray))).bit_count())
        dh.append((sig.dhash ^ _imagehash_int(imagehash.dhash(gray))).bit_count())
    print(f"vs imagehash: phash {sorted(ph)}\n              dhash {sorted(dh)}")
    assert np.median(ph) <= 1 and max(ph) <= 6
    assert np.median(dh) <= 7 and max(dh) <= 16


def test_thumbnail_is_opencv_area_resize() -> None:
    """The integral-image area average is what cv2.resize(INTER_AREA) computes when shrinking, also
    for non-integer ratios (900 -> 54 columns)."""
    for w, h, seed in ((672, 448, 1), (900, 600, 2), (613, 877, 3), (3000, 40, 4)):
        pixels = np.asarray(textured_image(w, h, seed=seed))
        sig = signature(pixels)
        gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
        want = cv2.resize(gray.astype(np.float32), (sig.thumb_w, sig.thumb_h), interpolation=cv2.INTER_AREA)
        assert sig.thumb_w * sig.thumb_h <= dupsig.THUMB_PIXELS
        assert np.abs(sig.thumb_array() - want).max() <= 0.5 + 1e-3


def test_phash_and_dhash_definitions() -> None:
    """phash: the 8 x 8 low type-II DCT coefficients (scipy's convention) of the 32 x 32 area average vs
    their median; dhash: 9 x 8 horizontal gradient signs; both row-major, first bit most significant."""
    import scipy.fftpack

    pixels = np.asarray(textured_image(900, 600, seed=5))
    sig = signature(pixels)
    gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    small = np.rint(cv2.resize(gray.astype(np.float32), (32, 32), interpolation=cv2.INTER_AREA))
    low = scipy.fftpack.dct(scipy.fftpack.dct(small.astype(np.float64), axis=0), axis=1)[:8, :8]
    assert sig.phash == dupsig.pack_bits(low > np.median(low))
    nine = np.rint(cv2.resize(gray.astype(np.float32), (9, 8), interpolation=cv2.INTER_AREA))
    assert sig.dhash == dupsig.pack_bits(nine[:, 1:] > nine[:, :-1])


def test_flat_and_tiny_bitmaps_hash_the_same_on_both_paths() -> None:
    """A flat image has no AC energy: only the DC bit is above the median (not float noise), and no
    gradient. Tiny bitmaps (a side under 32 px) are enlarged by the same area rule on both paths."""
    flat = np.full((448, 672, 3), 117, np.uint8)
    cpu = signature(flat)
    assert (cpu.phash, cpu.dhash) == (1 << 63, 0)
    assert set(cpu.thumb) == {117}
    rng = np.random.default_rng(0)
    tiny = [flat, *(rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((1, 1), (5, 40), (31, 33)))]
    assert signatures([_tensor(p) for p in tiny]) == [signature(p) for p in tiny]
    assert signature(tiny[1]).thumb_w == 1 and len(signature(tiny[1]).thumb) == 1


def test_json_round_trip_and_validation() -> None:
    sig = signature(np.asarray(textured_image(672, 448, seed=1)))
    assert DupSignature.from_json(json.loads(json.dumps(sig.to_json()))) == sig
    assert sig.version == DUPSIG_VERSION == "d2"
    for bad in (
        np.zeros((10, 10), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((0, 10, 3), np.uint8),
    ):
        with pytest.raises(ValueError):
            signature(bad)
    for bad_t in (torch.zeros(10, 10, 3, dtype=torch.uint8), torch.zeros(3, 10, 10), torch.zeros(3, 0, 4)):
        with pytest.raises(ValueError):
            signatures([_tensor(np.zeros((4, 4, 3), np.uint8)), bad_t])


# --------------------------------------------------------------------------------------------
# Batched torch path vs the CPU path
# --------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_batch_agrees_on_the_shared_photos(photos: list[tuple[str, np.ndarray]]) -> None:
    labels = [name for name, _ in photos]
    cpu = [signature(p) for _, p in photos]
    assert_agree(cpu, signatures([_tensor(p) for _, p in photos]), labels)


@pytest.mark.shared_data
def test_batch_agrees_on_degradation_ladders(photos: list[tuple[str, np.ndarray]]) -> None:
    """Every rung of every big enough photo's ladder (the bitmaps duplicates arrive as); the rungs of one
    kind share a shape, so most of them go through stacked batches."""
    labels, bitmaps = [], []
    for name, pixels in photos:
        if min(pixels.shape[:2]) < 448:
            continue
        for rung, degraded in ladder(pixels):
            labels.append(f"{name} {rung}")
            bitmaps.append(degraded)
    assert len(labels) >= 200
    assert_agree([signature(b) for b in bitmaps], signatures([_tensor(b) for b in bitmaps]), labels)


def test_batch_of_mixed_shapes_keeps_order_and_agrees() -> None:
    """Interleaved shapes (and one shape split over several batches) come back in input order, each
    equal to its CPU signature, whatever max_batch is."""
    shapes = [(672, 448), (448, 672), (900, 600), (672, 448), (500, 500), (900, 600), (672, 448), (448, 672)]
    bitmaps = [np.asarray(textured_image(w, h, seed=n)) for n, (w, h) in enumerate(shapes)]
    cpu = [signature(b) for b in bitmaps]
    labels = [f"{n}: {w}x{h}" for n, (w, h) in enumerate(shapes)]
    tensors = [_tensor(b) for b in bitmaps]
    for max_batch in (1, 2, 32):
        assert_agree(cpu, signatures(tensors, max_batch=max_batch), labels)
    assert len({s.phash for s in cpu}) == len(cpu)  # distinct images, distinct hashes
    assert signatures([]) == []


def test_batch_groups_by_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same-shaped bitmaps are stacked into one batch (the point of this path on a GPU)."""
    seen: list[tuple[int, ...]] = []
    real = dupsig_batch._batch

    def spy(rgb: torch.Tensor) -> list[DupSignature]:
        seen.append(tuple(rgb.shape))
        return real(rgb)

    monkeypatch.setattr(dupsig_batch, "_batch", spy)
    a, b = np.asarray(textured_image(96, 64, seed=1)), np.asarray(textured_image(64, 96, seed=2))
    signatures([_tensor(x) for x in (a, b, a, a, b)], max_batch=2)
    assert sorted(seen) == sorted([(2, 3, 64, 96), (1, 3, 64, 96), (2, 3, 96, 64)])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batch_on_cuda_agrees() -> None:
    shapes = [(672, 448), (900, 600), (672, 448), (613, 877)]
    bitmaps = [np.asarray(textured_image(w, h, seed=n)) for n, (w, h) in enumerate(shapes)]
    bitmaps += [degraded for _, degraded in ladder(bitmaps[1])]
    got = signatures([_tensor(b).cuda() for b in bitmaps])
    assert_agree([signature(b) for b in bitmaps], got, [str(n) for n in range(len(bitmaps))])


# --------------------------------------------------------------------------------------------
# Stored signatures of the previous version are recomputed
# --------------------------------------------------------------------------------------------


def test_stored_d1_signatures_are_recomputed(settings, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ledger whose dupsig rows are d1 (what an index built before this version holds) gets them redone
    by the next run, dupsig only: no re-embedding, quality kept."""
    from bridge.engine import Engine
    from tests.bridge.conftest import make_photos

    folder = tmp_path / "p"
    make_photos(folder, 3)
    with monkeypatch.context() as patched:
        patched.setattr(dupsig, "DUPSIG_VERSION", "d1")
        assert pixel_versions()[Stage.DUPSIG] == "d1"
        with Engine.open(settings) as engine:
            engine.index([str(folder)])
    assert pixel_versions()[Stage.DUPSIG] == "d2"
    with Engine.open(settings) as engine:
        assert {v for _, v, _ in engine.ledger.iter_analyses(Stage.DUPSIG)} == {"d1"}
        summary = engine.index([str(folder)])
        assert (summary.analyzed, summary.embedded) == (3, 0)
        assert len(engine.ledger.done_fingerprints(Stage.DUPSIG, "d2")) == 3
        assert {v for _, v, _ in engine.ledger.iter_analyses(Stage.DUPSIG)} == {"d2"}
        assert len(engine.ledger.done_fingerprints(Stage.QUALITY, pixel_versions()[Stage.QUALITY])) == 3
        again = engine.index([str(folder)])
    assert again.analyzed == 0
