"""The thumbnail cache: one small JPEG per photo content under data_dir/thumbnails, keyed by fingerprint (a
moved or renamed file keeps its thumbnail). The indexer writes it from the bitmap it decoded anyway (no second
decode of a 24 MP file); the desktop window reads it, and makes what is missing itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

THUMB_SIZE = 256  # longest side on disk; the grid scales it down (sharp on high-DPI screens)
QUALITY = 85


def thumbs_dir(data_dir: Path) -> Path:
    return data_dir / "thumbnails"


def thumb_path(cache_dir: Path, fingerprint: str) -> Path:
    safe = "".join(c for c in fingerprint if c.isalnum() or c in "-_") or "x"
    return cache_dir / safe[:2] / f"{safe}.jpg"


def shrink(pixels: np.ndarray, size: int = THUMB_SIZE) -> Image.Image:
    """Aspect kept, longest side at most `size` (small images are not enlarged)."""
    img = Image.fromarray(np.ascontiguousarray(pixels), "RGB")
    img.thumbnail((size, size), Image.Resampling.LANCZOS)
    return img


def write_thumbnail(img: Image.Image, dest: Path) -> None:
    """Atomically (temp + rename): a half-written thumbnail is never read. Thread- and process-safe."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(f".{os.getpid()}.{id(img)}.tmp")
    try:
        img.save(tmp, "JPEG", quality=QUALITY)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def save_thumbnail(pixels: np.ndarray, cache_dir: Path, fingerprint: str) -> bool:
    """Write the thumbnail of an upright RGB bitmap unless the cache has it; False when it could not be
    written (a full or read-only disk must never fail the photo: the window makes it later)."""
    dest = thumb_path(cache_dir, fingerprint)
    if dest.exists():
        return True
    try:
        write_thumbnail(shrink(pixels), dest)
    except OSError:
        return False
    return True
