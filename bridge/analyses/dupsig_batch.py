"""Duplicate signatures of many bitmaps at once, on torch tensors on any device (a GPU's, or the CPU).

`signatures(bitmaps)` takes 3 x H x W uint8 RGB tensors (the decoded bitmap, channels first) and returns
the `bridge.analyses.dupsig.DupSignature` of each, in order. Bitmaps of one shape on one device are
stacked into real batches (at most `max_batch` each); the gray conversion, the integral image, the
three area-averaged downscales, the DCT and both hashes' bits are computed on that device, and only the
bits (16 bytes) and the thumbnail (<= 2000 bytes) of each bitmap move to the CPU.

It is the arithmetic of `dupsig.signature`, operation for operation, so the two agree:

- gray: OpenCV's fixed-point RGB -> gray (15-bit weights 9798, 19235, 3735), bit-identical to
  `cv2.cvtColor(..., COLOR_RGB2GRAY)` over all 2^24 colours (OpenCV 5.0);
- the integral image in exact integers (int32 when 255 * H * W fits, else int64), read at the same cell
  edges (`dupsig.area_grid`) with the same float64 operations in the same order. This is the exact area
  average `cv2.resize(INTER_AREA)` computes when shrinking. Not `F.interpolate(mode="area")` /
  `adaptive_avg_pool2d`: for a non-integer ratio (900 -> 32 columns) they average whole pixels over
  overlapping windows, without weighting the edge pixels by their overlap, a different filter (on the
  shared photos: up to 1 grey level mean difference at 32 x 32, 2 dhash bits);
- float64 throughout (never TF32, whatever the global matmul precision says), phash coefficients
  rounded to 1e-3 before the median as on the CPU, so float noise never decides a bit. float64 rules out
  Apple's MPS; CPU and CUDA are what this runs on.

Agreement with `dupsig.signature` on the same bitmap, asserted by tests/bridge/analyses/test_dupsig.py on
the shared photos, on blur / JPEG / resize / brightness / crop ladders of them and on generated bitmaps
of mixed shapes: same `thumb_w` and `thumb_h` always; phash and dhash within `HASH_TOLERANCE_BITS`
(2 bits) each; thumbnail mean absolute difference <= `THUMB_MEAN_TOLERANCE` (0.01 grey levels) and no
pixel more than `THUMB_MAX_TOLERANCE` (1 grey level) apart. Measured on the CPU: bit-identical
signatures on every bitmap of those tests (57 photos, 261 ladder rungs, 12 generated: 0 bits, 0 grey
levels). The slack covers a DCT summed in another order (cuBLAS), which can move a coefficient across a
1e-3 rounding edge (phash bits flip in pairs: one coefficient crosses the median, another crosses
back), a mean landing within 1e-9 of a .5 rounding edge, and another OpenCV's gray conversion on the
CPU side.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch

from bridge.analyses.dupsig import (
    DCT_LOW,
    DHASH_SIZE,
    PHASH_DECIMALS,
    PHASH_SIDE,
    DupSignature,
    area_grid,
    pack_bits,
    thumb_size,
)

HASH_TOLERANCE_BITS = 2
THUMB_MEAN_TOLERANCE = 0.01
THUMB_MAX_TOLERANCE = 1
_GRAY_WEIGHTS = (9798, 19235, 3735)  # R, G, B; sum 2^15
_GRAY_SHIFT = 15


def signatures(bitmaps: Sequence[torch.Tensor], *, max_batch: int = 32) -> list[DupSignature]:
    """The signature of each 3 x H x W uint8 RGB tensor, in order. Raises ValueError on another shape or
    dtype. `max_batch` bounds one batch's device memory: about 20 bytes per source pixel at the peak."""
    groups: dict[tuple[torch.device, int, int], list[int]] = defaultdict(list)
    for n, bitmap in enumerate(bitmaps):
        if bitmap.ndim != 3 or bitmap.shape[0] != 3 or bitmap.dtype != torch.uint8 or 0 in bitmap.shape:
            raise ValueError(
                f"bitmap {n}: expected a 3 x H x W uint8 tensor, got {tuple(bitmap.shape)} {bitmap.dtype}"
            )
        groups[(bitmap.device, bitmap.shape[1], bitmap.shape[2])].append(n)
    out: dict[int, DupSignature] = {}
    with torch.inference_mode():
        for members in groups.values():
            for start in range(0, len(members), max(1, max_batch)):
                chunk = members[start : start + max(1, max_batch)]
                batch = torch.stack([bitmaps[n] for n in chunk])
                out.update(zip(chunk, _batch(batch), strict=True))
    return [out[n] for n in range(len(bitmaps))]


