"""Image quality scores for culling: sharpness, motion blur, exposure, clipping, brightness, noise.

Pure numpy/OpenCV (no torch): this runs inside the decode worker processes on the decoded bitmap
(shortest side ~448 px). `score(pixels)` takes an H x W x 3 uint8 RGB array and returns `QualityScores`.
Every score is a float in [0, 1] (``motion_angle`` is degrees or None). `QUALITY_VERSION` changes
whenever a score's meaning changes, so stored scores from an older version can be recomputed.
`score` is two halves: the per-pixel work reduces the luma to its histogram and `DetailStats` (block and
tile means, a structure tensor: a few hundred numbers), then `from_statistics` applies every formula below.
`quality_batch` does the per-pixel half with torch on a GPU and shares `from_statistics`.

Analysis frame
    Inputs whose shortest side exceeds ``ANALYSIS_SIDE`` (448 px) are downscaled with area averaging
    first, so every score describes the photo as seen at about 448 px on its shortest side (the size
    of a large thumbnail): a 24 MP photo that is only soft at 100 % zoom scores sharp, and sensor noise
    that area averaging removes does not count. Smaller inputs are scored as they are. Luminance is
    the BT.601 luma of the sRGB-encoded values (``Y = 0.299 R + 0.587 G + 0.114 B``, 0..255), the
    same channel every score reads, so grayscale-looking images need no special case.

noise (Immerkær fast noise estimate, robust to texture)
    The luma is filtered with Immerkær's kernel ``[[1,-2,1],[-2,4,-2],[1,-2,1]]`` (the difference of
    two Laplacians, blind to smooth ramps); ``sigma = sqrt(pi/2) / 6 * mean(|response|)`` per block of
    about 28 px. Texture inflates the estimate but noise is everywhere, so sigma is the 20th
    percentile of the block estimates, ignoring blocks whose mean is within 16 levels of black or white
    (clipping hides noise there). ``noise = sigma / (sigma + 4)`` with sigma in 8-bit levels:
    sigma 1 -> 0.20, 2 -> 0.33, 4 -> 0.5, 8 -> 0.67, 16 -> 0.8. A flat image has sigma 0 -> 0.
    Weakness: a photo textured edge to edge (foliage, gravel) has no clean block and reads noisier.

sharpness (tiled, two-scale Laplacian energy, noise-corrected)
    The luma's Laplacian (3x3, ``[[0,1,0],[1,-4,1],[0,1,0]]``) is computed at the analysis scale and
    at half scale (Gaussian pyramid), and its mean square is taken in each tile of a grid of about
    75 px tiles. The part of that energy that white noise of the estimated sigma would give
    (``20 sigma^2``; ``1.5 sigma^2`` at half scale) is subtracted, so grain does not pass for detail.
    Each tile scores ``0.6 * (1 - exp(-rms_fine / 9)) + 0.4 * (1 - exp(-rms_half / 14))`` (rms in
    8-bit levels) and ``sharpness`` is the mean of the best twelfth of the tiles (at least one):
    crisp detail *somewhere* in the frame scores high, so a sharp subject on a blurred background
    (shallow depth of field) scores close to an all-sharp photo. Measured on the shared test photos at
    448 px: as shot 0.85-1.0; Gaussian blur sigma 1 px 0.6-0.92, sigma 2 px 0.3-0.65, sigma 3 px
    0.2-0.36, sigma 6 px 0.1-0.19; flat colour 0. Directional blur lowers it less (detail across the
    blur survives): that is what motion_blur is for. Weakness: it measures absolute detail, so very
    low-contrast scenes (fog, a blank wall) score softer than they look.

motion_blur, motion_angle (anisotropy of the band-pass structure tensor)
    Motion or shake blur of length L removes, across the whole frame, every frequency above ~1/L
    along its direction and keeps those across it. The half-scale luma is band-passed (minus its
    Gaussian blur, sigma 1 px) so that only frequencies a blur of a few px destroys remain, then the
    frame-wide structure tensor of its Sobel gradients ``J = sum [[gx^2, gx gy], [gx gy, gy^2]]``
    gives the anisotropy ``A = (l1 - l2) / (l1 + l2)`` from its eigenvalues (0 = detail in every
    direction, 1 = all in one). Summing over the whole frame lets a scene's own edges in different
    directions cancel, while shake has one direction everywhere; band-passing keeps the scene's
    large horizontal/vertical structures from masking a diagonal blur. Sharp photos measure
    A ~ 0.02-0.3 (0.42 for a landscape of horizontal rock strata), a 9 px blur at 448 px ~0.5-0.9,
    so ``motion_blur = clip((A - 0.35) / 0.45, 0, 1)``. ``motion_angle`` is the blur direction
    (perpendicular to the dominant gradient): degrees in [0, 180), counter-clockwise from the image's
    +x axis with y pointing up (0 = horizontal, 90 = vertical, 45 = lower-left to upper-right),
    reported only when ``motion_blur >= 0.2``, else None. Weakness: a scene made of parallel lines
    (a picket fence, blinds, strata) reads as slightly directional; a blur along a scene's dominant
    lines first cancels their anisotropy, so short blurs along them can read lower than none.

exposure, highlights_clipped, shadows_clipped, brightness (scene-aware, from the luma histogram)
    ``brightness`` = mean luma / 255. ``highlights_clipped`` = fraction of pixels with luma >= 250,
    ``shadows_clipped`` = fraction with luma <= 5. ``exposure`` maps an offset (in stops of evidence,
    measured in linear light, sRGB decoded) through ``exposure = 0.5 + 0.5 * tanh(offset / 2.5)``:
    0.5 = well exposed, below = under, above = over (offset +-1 -> 0.5 +- 0.19, +-2 -> +- 0.33,
    +-3 -> +- 0.42). The mean alone would call every night scene under-exposed and every
    white-background product shot over-exposed, so the offset combines percentiles and clipping:

    * ``mid``: stops between the median luma and 0.45 (sRGB mid-tone), clamped to +-3;
    * ``top`` (<= 0): stops by which the 99th percentile of the pixels that are not crushed black
      falls short of 0.70 -- no bright tones at all is the signature of real under-exposure (a
      night scene with lit windows or lamps has them, so 0);
    * ``bot`` (>= 0): stops by which the 1st percentile of the pixels that are not clipped white sits
      above 0.08 -- no dark tones at all is the signature of real over-exposure (a product on a
      white background has its own darks, so 0);
    * ``clip`` = ``2 * (highlights_clipped - shadows_clipped)``.

    ``offset = w * (mid + clip) + 0.75 * (top + bot)`` with ``w = 0.2 + 0.4 * min(1, -top + bot)``:
    when the photo spans the full tonal range (top = bot = 0) a low or high median and clipped areas
    count for a fifth (low-key/high-key intent, specular highlights, black or white backgrounds);
    once the range is truncated at one end they count up to 0.6, on top of the truncation itself.
    Every term rises with scene exposure, so ``exposure`` rises monotonically with it; a flat image
    (one colour) gets the offset its colour implies. Measured on the shared test photos: as shot
    0.38-0.62 (0.46-0.53 for the evenly lit ones), a night street with a lit shop front 0.35, a sunlit
    white cliff 0.62, a photo's centre pasted on a 65-80 % pure-white background 0.64-0.67; the same
    photos at -3 EV 0.02-0.13, at +3 EV 0.37-0.97. Weaknesses: over-exposure of a photo that keeps
    large true blacks (a black suit, a night scene whose median is black) reads mild, because real
    black tones are also the product-shot evidence; a photo without true blacks (haze, a bright
    cliff) is read from its darkest 1 %, which resampling can move by ~0.1.

tiny images
    Below 8 px on the shortest side only the tone scores are computed; sharpness, noise and
    motion_blur are 0 (nothing to see at that size).

overall (documented combination, for sorting)
    ``overall = sharpness^0.5 * e^0.25 * (1 - noise)^0.1 * (1 - motion_blur)^0.15`` with
    ``e = 1 - 2 * |exposure - 0.5|`` (1 = well exposed, 0 = fully off). A weighted geometric mean: any
    one fatal flaw (no sharp detail, totally blown) drives it to 0, the weights say how much each
    matters for a keep/reject decision. Use the individual scores for specific culls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import cv2
import numpy as np

QUALITY_VERSION = "q1"
ANALYSIS_SIDE = 448

MIN_DETAIL_SIDE = 8  # below this shortest side (after downscaling) only the tone scores are computed
TILE = 75  # sharpness tile edge (px at analysis scale)
NOISE_BLOCK = 28  # noise block edge (px)
IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
BAND_SIGMA = 1.0  # Gaussian sigma (px at half scale) of the low-pass the motion band-pass subtracts
_IMMERKAER_SCALE = math.sqrt(math.pi / 2.0) / 6.0
_HI_CLIP, _LO_CLIP = 250, 5
_ANGLE_MIN_BLUR = 0.2
_ANISO_SHARP = 0.35  # band-pass anisotropy of sharp photos: 0.02-0.3 typical, 0.42 for strong strata
_LEVELS = np.arange(256, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class QualityScores:
    sharpness: float
    motion_blur: float
    motion_angle: float | None
    exposure: float
    highlights_clipped: float
    shadows_clipped: float
    brightness: float
    noise: float
    overall: float

    def as_payload(self) -> dict[str, float | None]:
        """Flat ``q_``-prefixed dict for the vector store payload, rounded to 4 decimals."""
        return {f"q_{k}": (None if v is None else round(float(v), 4)) for k, v in asdict(self).items()}

    @classmethod
    def from_payload(cls, d: Mapping[str, Any]) -> QualityScores:
        """Inverse of `as_payload` (missing motion_angle reads as None). Raises KeyError when a score is missing."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            v = d.get(f"q_{f.name}") if f.name == "motion_angle" else d[f"q_{f.name}"]
            values[f.name] = None if v is None else float(v)
        return cls(**values)


