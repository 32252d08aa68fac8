"""Composition scores for culling: horizon tilt, subject placement against the thirds, subject cut by the edge.

Pure numpy/OpenCV (no torch, no model): this runs in the decode worker processes on the decoded bitmap, like
`quality`. `analyse(pixels)` takes an H x W x 3 uint8 RGB array and returns `Composition`; `as_payload()` gives
the stored form (`c_*` fields). `COMPOSITION_VERSION` changes whenever a score's meaning changes.
Cost: ~26 ms CPU per 448 px bitmap on one core (the horizon's structure tensor ~20 ms, saliency ~5 ms;
`quality` is ~5 ms), measured on the shared test photos on a loaded 2-core box; setting `composition = false`
turns the stage off. Measuring the tilt at 240 or 336 px instead lost the 1 deg accuracy on a real photo.

Analysis frame
    As `quality`: inputs whose shortest side exceeds ``ANALYSIS_SIDE`` (448 px) are area-downscaled first, and
    every measure reads the BT.601 luma. Positions are fractions of the frame (x right, y down, 0..1).

tilt_deg, level (horizon tilt)
    The dominant near-horizontal straight edge, from the structure tensor: Scharr gradients of the lightly
    blurred luma, their tensor averaged over a Gaussian window (sigma 3 px), and at each pixel the edge
    direction (across the dominant gradient) weighted by ``(l1 - l2) * coherence^2`` (coherence
    ``(l1 - l2) / (l1 + l2)``), so long straight edges count and texture hardly does. Directions within
    +-``MAX_TILT_DEG`` (20 deg) of horizontal go into a weighted histogram (0.25 deg bins, Gaussian-smoothed,
    sigma 0.5 deg); its peak must stand ``MIN_PROMINENCE`` (2.5) times above the histogram's median, else
    there is no horizon; the tilt is the weighted mean of the directions within 1 deg of the peak (frames
    under 160 px: None). ``tilt_deg`` is signed like
    `quality.motion_angle`: degrees counter-clockwise with y pointing up (positive = the right end is
    higher; rotate the photo clockwise by ``tilt_deg`` to level it); None when the frame has no such line
    (no horizon: a portrait against a wall, a macro). ``level = 1 - clip((|tilt| - 0.5) / 4.5, 0, 1)``:
    1 = level within half a degree (or no horizon found), 0 = tilted by 5 deg or more. Tilts up to 20 deg are
    measured; a steeper line is taken for a slope or an intentional Dutch angle, not a horizon.
    Measured: a horizon rotated by a known angle is recovered within 1 deg (tests). Weakness: a strong
    sloping line (a roof, a road) longer than the true horizon wins; the vertical lines of buildings are not
    used (perspective tilts them on purpose).

subject, thirds (subject placement)
    The subject is the largest connected region of a spectral-residual saliency map (Hou & Zhang 2007, on a
    64 px wide copy: log-amplitude spectrum minus its 3 x 3 mean, back-transformed with the original phase,
    squared, Gaussian-smoothed), thresholded at 3x its mean; ``subject`` is that region's box (x0, y0, x1,
    y1) and ``subject_center`` its saliency-weighted centroid. Face boxes, when a faces analysis found some,
    replace it (`placement` and `edge_cut` take boxes, so culling applies them to the faces' boxes).
    ``thirds = 1 - d / D``, d the distance of the subject's centre from the nearest intersection of the thirds
    lines (in frame fractions), D = 0.4714 the largest such distance (a corner): 1 = on a thirds
    intersection, ~0.5 = dead centre, 0 = in a corner. No subject found (a flat frame): 0.5.

edge_cut (subject cut by the frame edge)
    ``edge_cut = clip(L / sqrt(A), 0, 1)``: L the length of the frame border the subject touches (pixels of
    the outermost rows and columns inside the subject region, or for a box the length of its sides lying on
    the border), A the subject's area. 0 = the subject is clear of the edges; 1 = a whole side of the subject
    is sliced off by the frame (a face cut in half by the right edge). No subject: 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

COMPOSITION_VERSION = "c1"
ANALYSIS_SIDE = 448
MAX_TILT_DEG = 20.0
MIN_TILT_SIDE = 160  # smaller frames give no reliable angle
MIN_PROMINENCE = 2.5  # the peak of the angle histogram over its median
SALIENCY_WIDTH = 64
_POWER_POINTS = np.array([(x, y) for x in (1 / 3, 2 / 3) for y in (1 / 3, 2 / 3)])
_MAX_THIRDS_DISTANCE = math.hypot(1 / 3, 1 / 3)

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the frame


@dataclass(frozen=True, slots=True)
class Composition:
    tilt_deg: float | None
    level: float
    thirds: float
    edge_cut: float
    subject: Box | None
    subject_center: tuple[float, float] | None

    def as_payload(self) -> dict[str, Any]:
        return {
            "c_tilt_deg": None if self.tilt_deg is None else round(self.tilt_deg, 2),
            "c_level": round(self.level, 4),
            "c_thirds": round(self.thirds, 4),
            "c_edge_cut": round(self.edge_cut, 4),
            "c_subject": None if self.subject is None else [round(v, 4) for v in self.subject],
            "c_subject_center": None
            if self.subject_center is None
            else [round(v, 4) for v in self.subject_center],
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Composition:
        subject = data.get("c_subject")
        center = data.get("c_subject_center")
        return cls(
            tilt_deg=data.get("c_tilt_deg"),
            level=float(data.get("c_level", 1.0)),
            thirds=float(data.get("c_thirds", 0.5)),
            edge_cut=float(data.get("c_edge_cut", 0.0)),
            subject=None if subject is None else (subject[0], subject[1], subject[2], subject[3]),
            subject_center=None if center is None else (center[0], center[1]),
        )


def analyse(pixels: np.ndarray) -> Composition:
    """Composition of one H x W x 3 uint8 RGB bitmap (see the module docstring)."""
    gray = _luma(pixels)
    tilt = horizon_tilt(gray)
    subject, center, mask = salient_subject(gray)
    if subject is None or center is None or mask is None:
        thirds, cut = 0.5, 0.0
    else:
        thirds = placement(center)
        cut = _mask_edge_cut(mask)
    return Composition(tilt, level_score(tilt), thirds, cut, subject, center)


def level_score(tilt_deg: float | None) -> float:
    """1 = level within 0.5 deg (or no horizon), 0 = tilted 5 deg or more."""
    if tilt_deg is None:
        return 1.0
    return float(1.0 - np.clip((abs(tilt_deg) - 0.5) / 4.5, 0.0, 1.0))


def placement(center: tuple[float, float]) -> float:
    """1 = on a thirds intersection, ~0.5 = centred, 0 = in a corner (centre as frame fractions)."""
    d = float(np.min(np.hypot(*(_POWER_POINTS - np.asarray(center)).T)))
    return float(np.clip(1.0 - d / _MAX_THIRDS_DISTANCE, 0.0, 1.0))


def box_center(boxes: Sequence[Box]) -> tuple[float, float]:
    """Area-weighted centre of several subject boxes (a group of faces)."""
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    area = np.maximum((arr[:, 2] - arr[:, 0]) * (arr[:, 3] - arr[:, 1]), 1e-9)
    cx = (arr[:, 0] + arr[:, 2]) / 2
    cy = (arr[:, 1] + arr[:, 3]) / 2
    return float(np.average(cx, weights=area)), float(np.average(cy, weights=area))


def edge_cut(boxes: Sequence[Box], aspect: float = 1.0, margin: float = 0.005) -> float:
    """The worst edge cut among subject boxes (frame fractions; `aspect` = width / height of the frame).
    A side within `margin` of the frame's border, or beyond it, lies on the border."""
    worst = 0.0
    for x0, y0, x1, y1 in boxes:
        # in units of the frame height, so that lengths along x and y compare
        bx0, bx1 = max(x0, 0.0) * aspect, min(x1, 1.0) * aspect
        by0, by1 = max(y0, 0.0), min(y1, 1.0)
        w, h = bx1 - bx0, by1 - by0
        if w <= 0 or h <= 0:
            continue
        on = 0.0
        on += h if x0 <= margin else 0.0
        on += h if x1 >= 1 - margin else 0.0
        on += w if y0 <= margin else 0.0
        on += w if y1 >= 1 - margin else 0.0
        worst = max(worst, on / math.sqrt(w * h))
    return float(min(worst, 1.0))


