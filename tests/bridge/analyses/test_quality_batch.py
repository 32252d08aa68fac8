"""bridge.analyses.quality_batch: the batched torch scores agree with `quality.score` within the tolerances
its docstring documents (TONE_, DETAIL_, ANGLE_TOLERANCE), on the pipeline's decoded photos, on the
degradation ladders of test_quality.py, and on generated, flat, tiny, mixed-shape and single-image batches.
Speed is measured by bench/bench_quality.py, never asserted here."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.analyses import quality, quality_batch
from bridge.analyses.quality import QualityScores, score
from bridge.analyses.quality_batch import ANGLE_TOLERANCE, DETAIL_TOLERANCE, TONE_TOLERANCE, scores
from tests.bridge.analyses.test_quality import PHOTOS, angle_error, at_ev, load, motion_kernel, noisy
from tests.photo_factory import textured_image

TONES = ("exposure", "highlights_clipped", "shadows_clipped", "brightness")
DETAILS = ("sharpness", "noise", "motion_blur", "overall")


def tensor(pixels: np.ndarray) -> torch.Tensor:
    """H x W x 3 numpy bitmap -> the pipeline's 3 x H x W uint8 tensor."""
    return torch.tensor(pixels).permute(2, 0, 1).contiguous()


def generated(width: int = 600, height: int = 448, seed: int = 0) -> np.ndarray:
    return np.asarray(textured_image(width, height, seed=seed))


def assert_agree(ref: QualityScores, got: QualityScores, context: object) -> None:
    """Exactly the tolerances documented in quality_batch's docstring."""
    for name in TONES:
        assert abs(getattr(ref, name) - getattr(got, name)) <= TONE_TOLERANCE, (context, name, ref, got)
    for name in DETAILS:
        assert abs(getattr(ref, name) - getattr(got, name)) <= DETAIL_TOLERANCE, (context, name, ref, got)
    if ref.motion_angle is not None and got.motion_angle is not None:
        assert angle_error(ref.motion_angle, got.motion_angle) <= ANGLE_TOLERANCE, (context, ref, got)
    elif (ref.motion_angle is None) != (got.motion_angle is None):
        assert abs(ref.motion_blur - 0.2) <= DETAIL_TOLERANCE, (context, ref, got)


def assert_all_agree(bitmaps: Sequence[np.ndarray], names: Sequence[object], **kwargs: int) -> None:
    got = scores([tensor(b) for b in bitmaps], **kwargs)
    assert len(got) == len(bitmaps)
    for bitmap, name, q in zip(bitmaps, names, got, strict=True):
        assert_agree(score(bitmap), q, name)


# ---------------------------------------------------------------- core (no shared data needed)


def test_generated_images_agree_at_each_scale() -> None:
    # 448 short side (scored as is), 672 (INTER_AREA's general path), 896 (its 2 x 2 fast path).
    bitmaps = [generated(seed=s) for s in range(3)]
    bitmaps += [generated(900, 672, seed=3), generated(672, 900, seed=4), generated(1344, 896, seed=5)]
    assert_all_agree(bitmaps, range(len(bitmaps)))


