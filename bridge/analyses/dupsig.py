"""Per-photo duplicate signature, computed in the decode worker from the oriented ~448 px bitmap.

Pure numpy/OpenCV (no torch): it runs in decode worker processes next to `decode`. The batched torch
twin for a GPU is `bridge.analyses.dupsig_batch`, built from the same helpers below.

A signature is small on purpose (about 2 KB), because it is stored for every photo of libraries with a
million photos:

- `phash` / `dhash`: 64-bit perceptual and difference hashes. Robust to re-encoding, resizing, small
  tonal edits; `bridge.analyses.duplicates` buckets them with multi-band LSH to find candidates without all-pairs.
- `thumb`: a grayscale thumbnail of at most `THUMB_PIXELS` pixels (aspect kept, row-major, `thumb_w`
  columns). Hashes do not survive crops, so `bridge.analyses.duplicates` verifies crop candidates by searching
  one thumbnail inside the other over scale and translation with normalised cross-correlation.

How (version d2; 0.4-0.6 ms per 448 x 672 to 600 x 900 bitmap on one core, bench/bench_quality.py):
the grayscale (ITU-R 601 luma, OpenCV's fixed point) is computed once, then its integral image
(`cv2.integral`); the three small images -- the thumbnail, 32 x 32 for phash, 9 x 8 for dhash -- are
exact area averages read off that integral image (each output pixel is the mean of its rectangle of
source pixels, fractional edge pixels weighted by their overlap: what `cv2.resize(..., INTER_AREA)`
computes when shrinking), rounded to uint8. The hashes keep imagehash's definitions and bit order
(first bit = most significant):

- phash: the type-II DCT (scipy's unnormalised convention) of the 32 x 32 image, its 8 x 8 lowest
  frequencies (row = vertical frequency) compared with their median: bit = coefficient > median.
  Coefficients are rounded to 1e-3 first, so a flat image (all AC coefficients 0) hashes the same
  everywhere instead of by floating-point noise.
- dhash: of the 9 x 8 image, bit = pixel > its left neighbour, row by row.

d1 took both hashes from imagehash (PIL LANCZOS resizes of the whole bitmap, scipy's DCT), 4-6 times
slower. On the shared photos d2's box-filtered hashes sit 0-4 bits (phash) and 0-14 bits (dhash: a
9 x 8 gradient sign depends on the filter) from d1's, so the two versions are not mixed: bumping the
version recomputes every stored signature. As duplicate evidence they are as good: on the generated
duplicate set (tests/dup_factory.py) true re-encode/resize pairs average 0.28 / 0.62 bits apart (d1:
0.32 / 0.64), unrelated photos at least 18 / 16 bits (d1: 16 / 16).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

DUPSIG_VERSION = "d2"
# ~55 x 36 for a 3:2 photo: enough texture to locate a 40 %-wide crop, and <= 2 KB per photo stored.
THUMB_PIXELS = 2000
PHASH_SIDE = 32  # phash: DCT of a 32 x 32 image, its 8 x 8 lowest frequencies
HASH_SIDE = 8
DHASH_SIZE = (HASH_SIDE, HASH_SIDE + 1)  # (rows, columns): 8 rows of 9, 8 horizontal differences each
PHASH_DECIMALS = 3  # DCT coefficients rounded to 1e-3: float noise on flat images is not a hash bit


def _dct_low() -> np.ndarray:
    """The 8 x 32 matrix of the first eight type-II DCT basis rows in scipy.fftpack's unnormalised
    convention (2 cos(pi k (2n + 1) / 2N)). Unlike the orthonormal `cv2.dct`, every row has the same
    scale, so comparing coefficients with their median means what it means in imagehash."""
    k = np.arange(HASH_SIDE, dtype=np.float64)[:, None]
    n = np.arange(PHASH_SIDE, dtype=np.float64)[None, :]
    return 2.0 * np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * PHASH_SIDE))


DCT_LOW = _dct_low()
DCT_LOW.flags.writeable = False


@dataclass(frozen=True, slots=True)
class DupSignature:
    phash: int  # 64-bit perceptual hash as an unsigned int (first bit most significant)
    dhash: int  # 64-bit difference hash
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
    h, w = gray.shape
    # Exact integers either way; int32 is twice as fast and holds 255 * 8.4 M pixels.
    depth = cv2.CV_32S if 255 * h * w < 2**31 else cv2.CV_64F
    table = cv2.integral(gray, sdepth=depth)
    th, tw = thumb_size(h, w)
    thumb = _area_mean(table, th, tw)
    small = _area_mean(table, PHASH_SIDE, PHASH_SIDE).astype(np.float64)
    coeffs = np.round(DCT_LOW @ small @ DCT_LOW.T * 10.0**PHASH_DECIMALS)
    ordered = np.sort(coeffs, axis=None)
    median = (ordered[31] + ordered[32]) / 2.0
    diff = _area_mean(table, *DHASH_SIZE)
    return DupSignature(
        phash=pack_bits(coeffs > median),
        dhash=pack_bits(diff[:, 1:] > diff[:, :-1]),
        thumb=thumb.tobytes(),
        thumb_w=tw,
    )


def thumb_size(h: int, w: int) -> tuple[int, int]:
    """(rows, columns) of the thumbnail of an h x w bitmap: at most THUMB_PIXELS, aspect kept."""
    scale = min(1.0, math.sqrt(THUMB_PIXELS / (w * h)))
    return max(1, int(h * scale)), max(1, int(w * scale))


def area_grid(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the n_out + 1 cell edges k * n_in / n_out fall in an integral table of n_in + 1 entries:
    (index i, fraction f) with edge = i + f, i <= n_in - 1, so that table[i] + f * (table[i + 1] -
    table[i]) is the exact integral up to the edge (the integral of a piecewise-constant row is
    piecewise linear). Also valid when enlarging (then a cell is a fraction of one pixel)."""
    edges = np.arange(n_out + 1, dtype=np.float64) * n_in / n_out
    index = np.minimum(np.floor(edges), n_in - 1).astype(np.int64)
    return index, edges - index


def _area_mean(table: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The rows x cols area-average downscale of the image whose integral `table` is, rounded to uint8.
    `dupsig_batch._area_mean` is the same arithmetic, operation for operation, in torch."""
    h, w = table.shape[0] - 1, table.shape[1] - 1
    iy, fy = area_grid(h, rows)
    ix, fx = area_grid(w, cols)
    top = table[iy]
    band = (table[iy + 1] - top).astype(np.float64)  # one source row's running sums: exact
    at_rows = top.astype(np.float64) + fy[:, None] * band  # integral at each row edge
    left = at_rows[:, ix]
    at_edges = left + fx[None, :] * (at_rows[:, ix + 1] - left)  # ... and at each column edge
    sums = at_edges[1:, 1:] - at_edges[:-1, 1:] - at_edges[1:, :-1] + at_edges[:-1, :-1]
    mean = sums / ((h / rows) * (w / cols))
    return np.clip(np.rint(mean), 0, 255).astype(np.uint8)


def pack_bits(bits: np.ndarray) -> int:
    """64 booleans (any shape, row-major) as an unsigned int, the first bit most significant."""
    return int.from_bytes(np.packbits(bits.ravel().astype(bool)).tobytes(), "big")
