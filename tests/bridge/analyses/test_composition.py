"""Composition: horizon tilt recovered on rotated real photos, placement and edge cut on generated frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from bridge.analyses.composition import (
    COMPOSITION_VERSION,
    Composition,
    _luma,
    analyse,
    edge_cut,
    horizon_tilt,
    level_score,
    placement,
)
from bridge.analyses.kinds import compute, payload_fields, pixel_versions
from bridge.records import Stage

# Looked at: a green field whose far edge is a long straight horizon under a grey sky (Sony), and a farm
# track between wheat fields with a tree line on a flat horizon (Google Pixel).
HORIZON_PHOTOS = ("jpeg/Sony_DSC-HX5V_GPS.jpg", "jpeg/Google_Pixel_IMG_20180725_163423-tiny.jpg")


def _load(path: Path) -> np.ndarray:
    im = Image.open(path)
    im.draft("RGB", (1000, 750))
    return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def _rotate(px: np.ndarray, degrees: float) -> np.ndarray:
    """Rotated counter-clockwise by `degrees`, cropped to the inscribed rectangle (no filled corners)."""
    h, w = px.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    out = cv2.warpAffine(px, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    t = np.radians(abs(degrees))
    cw = min(w, int((w * np.cos(t) - h * np.sin(t)) * 0.95))
    ch = min(h, int((h * np.cos(t) - w * np.sin(t)) * 0.95))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(out[y0 : y0 + ch, x0 : x0 + cw])


@pytest.mark.parametrize("photo", HORIZON_PHOTOS)
def test_horizon_tilt_recovered_within_one_degree(shared_data: Path, photo: str) -> None:
    px = _load(shared_data / photo)
    base = horizon_tilt(_luma(px))
    assert base is not None and abs(base) < 3  # both are hand-held snapshots, close to level
    for angle in (-4.0, -1.0, 2.5, 5.0):
        got = horizon_tilt(_luma(_rotate(px, angle)))
        assert got is not None
        assert abs((got - base) - angle) < 1.0, (photo, angle, got, base)


def test_no_horizon_in_a_flat_or_textured_frame() -> None:
    assert horizon_tilt(np.full((300, 400), 128, np.uint8)) is None
    noise = np.random.default_rng(1).integers(0, 255, (300, 400), dtype=np.uint8)
    assert horizon_tilt(noise) is None
    assert level_score(None) == 1.0
    assert level_score(0.3) == 1.0 and level_score(-6) == 0.0 and 0.4 < level_score(2.75) < 0.6


def _frame_with_disc(cx: float, cy: float, r: int = 30, size: tuple[int, int] = (600, 900)) -> np.ndarray:
    h, w = size
    rng = np.random.default_rng(0)
    px = np.clip(rng.normal(120, 3, (h, w, 3)), 0, 255).astype(np.uint8)
    cv2.circle(px, (int(cx * w), int(cy * h)), r, (250, 40, 40), -1)
    return px


def test_placement_favours_thirds_over_centre_and_corner() -> None:
    on_third = analyse(_frame_with_disc(1 / 3, 1 / 3))
    centred = analyse(_frame_with_disc(0.5, 0.5))
    corner = analyse(_frame_with_disc(0.93, 0.9))
    assert on_third.subject_center is not None
    assert abs(on_third.subject_center[0] - 1 / 3) < 0.05 and abs(on_third.subject_center[1] - 1 / 3) < 0.05
    assert on_third.thirds > 0.85
    assert 0.4 < centred.thirds < 0.6
    assert corner.thirds < centred.thirds
    assert placement((2 / 3, 1 / 3)) == pytest.approx(1.0)
    assert placement((0.0, 0.0)) == pytest.approx(0.0)


def test_edge_cut_for_a_sliced_subject_and_for_boxes() -> None:
    clear = analyse(_frame_with_disc(0.5, 0.5, r=60))
    sliced = analyse(_frame_with_disc(0.99, 0.5, r=60))
    assert clear.edge_cut == 0.0
    assert sliced.edge_cut > 0.5
    # a face box cut in half by the right edge, one clear of every edge
    assert edge_cut([(0.9, 0.4, 1.0, 0.6)], aspect=1.5) == pytest.approx(1.0)
    assert edge_cut([(0.4, 0.4, 0.6, 0.6)], aspect=1.5) == 0.0
    assert 0 < edge_cut([(0.4, 0.0, 0.6, 0.05)], aspect=1.0) <= 1.0


def test_registered_as_a_pixel_kind_with_payload_fields() -> None:
    assert pixel_versions()[Stage.COMPOSITION] == COMPOSITION_VERSION
    data = compute(Stage.COMPOSITION, _frame_with_disc(1 / 3, 2 / 3))
    back = Composition.from_payload(data)
    assert back.thirds == pytest.approx(data["c_thirds"])
    fields = payload_fields({Stage.COMPOSITION: data})
    assert set(fields) == {"c_level", "c_thirds", "c_edge_cut", "c_tilt_deg"}
    flat = compute(Stage.COMPOSITION, np.full((200, 300, 3), 90, np.uint8))
    assert flat["c_subject"] is None and flat["c_thirds"] == 0.5 and flat["c_tilt_deg"] is None