def test_mixed_shape_batch_keeps_the_input_order(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c = generated(600, 448, seed=1), generated(448, 600, seed=2), generated(700, 500, seed=3)
    seen: list[tuple[int, ...]] = []
    real = quality_batch._score_batch

    def spy(x: torch.Tensor) -> list[QualityScores]:
        seen.append(tuple(x.shape))
        return real(x)

    monkeypatch.setattr(quality_batch, "_score_batch", spy)
    bitmaps = [a, b, a, c, b, a]
    got = scores([tensor(x) for x in bitmaps], batch_size=2)
    # Same shapes stacked into real batches, at most batch_size each; results back in input order.
    assert sorted(seen) == sorted([(2, 3, 448, 600), (1, 3, 448, 600), (2, 3, 600, 448), (1, 3, 500, 700)])
    refs = {id(x): score(x) for x in (a, b, c)}
    for n, (x, q) in enumerate(zip(bitmaps, got, strict=True)):
        assert_agree(refs[id(x)], q, n)
    assert got[0] == got[2] == got[5] and got[1] == got[4]


def test_a_batch_of_one_and_an_empty_batch() -> None:
    img = generated(seed=6)
    (q,) = scores([tensor(img)])
    assert_agree(score(img), q, "one")
    assert scores([]) == []


def test_batch_size_does_not_change_the_scores() -> None:
    bitmaps = [tensor(generated(seed=s)) for s in range(3)]
    one = scores(bitmaps, batch_size=1)
    for q, r in zip(scores(bitmaps, batch_size=3), one, strict=True):
        assert_agree(r, q, "batch_size")


def test_flat_images_score_no_detail() -> None:
    # 16 and 239 are the noise mask's bounds: flat blocks there must not tip the estimate either way.
    colours = [(0, 0, 0), (128, 128, 128), (255, 255, 255), (200, 30, 90), (16, 16, 16), (239, 239, 239)]
    bitmaps = [np.full((448, 600, 3), c, np.uint8) for c in colours]
    bitmaps += [np.zeros((64, 64, 3), np.uint8), np.full((64, 64, 3), 255, np.uint8)]
    got = scores([tensor(b) for b in bitmaps])
    for b, q in zip(bitmaps, got, strict=True):
        assert_agree(score(b), q, b[0, 0])
        assert q.sharpness == 0.0 and q.noise == 0.0 and q.motion_blur == 0.0
        assert q.motion_angle is None and q.overall == 0.0
    assert got[-2].shadows_clipped == 1.0 and got[-1].highlights_clipped == 1.0


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 7), (7, 300), (8, 8), (3, 500), (500, 4), (16, 16)])
def test_tiny_and_thin_images(shape: tuple[int, int]) -> None:
    # Below quality.MIN_DETAIL_SIDE only the tone scores are computed, as in quality.score.
    img = np.random.default_rng(1).integers(0, 256, (*shape, 3), dtype=np.uint8)
    (q,) = scores([tensor(img)])
    assert_agree(score(img), q, shape)
    if min(shape) < quality.MIN_DETAIL_SIDE:
        assert q.sharpness == q.noise == q.motion_blur == q.overall == 0.0 and q.motion_angle is None


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(1, 96),
    w=st.integers(1, 96),
    seed=st.integers(0, 2**16),
    lo=st.integers(0, 255),
    span=st.integers(0, 255),
)
def test_any_uint8_rgb_image_agrees(h: int, w: int, seed: int, lo: int, span: int) -> None:
    rng = np.random.default_rng(seed)
    img = rng.integers(lo, min(255, lo + span) + 1, (h, w, 3), dtype=np.uint8)
    (q,) = scores([tensor(img)])
    assert_agree(score(img), q, (h, w))


def test_blur_motion_and_noise_on_a_generated_image_agree() -> None:
    img = generated(seed=4)
    rng = np.random.default_rng(0)
    bitmaps = [cv2.GaussianBlur(img, (0, 0), s) for s in (1, 3)]
    bitmaps += [cv2.filter2D(img, -1, motion_kernel(n, a)) for n, a in ((9, 30), (31, 120))]
    bitmaps += [noisy(img.astype(np.float32), s, rng) for s in (4, 16)]
    assert_all_agree(bitmaps, range(len(bitmaps)))


def test_non_contiguous_tensors_are_accepted() -> None:
    img = generated(seed=7)
    view = torch.from_numpy(img.copy()).permute(2, 0, 1)  # strided: channels last in memory
    assert not view.is_contiguous()
    (q,) = scores([view])
    assert_agree(score(img), q, "view")


