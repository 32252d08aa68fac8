"""bridge.indexing.preprocess: model input matches open_clip's eval transform exactly; thumbnails keep the aspect."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bridge.indexing.preprocess import model_input, thumbnail
from bridge.records import Decoded
from tests import photo_factory as pf


def decoded(width: int, height: int, seed: int = 0) -> Decoded:
    pixels = np.asarray(pf.textured_image(width, height, seed=seed))
    return Decoded(pixels=pixels, width=width * 4, height=height * 4, source="test")


@pytest.mark.parametrize(
    ("w", "h"), [(672, 448), (448, 672), (500, 500), (100, 60), (1001, 449), (225, 2000)]
)
@pytest.mark.parametrize("size", [224, 256])
def test_model_input_matches_open_clip_eval_transform(w: int, h: int, size: int) -> None:
    open_clip = pytest.importorskip("open_clip")
    d = decoded(w, h)
    transform = open_clip.image_transform(size, is_train=False)
    # open_clip's eval pipeline: Resize(size, BICUBIC), CenterCrop(size), then mode/tensor/normalise steps.
    names = [type(t).__name__ for t in transform.transforms]
    assert names[:2] == ["Resize", "CenterCrop"] and names[-1] == "Normalize", names
    expected = Image.fromarray(d.pixels)
    for t in transform.transforms[:2]:
        expected = t(expected)
    got = model_input(d, size)
    assert got.shape == (size, size, 3) and got.dtype == np.uint8
    assert np.array_equal(got, np.asarray(expected))


def test_model_input_crops_the_centre_of_the_long_side() -> None:
    pixels = np.zeros((100, 300, 3), np.uint8)
    pixels[:, :100] = (255, 0, 0)  # left third red, middle black, right third blue
    pixels[:, 200:] = (0, 0, 255)
    out = model_input(pixels, 50)  # ndarray input works too
    assert out.shape == (50, 50, 3)
    assert out[:, 5:-5].max() < 40  # only the black middle survives (bicubic may ring at the edges)
    tall = model_input(np.ascontiguousarray(np.rot90(pixels)), 50)
    assert tall[5:-5, :].max() < 40


def test_model_input_upscales_small_images() -> None:
    assert model_input(decoded(40, 30), 224).shape == (224, 224, 3)


@pytest.mark.parametrize(
    ("w", "h", "side", "expected"),
    [(800, 600, 256, (256, 192)), (600, 800, 256, (192, 256)), (100, 50, 256, (100, 50))],
)
def test_thumbnail_keeps_aspect_and_never_enlarges(
    w: int, h: int, side: int, expected: tuple[int, int]
) -> None:
    d = decoded(w, h)
    out = thumbnail(d, side)
    assert (out.shape[1], out.shape[0]) == expected and out.dtype == np.uint8
    assert abs(out.mean() - d.pixels.mean()) < 3  # a shrink, not a crop or a colour change
    assert d.pixels.shape == (h, w, 3)  # the input is untouched


@pytest.mark.parametrize(
    "bad", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32)]
)
def test_rejects_anything_but_rgb_uint8(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        model_input(bad, 32)
