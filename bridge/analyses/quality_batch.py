"""Quality scores computed on batched torch tensors: the same scores as `quality.score`, on the device.

`scores(bitmaps)` takes 3 x H x W uint8 RGB tensors on any device (the decoded bitmaps already on the
model's GPU, or CPU tensors) and returns one `QualityScores` per bitmap, in order. Same-shaped bitmaps on
the same device are stacked into batches (at most `batch_size`); every per-pixel step runs on the device
and each batch sends only its small per-image statistics to the CPU in one transfer (a 256-bin histogram,
a few hundred block and tile means, three structure-tensor sums: about 8 KB per image). The scores are
then made by `quality.from_statistics`, the function `quality.score` ends with, so every formula
(percentiles, noise correction, tile scores, exposure, overall) is shared and only the per-pixel work is
written twice. Every score is defined in `quality`'s docstring; this module mirrors its OpenCV calls:

* luma: OpenCV's fixed-point RGB2GRAY for 8-bit input (``(9798 R + 19235 G + 3735 B + 2^14) >> 15``),
  in float32, where every partial sum is an integer below 2^24, so it is exact;
* area downscale to ``ANALYSIS_SIDE``: OpenCV's INTER_AREA table (its weights and order: along rows, then
  down columns, rounded to nearest, ties to even), and its 2 x 2 fast path, which rounds ties up;
* filters (Immerkaer, Laplacian, pyrDown, the band-pass's 9-tap Gaussian, Sobel) as sums of shifted
  slices with OpenCV's kernels and its default border BORDER_REFLECT_101 (``F.pad(mode="reflect")``):
  elementwise float32 arithmetic, so no TF32 convolution can round them on a GPU;
* block and tile means: OpenCV's INTER_AREA weights as two small float64 matrix products (float64, so a
  process-wide TF32 matmul setting cannot touch them either);
* histogram: ``bincount``; structure tensor: float64 sums.

Agreement with ``quality.score``, measured on the CPU over 586 bitmaps: the 57 decodable photos in
../shared/data (jpeg, png, tiff, webp) decoded by ``decode_image(p, target=448)``; every rung of the
Gaussian, motion (5 lengths x 5 angles), +-EV and noise ladders of tests/bridge/analyses/test_quality.py on
its 12 photos; generated, flat, random, thin and tiny images. The luma, the downscaled luma, the histogram,
pyrDown and the Laplacians are bit-identical, so ``exposure``, ``highlights_clipped``, ``shadows_clipped``
and ``brightness`` are identical (max |d| 0). The block and tile means differ by float rounding only
(~1e-7 relative): max |d| sharpness 2.4e-7, noise 6e-8, motion_blur 4.8e-7, overall 3.3e-6 (its square
root of sharpness amplifies); motion_angle identical wherever both report one; None-ness never differed.
The documented tolerances leave room for a GPU's float rounding (fused multiply-adds, other summation
orders) and are exactly what tests/bridge/analyses/test_quality_batch.py asserts:

* ``exposure``, ``highlights_clipped``, ``shadows_clipped``, ``brightness``: ``|d| <= TONE_TOLERANCE``;
* ``sharpness``, ``noise``, ``motion_blur``, ``overall``: ``|d| <= DETAIL_TOLERANCE``;
* ``motion_angle``: within ``ANGLE_TOLERANCE`` degrees (mod 180) when both report one; whether it is None
  agrees except when ``motion_blur`` is within ``DETAIL_TOLERANCE`` of the 0.2 threshold.

Weaknesses: batches form only from bitmaps of identical shape (one camera's photos share one; a mixed
library gives batches of one, still correct); on the CPU it is about 2.5x slower than OpenCV
(bench/bench_quality.py: torch makes one memory pass per operation where OpenCV fuses them), so the decode
workers keep `quality.score`; a flat block whose mean luma sits exactly on a noise-mask bound (16 or 239)
could fall on either side of it in either implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from bridge.analyses import quality
from bridge.analyses.quality import DetailStats, QualityScores

TONE_TOLERANCE = 1e-6
DETAIL_TOLERANCE = 1e-4
ANGLE_TOLERANCE = 0.05  # degrees

_DEVICE_BATCH, _CPU_BATCH = 16, 2

_LUMA = (9798.0, 19235.0, 3735.0)  # OpenCV's RGB2GRAY weights for 8-bit input, 15 fractional bits
_LUMA_ROUND, _LUMA_SCALE = float(1 << 14), 1.0 / (1 << 15)
_PYR = (1.0, 4.0, 6.0, 4.0, 1.0)  # pyrDown's taps along each axis; the result is divided by 256
_SECOND = (1.0, -2.0, 1.0)  # Immerkaer's kernel is this times this; the Laplacian is this plus this
# Sobel (ksize 3): the derivative along one axis, the smoothing along the other.
_DIFF, _SMOOTH = (-1.0, 0.0, 1.0), (1.0, 2.0, 1.0)


def scores(bitmaps: Sequence[torch.Tensor], *, batch_size: int | None = None) -> list[QualityScores]:
    """Quality scores of 3 x H x W uint8 RGB tensors (any device), in input order. Same-shaped tensors on
    one device are stacked and scored `batch_size` at a time (default 16 on a GPU, about 15 MB of working
    memory per 896 x 1344 bitmap and 8 MB per 448 x 672 one; 2 on the CPU, where batches that stay in
    cache run fastest). Raises ValueError naming the first bad bitmap, before any work."""
    groups: dict[tuple[tuple[int, ...], torch.device], list[int]] = {}
    for i, t in enumerate(bitmaps):
        _check(t, i)
        groups.setdefault((tuple(t.shape), t.device), []).append(i)
    out: list[QualityScores | None] = [None] * len(bitmaps)
    for (_, device), members in groups.items():
        size = max(1, batch_size or (_CPU_BATCH if device.type == "cpu" else _DEVICE_BATCH))
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            for i, q in zip(chunk, _score_batch(torch.stack([bitmaps[i] for i in chunk])), strict=True):
                out[i] = q
    return [q for q in out if q is not None]


def _check(t: object, i: int) -> None:
    if not isinstance(t, torch.Tensor) or t.dtype != torch.uint8 or t.ndim != 3 or t.shape[0] != 3:
        got = f"{t.dtype} {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"scores() needs 3 x H x W uint8 RGB tensors; bitmap {i} is {got}")
    if t.shape[1] < 1 or t.shape[2] < 1:
        raise ValueError(f"scores() needs non-empty images; bitmap {i} is {tuple(t.shape)}")


@torch.inference_mode()
def _score_batch(x: torch.Tensor) -> list[QualityScores]:
    """B x 3 x H x W uint8 -> B scores; one device-to-host transfer."""
    gray = _analysis_luma(x)
    hist = _histograms(gray)
    if min(gray.shape[1:]) < quality.MIN_DETAIL_SIDE:
        return [quality.from_statistics(row, None) for row in hist.cpu().numpy()]
    noise_blocks, block_luma = _noise_blocks(gray)
    half = _pyr_down(gray)
    fine, coarse = _tile_energy(gray, half)
    parts = [hist, noise_blocks, block_luma, fine, coarse, _structure_tensor(half)]
    packed = torch.cat(parts, dim=1).cpu().numpy()
    bounds = np.cumsum([p.shape[1] for p in parts])[:-1]
    out = []
    for row in packed:
        h, nb, bl, fi, co, j = np.split(row, bounds)
        f32 = np.float32  # OpenCV's dtype for these means, so the shared formulas round alike
        stats = DetailStats(nb.astype(f32), bl.astype(f32), fi.astype(f32), co.astype(f32), *map(float, j))
        out.append(quality.from_statistics(h, stats))
    return out


def _analysis_luma(x: torch.Tensor) -> torch.Tensor:
    """B x 3 x H x W uint8 -> B x h x w float32 luma (integer values), area-downscaled like `quality.score`."""
    b, _, h, w = x.shape
    if min(h, w) <= quality.ANALYSIS_SIDE:
        return _luma(x)
    gw, gh = quality.analysis_size(h, w)
    if (h, w) == (2 * gh, 2 * gw):  # OpenCV's 2 x 2 fast path: the mean of four, ties rounded up
        return torch.floor((_luma(x).view(b, gh, 2, gw, 2).sum((2, 4)) + 2.0) * 0.25)
    # The general path: along rows first, then down columns, each as weighted gathers of whole rows
    # (fast on every device); the transposes put the axis being resampled first.
    along_rows = _area_rows(_luma(x).transpose(1, 2).contiguous(), gw)
    return torch.round(_area_rows(along_rows.transpose(1, 2).contiguous(), gh))


def _luma(x: torch.Tensor) -> torch.Tensor:
    # One channel at a time keeps a single float copy of the bitmap alive at once.
    y = x[:, 0].to(torch.float32).mul_(_LUMA[0])
    y.add_(x[:, 1].to(torch.float32), alpha=_LUMA[1]).add_(x[:, 2].to(torch.float32), alpha=_LUMA[2])
    return y.add_(_LUMA_ROUND).mul_(_LUMA_SCALE).floor_()


def _area_rows(t: torch.Tensor, n_out: int) -> torch.Tensor:
    """INTER_AREA along dim 1 of B x N x M float32, summing the taps in OpenCV's order."""
    idx_np, w_np = _area_table(t.shape[1], n_out)
    idx = torch.from_numpy(idx_np).to(t.device)
    wts = torch.from_numpy(w_np).to(t.device).unsqueeze(-1)
    acc = t.index_select(1, idx[:, 0]) * wts[:, 0]
    for k in range(1, idx.shape[1]):  # zero-weight padding taps add +0.0
        acc += t.index_select(1, idx[:, k]) * wts[:, k]
    return acc


