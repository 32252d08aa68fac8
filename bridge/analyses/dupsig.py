"""Per-photo duplicate signature, computed in the decode worker from the oriented ~448 px bitmap.

Pure numpy/Pillow/imagehash/OpenCV (no torch): it runs in decode worker processes next to `decode`.

A signature is small on purpose (about 2 KB), because it is stored for every photo of libraries with a
million photos:

- `phash` / `dhash`: 64-bit perceptual and difference hashes. Robust to re-encoding, resizing, small
  tonal edits; `bridge.analyses.duplicates` buckets them with multi-band LSH to find candidates without all-pairs.
- `thumb`: a grayscale thumbnail of at most `THUMB_PIXELS` pixels (aspect kept, row-major, `thumb_w`
  columns). Hashes do not survive crops, so `bridge.analyses.duplicates` verifies crop candidates by searching
  one thumbnail inside the other over scale and translation with normalised cross-correlation.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import imagehash
import numpy as np
from PIL import Image

DUPSIG_VERSION = "d1"
# ~55 x 36 for a 3:2 photo: enough texture to locate a 40 %-wide crop, and <= 2 KB per photo stored.
THUMB_PIXELS = 2000


@dataclass(frozen=True, slots=True)
class DupSignature:
    phash: int  # 64-bit perceptual hash (imagehash.phash) as an unsigned int
    dhash: int  # 64-bit difference hash (imagehash.dhash)
    thumb: bytes  # grayscale uint8 thumbnail, row-major, thumb_w columns, <= THUMB_PIXELS bytes
    thumb_w: int
    version: str = DUPSIG_VERSION

    @property
    def thumb_h(self) -> int:
        return len(self.thumb) // self.thumb_w if self.thumb_w else 0

    def thumb_array(self) -> np.ndarray:
        """The thumbnail as an H x W uint8 array (a read-only view on `thumb`)."""
        return np.frombuffer(self.thumb, dtype=np.uint8).reshape(self.thumb_h, self.thumb_w)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe: hashes as 16-digit hex (a JSON number cannot hold 64 bits), thumbnail as base64."""
        return {
            "v": self.version,
            "phash": f"{self.phash:016x}",
            "dhash": f"{self.dhash:016x}",
            "thumb_w": self.thumb_w,
            "thumb": base64.b64encode(self.thumb).decode("ascii"),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> DupSignature:
        return cls(
            phash=int(d["phash"], 16),
            dhash=int(d["dhash"], 16),
            thumb=base64.b64decode(d["thumb"]),
            thumb_w=int(d["thumb_w"]),
            version=str(d.get("v", DUPSIG_VERSION)),
        )


def signature(pixels: np.ndarray) -> DupSignature:
    """Signature of an oriented H x W x 3 uint8 RGB bitmap (shortest side ~448 px)."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8 or 0 in pixels.shape:
        raise ValueError(f"expected an H x W x 3 uint8 bitmap, got {pixels.shape} {pixels.dtype}")
    gray = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
    img = Image.fromarray(gray, "L")  # imagehash converts to L itself; doing it once serves both hashes
    h, w = gray.shape
    scale = min(1.0, math.sqrt(THUMB_PIXELS / (w * h)))
    tw, th = max(1, int(w * scale)), max(1, int(h * scale))
    # INTER_AREA averages every source pixel: the thumbnail of a 25 % resize matches the original's.
    thumb = cv2.resize(gray, (tw, th), interpolation=cv2.INTER_AREA) if (tw, th) != (w, h) else gray
    return DupSignature(
        phash=_hash_int(imagehash.phash(img)),
        dhash=_hash_int(imagehash.dhash(img)),
        thumb=np.ascontiguousarray(thumb).tobytes(),
        thumb_w=tw,
    )


def _hash_int(h: imagehash.ImageHash) -> int:
    bits = h.hash.flatten()
    return int("".join("1" if b else "0" for b in bits), 2)