def score(pixels: np.ndarray) -> QualityScores:
    """Quality scores of an H x W x 3 uint8 RGB bitmap (see the module docstring). Raises ValueError."""
    if (
        not isinstance(pixels, np.ndarray)
        or pixels.dtype != np.uint8
        or pixels.ndim != 3
        or pixels.shape[2] != 3
    ):
        raise ValueError(
            "score() needs an H x W x 3 uint8 RGB array, got "
            + (f"{pixels.dtype} {pixels.shape}" if isinstance(pixels, np.ndarray) else type(pixels).__name__)
        )
    h, w = pixels.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f"score() needs a non-empty image, got {pixels.shape}")
    gray8 = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
    if min(h, w) > ANALYSIS_SIDE:
        gray8 = cv2.resize(gray8, analysis_size(h, w), interpolation=cv2.INTER_AREA)  # averages, no aliasing
    hist = cv2.calcHist([gray8], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    detail = None if min(gray8.shape) < MIN_DETAIL_SIDE else _detail_stats(gray8.astype(np.float32))
    return from_statistics(hist, detail)


@dataclass(frozen=True, slots=True)
class DetailStats:
    """What noise, sharpness and motion_blur read from the analysis-scale luma, reduced to a few hundred
    numbers. `score()` computes them with OpenCV, `quality_batch` on a torch device; `from_statistics` turns
    either into scores, so both paths share every formula past the per-pixel work."""

    noise_blocks: np.ndarray  # float32: mean |Immerkaer response| per NOISE_BLOCK cell, 1-px border left out
    block_luma: np.ndarray  # float32: mean luma per noise cell (the same cropped frame and grid)
    fine_energy: np.ndarray  # float32: mean squared Laplacian per TILE cell at the analysis scale
    half_energy: np.ndarray  # float32: mean squared Laplacian at half scale, on the same grid of cells
    jxx: float  # frame-wide structure tensor of the band-passed half-scale Sobel gradients
    jyy: float
    jxy: float


def from_statistics(hist: np.ndarray, detail: DetailStats | None) -> QualityScores:
    """Scores from the 256-bin luma histogram (float64 counts) and the detail statistics (None: the image is
    below MIN_DETAIL_SIDE, so sharpness, noise and motion_blur are 0)."""
    exposure, hi, lo, brightness = _exposure(hist)
    if detail is None:  # too small to see detail or noise: score only the tones
        sharp = noise = motion = 0.0
        angle = None
    else:
        sigma = _sigma(detail.noise_blocks, detail.block_luma)
        noise = sigma / (sigma + 4.0)
        sharp = _sharpness_from_tiles(detail.fine_energy, detail.half_energy, sigma)
        motion, angle = _motion_from_tensor(detail.jxx, detail.jyy, detail.jxy)

    e = 1.0 - 2.0 * abs(exposure - 0.5)
    overall = sharp**0.5 * max(e, 0.0) ** 0.25 * (1.0 - noise) ** 0.1 * (1.0 - motion) ** 0.15
    return QualityScores(
        sharpness=_unit(sharp),
        motion_blur=_unit(motion),
        motion_angle=angle,
        exposure=_unit(exposure),
        highlights_clipped=_unit(hi),
        shadows_clipped=_unit(lo),
        brightness=_unit(brightness),
        noise=_unit(noise),
        overall=_unit(overall),
    )


def analysis_size(h: int, w: int) -> tuple[int, int]:
    """(width, height) an h x w input is area-downscaled to when its shortest side exceeds ANALYSIS_SIDE."""
    f = ANALYSIS_SIDE / min(h, w)
    return max(1, round(w * f)), max(1, round(h * f))


def grid(shape: tuple[int, ...], edge: int) -> tuple[int, int]:
    """(columns, rows) of a grid of about `edge`-px cells covering an image of `shape` (rows, columns)."""
    return max(1, round(shape[1] / edge)), max(1, round(shape[0] / edge))


def _unit(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _block_means(a: np.ndarray, cells: tuple[int, int]) -> np.ndarray:
    # INTER_AREA to a small size is an exact block average when sizes divide, close otherwise; C speed.
    return cv2.resize(a, cells, interpolation=cv2.INTER_AREA).ravel()


def _detail_stats(gray: np.ndarray) -> DetailStats:
    noise_blocks, block_luma = _noise_blocks(gray)
    half = cv2.pyrDown(gray)
    fine, coarse = _tile_energy(gray, half)
    return DetailStats(noise_blocks, block_luma, fine, coarse, *_structure_tensor(half))


# The per-stage helpers below come in pairs, per-pixel statistics then the scalar formula, so that
# bench/bench_quality.py can time each stage (`_noise_sigma`, `_sharpness`, `_motion`) on its own.


def _noise_blocks(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    resp = np.abs(cv2.filter2D(gray, cv2.CV_32F, IMMERKAER, borderType=cv2.BORDER_REFLECT))
    # Drop the 1-px border the kernel cannot see honestly (reflected borders read as zero response).
    resp = resp[1:-1, 1:-1]
    cells = grid(resp.shape, NOISE_BLOCK)
    return _block_means(resp, cells), _block_means(gray[1:-1, 1:-1], cells)


def _sigma(noise_blocks: np.ndarray, block_luma: np.ndarray) -> float:
    sig = noise_blocks * _IMMERKAER_SCALE
    usable = sig[(block_luma > 16) & (block_luma < 239)]
    if usable.size >= 4:  # else the frame is mostly clipped: use every block rather than none
        sig = usable
    k = int(0.2 * (sig.size - 1))
    return float(np.partition(sig, k)[k])


def _noise_sigma(gray: np.ndarray) -> float:
    return _sigma(*_noise_blocks(gray))


def _tile_energy(gray: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cells = grid(gray.shape, TILE)
    fine = _block_means(np.square(cv2.Laplacian(gray, cv2.CV_32F, ksize=1)), cells)
    coarse = _block_means(np.square(cv2.Laplacian(half, cv2.CV_32F, ksize=1)), cells)
    return fine, coarse


def _sharpness_from_tiles(fine: np.ndarray, coarse: np.ndarray, sigma: float) -> float:
    # White noise of std s adds 20 s^2 to the mean squared 3x3 Laplacian; pyrDown leaves ~0.075 s^2 of
    # its variance, so 1.5 s^2 at half scale. Subtracting keeps grain from reading as detail.
    fine = np.sqrt(np.maximum(fine - 20.0 * sigma * sigma, 0.0))
    coarse = np.sqrt(np.maximum(coarse - 1.5 * sigma * sigma, 0.0))
    tiles = 0.6 * (1.0 - np.exp(-fine / 9.0)) + 0.4 * (1.0 - np.exp(-coarse / 14.0))
    k = max(1, tiles.size // 12)
    return float(np.mean(np.partition(tiles, tiles.size - k)[-k:]))


def _sharpness(gray: np.ndarray, half: np.ndarray, sigma: float) -> float:
    return _sharpness_from_tiles(*_tile_energy(gray, half), sigma)


def _structure_tensor(half: np.ndarray) -> tuple[float, float, float]:
    # Band-pass first: low frequencies survive any blur shorter than their wavelength and keep the scene's
    # own (mostly horizontal/vertical) edge statistics, which hide diagonal shake; the band a blur of a
    # few px kills everywhere except across its direction carries the signal.
    band = half - cv2.GaussianBlur(half, (0, 0), BAND_SIGMA)
    gx = cv2.Sobel(band, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(band, cv2.CV_32F, 0, 1, ksize=3)
    jxx = float(np.dot(gx.ravel(), gx.ravel()))
    jyy = float(np.dot(gy.ravel(), gy.ravel()))
    jxy = float(np.dot(gx.ravel(), gy.ravel()))
    return jxx, jyy, jxy


def _motion_from_tensor(jxx: float, jyy: float, jxy: float) -> tuple[float, float | None]:
    total = jxx + jyy
    # No detail to blur: below one squared grey level over the whole frame is rounding residue (a flat image's
    # band-pass is 0 up to float error, and float error has a direction), not structure.
    if total <= 1.0:
        return 0.0, None
    aniso = math.sqrt((jxx - jyy) ** 2 + 4.0 * jxy * jxy) / total
    motion = min(1.0, max(0.0, (aniso - _ANISO_SHARP) / 0.45))
    if motion < _ANGLE_MIN_BLUR:
        return motion, None
    # Dominant gradient orientation in image coordinates (y down); the blur runs perpendicular to it.
    grad = 0.5 * math.degrees(math.atan2(2.0 * jxy, jxx - jyy))
    blur_down = grad + 90.0
    angle = (-blur_down) % 180.0  # y up, counter-clockwise from +x
    return motion, round(angle, 2) % 180.0


def _motion(half: np.ndarray) -> tuple[float, float | None]:
    return _motion_from_tensor(*_structure_tensor(half))


def _srgb_to_linear(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _percentile(cdf: np.ndarray, q: float) -> float:
    """Luma level (0..1) at fraction q of the cumulative histogram, interpolated within the bin."""
    q = min(max(q, 1e-6), 1.0 - 1e-6)  # q = 0 or 1 (all clipped) means the first/last occupied level
    i = int(np.searchsorted(cdf, q, side="left"))
    i = min(i, 255)
    prev = cdf[i - 1] if i > 0 else 0.0
    frac = (q - prev) / (cdf[i] - prev) if cdf[i] > prev else 0.5
    return (i + min(1.0, max(0.0, frac))) / 256.0


def _stops(level: float, ref: float) -> float:
    return math.log2(max(_srgb_to_linear(level), 1e-5) / _srgb_to_linear(ref))


def _exposure(hist: np.ndarray) -> tuple[float, float, float, float]:
    n = float(hist.sum())
    cdf = np.cumsum(hist) / n
    brightness = float(np.dot(hist, _LEVELS) / n / 255.0)
    hi = float(hist[_HI_CLIP:].sum() / n)
    lo = float(hist[: _LO_CLIP + 1].sum() / n)
    mid = max(-3.0, min(3.0, _stops(_percentile(cdf, 0.5), 0.45)))
    # The extremes are read among the pixels that are not clipped at the other end: a product shot's
    # white background must not push its darkest 1 % into the product's mid-tones, nor a night
    # scene's black sky hide its lamps.
    top = max(-4.0, min(0.0, _stops(_percentile(cdf, 1.0 - 0.01 * (1.0 - lo)), 0.70)))
    bot = max(0.0, min(4.0, _stops(_percentile(cdf, 0.01 * (1.0 - hi)), 0.08)))
    clip = 2.0 * (hi - lo)
    w = 0.2 + 0.4 * min(1.0, -top + bot)
    offset = w * (mid + clip) + 0.75 * (top + bot)
    return 0.5 + 0.5 * math.tanh(offset / 2.5), hi, lo, brightness