@lru_cache(maxsize=64)
def _area_table(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's INTER_AREA taps for one axis (scale >= 1): source indices and float32 weights, n_out x taps,
    in OpenCV's order, padded with zero weights. The same double arithmetic as its table builder."""
    if n_in == n_out:
        return np.arange(n_out, dtype=np.int64).reshape(-1, 1), np.ones((n_out, 1), np.float32)
    scale = 1.0 / (n_out / n_in)
    rows: list[list[tuple[int, float]]] = []
    for d in range(n_out):
        f1 = d * scale
        f2 = f1 + scale
        cell = min(scale, n_in - f1)
        s2 = min(int(np.floor(f2)), n_in - 1)
        s1 = min(int(np.ceil(f1)), s2)
        taps = [(s1 - 1, (s1 - f1) / cell)] if s1 - f1 > 1e-3 else []
        taps += [(s, 1.0 / cell) for s in range(s1, s2)]
        if f2 - s2 > 1e-3:
            taps.append((s2, min(f2 - s2, 1.0, cell) / cell))
        rows.append(taps)
    idx = np.zeros((n_out, max(len(t) for t in rows)), np.int64)
    wts = np.zeros(idx.shape, np.float32)
    for d, taps in enumerate(rows):
        for j, (s, a) in enumerate(taps):
            idx[d, j], wts[d, j] = s, a
    return idx, wts


@lru_cache(maxsize=64)
def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The same taps as an n_out x n_in float64 matrix (for means over a small grid of cells)."""
    idx, wts = _area_table(n_in, n_out)
    m = np.zeros((n_out, n_in), np.float64)
    np.add.at(m, (np.repeat(np.arange(n_out), idx.shape[1]), idx.ravel()), wts.ravel().astype(np.float64))
    return m


def _cell_means(a: torch.Tensor, cells: tuple[int, int]) -> torch.Tensor:
    """B x H x W -> B x (rows * columns) INTER_AREA means over a (columns, rows) grid, in float64."""
    cols, rows = cells
    mx = torch.from_numpy(_area_matrix(a.shape[2], cols)).to(a.device)
    my = torch.from_numpy(_area_matrix(a.shape[1], rows)).to(a.device)
    return (my @ (a.to(torch.float64) @ mx.T)).flatten(1)


def _histograms(gray: torch.Tensor) -> torch.Tensor:
    b = gray.shape[0]
    offsets = torch.arange(b, device=gray.device).view(b, 1, 1) * 256
    flat = (gray.to(torch.int64) + offsets).flatten()
    return torch.bincount(flat, minlength=256 * b).view(b, 256).to(torch.float64)


def _pad101(x: torch.Tensor, p: int) -> torch.Tensor:
    """OpenCV's BORDER_REFLECT_101 (``dcb|abcd|cba``) of width p around the last two dims of B x H x W."""
    if min(x.shape[1:]) > p:
        return F.pad(x.unsqueeze(1), (p, p, p, p), mode="reflect").squeeze(1)
    # Too small for one reflection (a 4 px side under the 9-tap Gaussian): reflect repeatedly, as OpenCV does.
    rows, cols = (torch.from_numpy(_reflect101(n, p)).to(x.device) for n in x.shape[1:])
    return x.index_select(1, rows).index_select(2, cols)


def _reflect101(n: int, p: int) -> np.ndarray:
    if n == 1:
        return np.zeros(n + 2 * p, np.int64)
    m = np.arange(-p, n + p) % (2 * n - 2)
    return np.where(m >= n, 2 * n - 2 - m, m)


def _filter(xp: torch.Tensor, taps: Sequence[float], dim: int, n: int, step: int = 1) -> torch.Tensor:
    """1-D filter of an already padded B x H x W tensor along `dim` (1: down columns, 2: along rows): n
    outputs, one every `step` rows (columns only with step 1, so the last dim stays contiguous and every
    term is one vectorized pass)."""
    assert step == 1 or dim == 1
    out: torch.Tensor | None = None
    for k, c in enumerate(taps):
        if c == 0.0:
            continue
        term = xp.narrow(dim, k, step * (n - 1) + 1)
        term = term[:, ::step] if step > 1 else term
        if out is None:
            out = term * c
        else:
            out.add_(term, alpha=c)
    assert out is not None
    return out


def _separable(
    xp: torch.Tensor, row_taps: Sequence[float], col_taps: Sequence[float], h: int, w: int
) -> torch.Tensor:
    """Row filter then column filter (OpenCV's order) of a padded tensor, to h x w outputs."""
    return _filter(_filter(xp, row_taps, 2, w), col_taps, 1, h)


def _noise_blocks(gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # Only the interior is kept (quality._noise_blocks crops the 1-px border), so no padding is needed.
    h, w = gray.shape[1:]
    resp = _separable(gray, _SECOND, _SECOND, h - 2, w - 2).abs()
    cells = quality.grid(tuple(resp.shape[1:]), quality.NOISE_BLOCK)
    return _cell_means(resp, cells), _cell_means(gray[:, 1:-1, 1:-1], cells)


def _pyr_down(gray: torch.Tensor) -> torch.Tensor:
    # Integer sums below 2^24 scaled by 2^-8: exact in any order. Columns first, on every other row (a
    # strided row step keeps the inner dim contiguous), then rows at full width, keeping every other column.
    h, w = gray.shape[1:]
    even_rows = _filter(_pad101(gray, 2), _PYR, 1, (h + 1) // 2, step=2)
    return _filter(even_rows, _PYR, 2, w)[:, :, ::2].contiguous() * (1.0 / 256.0)


def _laplacian(x: torch.Tensor) -> torch.Tensor:
    # [[0,1,0],[1,-4,1],[0,1,0]] as two second differences: exact either way on these values (integers,
    # or multiples of 2^-8 below 256), so the sum is OpenCV's.
    h, w = x.shape[1:]
    xp = _pad101(x, 1)
    return _filter(xp[:, 1 : h + 1], _SECOND, 2, w).add_(_filter(xp[:, :, 1 : w + 1], _SECOND, 1, h))


def _tile_energy(gray: torch.Tensor, half: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cells = quality.grid(
        tuple(gray.shape[1:]), quality.TILE
    )  # half scale: the same grid, cells half the size
    fine = _cell_means(torch.square(_laplacian(gray)), cells)
    return fine, _cell_means(torch.square(_laplacian(half)), cells)


@lru_cache(maxsize=1)
def _band_taps() -> tuple[float, ...]:
    # GaussianBlur(ksize=(0, 0)) on float32 takes 2 * round(4 sigma) + 1 taps of this float32 kernel.
    n = round(quality.BAND_SIGMA * 4 * 2 + 1) | 1
    return tuple(float(v) for v in cv2.getGaussianKernel(n, quality.BAND_SIGMA, cv2.CV_32F).ravel())


def _structure_tensor(half: torch.Tensor) -> torch.Tensor:
    """B x 3 float64: jxx, jyy, jxy of the Sobel gradients of the band-passed half-scale luma."""
    h, w = half.shape[1:]
    taps = _band_taps()
    band = half - _separable(_pad101(half, len(taps) // 2), taps, taps, h, w)
    bp = _pad101(band, 1)
    gx = _separable(bp, _DIFF, _SMOOTH, h, w).to(torch.float64)
    gy = _separable(bp, _SMOOTH, _DIFF, h, w).to(torch.float64)
    return torch.stack([(gx * gx).sum((1, 2)), (gy * gy).sum((1, 2)), (gx * gy).sum((1, 2))], dim=1)
