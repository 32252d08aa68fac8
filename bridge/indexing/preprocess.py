"""Turn a decoded bitmap into model input or a thumbnail. Pure numpy/Pillow (no torch): runs in workers.

`model_input` reproduces open_clip's image transform on a PIL image, Resize(size, BICUBIC) of the shortest
side then CenterCrop(size), pixel for pixel, so embeddings match what the model was trained and evaluated
with. Normalisation (mean/std, float conversion) stays with the model on the embedding side.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from bridge.records import Decoded


def model_input(decoded: Decoded | np.ndarray, image_size: int) -> np.ndarray:
    """image_size x image_size x 3 uint8: shortest side resized to image_size (bicubic), then centre-cropped."""
    img = _image(decoded)
    w, h = img.size
    # torchvision's Resize(int): the short side becomes exactly image_size, the long side is truncated.
    size = (image_size, int(image_size * h / w)) if w <= h else (int(image_size * w / h), image_size)
    if size != img.size:
        img = img.resize(size, Image.Resampling.BICUBIC)
    # torchvision's CenterCrop: offsets rounded half-to-even, as Python's round() does.
    left, top = round((size[0] - image_size) / 2), round((size[1] - image_size) / 2)
    return np.asarray(img.crop((left, top, left + image_size, top + image_size)))


def caption_input(decoded: Decoded | np.ndarray, size: int) -> np.ndarray:
    """size x size x 3 uint8: the bitmap squashed to the caption model's square (bicubic), as BLIP's
    processor does; made in the worker so only 442 KB per photo (at 384 px) travels to the caption model."""
    img = _image(decoded)
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(img)


def thumbnail(decoded: Decoded | np.ndarray, max_side: int) -> np.ndarray:
    """Aspect-preserving shrink so the longest side is at most max_side; small images are not enlarged."""
    img = _image(decoded)
    img.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)  # in place, on our own copy
    return np.asarray(img)


def _image(decoded: Decoded | np.ndarray) -> Image.Image:
    pixels = decoded.pixels if isinstance(decoded, Decoded) else decoded
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8 or 0 in pixels.shape:
        raise ValueError(f"expected an H x W x 3 uint8 bitmap, got {pixels.shape} {pixels.dtype}")
    return Image.fromarray(np.ascontiguousarray(pixels), "RGB")