def _batch(rgb: torch.Tensor) -> list[DupSignature]:
    """Signatures of an N x 3 x H x W uint8 batch."""
    n, _, h, w = rgb.shape
    device = rgb.device
    gray = rgb[:, 0].to(torch.int32).mul_(_GRAY_WEIGHTS[0])
    gray.add_(rgb[:, 1], alpha=_GRAY_WEIGHTS[1]).add_(rgb[:, 2], alpha=_GRAY_WEIGHTS[2])  # in place
    gray.add_(1 << (_GRAY_SHIFT - 1)).bitwise_right_shift_(_GRAY_SHIFT)
    # Exact integers either way, as cv2.integral on the CPU; a zero row and column first.
    depth = torch.int32 if 255 * h * w < 2**31 else torch.int64
    table = torch.zeros((n, h + 1, w + 1), dtype=depth, device=device)
    table[:, 1:, 1:] = gray.cumsum(1, dtype=depth).cumsum(2, dtype=depth)  # (integer cumsum is int64 unasked)
    del gray

    th, tw = thumb_size(h, w)
    thumb = _area_mean(table, th, tw)
    small = _area_mean(table, PHASH_SIDE, PHASH_SIDE).to(torch.float64)
    dct = torch.tensor(DCT_LOW, dtype=torch.float64, device=device)  # a copy: DCT_LOW is read-only
    coeffs = torch.round(dct @ small @ dct.T * 10.0**PHASH_DECIMALS).reshape(n, -1)
    ordered = coeffs.sort(dim=1).values
    median = (ordered[:, 31] + ordered[:, 32]) / 2.0
    diff = _area_mean(table, *DHASH_SIZE)
    bits = torch.cat([coeffs > median[:, None], (diff[:, :, 1:] > diff[:, :, :-1]).reshape(n, -1)], dim=1)
    bits_cpu = bits.cpu().numpy()
    thumbs_cpu = np.ascontiguousarray(thumb.cpu().numpy())
    return [
        DupSignature(
            phash=pack_bits(bits_cpu[k, :64]),
            dhash=pack_bits(bits_cpu[k, 64:]),
            thumb=thumbs_cpu[k].tobytes(),
            thumb_w=tw,
        )
        for k in range(n)
    ]


def _area_mean(table: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """N x rows x cols area-average downscales from N integral tables, rounded to uint8: `dupsig._area_mean`
    in torch, the same float64 operations in the same order."""
    h, w = table.shape[1] - 1, table.shape[2] - 1
    iy, fy = (torch.as_tensor(a, device=table.device) for a in area_grid(h, rows))
    ix, fx = (torch.as_tensor(a, device=table.device) for a in area_grid(w, cols))
    top = table.index_select(1, iy)
    band = (table.index_select(1, iy + 1) - top).to(torch.float64)
    at_rows = top.to(torch.float64) + fy[None, :, None] * band
    left = at_rows.index_select(2, ix)
    at_edges = left + fx[None, None, :] * (at_rows.index_select(2, ix + 1) - left)
    sums = at_edges[:, 1:, 1:] - at_edges[:, :-1, 1:] - at_edges[:, 1:, :-1] + at_edges[:, :-1, :-1]
    mean = sums / ((h / rows) * (w / cols))
    return torch.round(mean).clamp(0, 255).to(torch.uint8)