def _luma(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim != 3 or pixels.shape[2] < 3:
        raise ValueError(f"expected an H x W x 3 RGB bitmap, got shape {pixels.shape}")
    h, w = pixels.shape[:2]
    short = min(h, w)
    if short > ANALYSIS_SIDE:
        scale = ANALYSIS_SIDE / short
        pixels = cv2.resize(
            pixels[:, :, :3], (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    return cv2.cvtColor(np.ascontiguousarray(pixels[:, :, :3]), cv2.COLOR_RGB2GRAY)


def horizon_tilt(gray: np.ndarray) -> float | None:
    """Signed tilt in degrees of the dominant near-horizontal line of a luma image, None without one."""
    h, w = gray.shape
    if min(h, w) < MIN_TILT_SIDE:
        return None
    g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Scharr(g, cv2.CV_32F, 1, 0)
    gy = cv2.Scharr(g, cv2.CV_32F, 0, 1)
    jxx = cv2.GaussianBlur(gx * gx, (0, 0), 3.0)
    jyy = cv2.GaussianBlur(gy * gy, (0, 0), 3.0)
    jxy = cv2.GaussianBlur(gx * gy, (0, 0), 3.0)
    spread = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2)  # l1 - l2
    coherence = spread / (jxx + jyy + 1e-6)
    # the edge runs across the dominant gradient; y points down in the image, angles count with y up
    edge = -(0.5 * np.degrees(np.arctan2(2 * jxy, jxx - jyy)) + 90.0)
    edge = (edge + 90.0) % 180.0 - 90.0
    weight = spread * coherence**2
    keep = np.abs(edge) <= MAX_TILT_DEG
    b = 6  # the blur's border
    keep[:b, :] = keep[-b:, :] = False
    keep[:, :b] = keep[:, -b:] = False
    if not keep.any():
        return None
    step = 0.25
    bins = np.arange(-MAX_TILT_DEG, MAX_TILT_DEG + step, step)
    hist, _ = np.histogram(edge[keep], bins=bins, weights=weight[keep])
    kernel = np.exp(-0.5 * (np.arange(-8, 9) * step / 0.5) ** 2)
    hist = np.convolve(hist, kernel / kernel.sum(), mode="same")
    i = int(np.argmax(hist))
    if hist[i] < MIN_PROMINENCE * (float(np.median(hist)) + 1e-9):
        return None  # no line family stands out: no horizon
    peak = bins[i] + step / 2
    sel = keep & (np.abs(edge - peak) <= 1.0)
    return float(np.average(edge[sel], weights=weight[sel]))


def saliency(gray: np.ndarray) -> np.ndarray:
    """Spectral-residual saliency of a luma image at `SALIENCY_WIDTH` px wide, normalised to [0, 1]."""
    h, w = gray.shape
    sw = SALIENCY_WIDTH
    sh = max(8, round(h * sw / w))
    small = cv2.resize(gray, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float64)
    spec = np.fft.fft2(small)
    log_amp = np.log(np.abs(spec) + 1e-9)
    phase = np.angle(spec)
    residual = log_amp - cv2.blur(log_amp, (3, 3), borderType=cv2.BORDER_REPLICATE)
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    sal = cv2.GaussianBlur(sal, (0, 0), 2.5)
    top = float(sal.max())
    return sal / top if top > 0 else sal


def salient_subject(
    gray: np.ndarray,
) -> tuple[Box | None, tuple[float, float] | None, np.ndarray | None]:
    """The largest salient region: its box, its saliency-weighted centre, and its mask on the saliency grid."""
    if float(gray.std()) < 1.0:  # a flat frame has no subject
        return None, None, None
    sal = saliency(gray)
    mask = (sal > 3.0 * sal.mean()).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return None, None, None
    # the component holding the most saliency
    mass = np.bincount(labels.ravel(), weights=sal.ravel(), minlength=n)
    best = 1 + int(np.argmax(mass[1:]))
    region = labels == best
    sh, sw = sal.shape
    x, y, bw, bh = (int(v) for v in stats[best, :4])
    box = (x / sw, y / sh, (x + bw) / sw, (y + bh) / sh)
    ys, xs = np.nonzero(region)
    wts = sal[ys, xs]
    center = (float(np.average(xs + 0.5, weights=wts) / sw), float(np.average(ys + 0.5, weights=wts) / sh))
    return box, center, region


def _mask_edge_cut(region: np.ndarray) -> float:
    area = float(region.sum())
    if area <= 0:
        return 0.0
    border = float(region[0, :].sum() + region[-1, :].sum() + region[:, 0].sum() + region[:, -1].sum())
    return float(min(1.0, border / math.sqrt(area)))