@pytest.mark.parametrize(
    "bad",
    [
        torch.zeros((10, 10), dtype=torch.uint8),
        torch.zeros((4, 10, 10), dtype=torch.uint8),
        torch.zeros((10, 10, 3), dtype=torch.uint8),
        torch.zeros((3, 10, 10), dtype=torch.float32),
        torch.zeros((3, 0, 10), dtype=torch.uint8),
        torch.zeros((1, 3, 10, 10), dtype=torch.uint8),
        np.zeros((3, 10, 10), np.uint8),
        None,
    ],
)
def test_bad_input_raises_value_error_naming_the_bitmap(bad: object) -> None:
    good = tensor(generated(64, 64))
    with pytest.raises(ValueError, match="bitmap 1"):
        scores([good, bad])  # type: ignore[list-item]


def test_the_worker_path_stays_torch_free() -> None:
    """quality (and kinds, which the decode workers import) must not pull torch in: only quality_batch does."""
    code = "import sys, bridge.analyses.kinds, bridge.analyses.quality; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_agrees() -> None:
    shapes = [(672, 448), (900, 600), (672, 448), (613, 877), (1344, 896), (5, 9)]
    bitmaps = [generated(w, h, seed=n) for n, (w, h) in enumerate(shapes)]
    bitmaps += [cv2.filter2D(bitmaps[1], -1, motion_kernel(25, 60)), np.full((448, 600, 3), 16, np.uint8)]
    got = scores([tensor(b).cuda() for b in bitmaps])
    for n, (b, q) in enumerate(zip(bitmaps, got, strict=True)):
        assert_agree(score(b), q, n)


# ---------------------------------------------------------------- real photos


@pytest.mark.shared_data
def test_pipeline_bitmaps_of_the_shared_photos_agree(shared_data: Path) -> None:
    """Every decodable photo as the decode worker hands it over (shortest side 448-895), in one mixed call."""
    from bridge.indexing.decode import DecodeError, decode_image

    names, bitmaps = [], []
    for folder, pattern in (("jpeg", "*.jpg"), ("png", "*.png"), ("tiff", "*.tif*"), ("webp", "*.webp")):
        for path in sorted((shared_data / folder).glob(pattern)):
            try:
                bitmaps.append(decode_image(path, target=448).pixels)
            except DecodeError:
                continue
            names.append(f"{folder}/{path.name}")
    assert len(bitmaps) >= 30
    assert_all_agree(bitmaps, names)


@pytest.mark.shared_data
def test_degradation_ladders_agree(shared_data: Path) -> None:
    """test_quality.py's ladders, sampled: every photo gets each kind, each photo a different rung, so the
    whole ladder is covered without scoring every photo at every rung (the CPU reference is the slow part)."""
    gaussian = [0.5, 1, 1.5, 2, 3, 4, 6]
    motion = [(n, a) for n in (3, 9, 15, 25, 35) for a in (0, 30, 60, 90, 135)]
    evs = [-3, -2, -1, 1, 2, 3]
    noise = [2, 4, 8, 12, 16, 24]
    rng = np.random.default_rng(0)
    names: list[str] = []
    bitmaps: list[np.ndarray] = []
    for i, rel in enumerate(PHOTOS):
        img = load(shared_data, rel)
        for s in (gaussian[i % 7], gaussian[(i + 3) % 7]):
            names.append(f"{rel} gaussian {s}")
            bitmaps.append(cv2.GaussianBlur(img, (0, 0), s))
        for n, a in (motion[i], motion[i + 12], motion[(i * 7) % 25]):
            names.append(f"{rel} motion {n} px at {a}")
            bitmaps.append(cv2.filter2D(img, -1, motion_kernel(n, a)))
        for ev in (evs[i % 6], evs[(i + 3) % 6]):
            names.append(f"{rel} {ev:+d} EV")
            bitmaps.append(at_ev(img, ev))
        for s in (noise[i % 6], noise[(i + 2) % 6]):
            names.append(f"{rel} noise {s}")
            bitmaps.append(noisy(img.astype(np.float32), s, rng))
    refs = [score(b) for b in bitmaps]
    assert sum(q.motion_angle is not None for q in refs) >= 8  # the angle tolerance is exercised
    got = scores([tensor(b) for b in bitmaps])
    for name, ref, q in zip(names, refs, got, strict=True):
        assert_agree(ref, q, name)
