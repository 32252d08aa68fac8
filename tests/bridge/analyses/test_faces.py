"""Faces on real photos from ../shared/data and on edits of them: counts where a person can see faces,
eyes-open lower on an eyes-closed edit of the same face, face sharpness falling on a blur ladder applied
to the face only, faces found after EXIF rotation. Real dlib models (the `faces` extra); skipped without."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from bridge.analyses import faces
from bridge.analyses.faces import FaceOptions
from bridge.analyses.kinds import compute, face_versions, payload_fields
from bridge.indexing.decode import decode_image

pytestmark = pytest.mark.skipif(not faces.available(), reason="the faces extra (dlib) is not installed")

# What a person sees in each shared photo, and what the default (HOG, frontal) detector finds at the
# indexer's decode size. HOG misses profiles and small faces; the CNN detector's counts are in the slow test.
# file: (faces a person can see, HOG finds, CNN finds)
EXPECTED = {
    "png/photo_portrait_astronaut.png": (1, 1, 1),  # Eileen Collins, frontal
    "jpeg/immich_portrait-orientation-6.jpg": (2, 1, 2),  # the Curies after rotation: Marie frontal, Pierre in profile
    "tiff/DudleyLeavittUtah.tiff": (1, 1, 1),  # an old frontal portrait, 196 x 257
    "png/photo_grayscale_camera.png": (1, 0, 1),  # the cameraman, in profile at the eyepiece
    "jpeg/Minolta_DiMAGE_X.jpg": (2, 0, 0),  # the Curies again, ~35 px faces at 640 x 480: too small for both
    "png/photo_animal_chelsea_cat.png": (0, 0, 0),  # a cat
    "jpeg/orientation/recurser_Landscape_1.jpg": (0, 0, 0),  # a waterfall
    "jpeg/orientation/ianare_portrait_1.jpg": (0, 0, 0),  # a waterfall in portrait orientation, no people
}
FACE_PHOTOS = ("png/photo_portrait_astronaut.png", "jpeg/immich_portrait-orientation-6.jpg", "tiff/DudleyLeavittUtah.tiff")


def bitmap(shared_data: Path, rel: str) -> np.ndarray:
    return decode_image(shared_data / rel).pixels  # what the decode worker hands the analysis


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_hog_finds_the_faces_a_person_sees_frontally(shared_data, rel):
    result = faces.analyse(bitmap(shared_data, rel))
    assert len(result.faces) == EXPECTED[rel][1]
    for f in result.faces:
        x0, y0, x1, y1 = f.box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert len(f.embedding) == 128
        assert 0 <= f.eyes_open <= 1 and 0 <= f.sharpness <= 1
        for x, y in f.eyes:  # the eyes lie inside the face's box
            assert x0 <= x <= x1 and y0 <= y <= y1


@pytest.mark.slow
@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_cnn_also_finds_profiles(shared_data, rel):
    result = faces.analyse(bitmap(shared_data, rel), FaceOptions(detector="cnn"))
    assert len(result.faces) == EXPECTED[rel][2]


def test_faces_are_found_after_exif_rotation(shared_data):
    """immich_portrait-orientation-6.jpg is stored sideways (Orientation 6): the decoded bitmap is upright
    and its face is found; the stored pixels, unrotated, show no upright face."""
    rel = "jpeg/immich_portrait-orientation-6.jpg"
    upright = bitmap(shared_data, rel)
    stored = np.asarray(Image.open(shared_data / rel).convert("RGB"))
    assert stored.shape[:2] == upright.shape[1::-1]
    assert len(faces.analyse(stored).faces) == 0
    found = faces.analyse(upright).faces
    assert len(found) == 1
    x0, y0, x1, y1 = found[0].box  # Marie Curie, left of centre, upper half
    assert x1 < 0.5 and y1 < 0.5


def eye_corners(pixels: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The first face's 5 landmarks (x, y) and the corner distance."""
    rect, _ = faces.detect(pixels)[0]
    shape = faces._shape5()(pixels, rect)
    pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return pts, float(np.linalg.norm(pts[1] - pts[0])), float(np.linalg.norm(pts[3] - pts[2]))


def close_eyes(pixels: np.ndarray) -> np.ndarray:
    """An eyes-closed edit: each eye's region replaced, through a feathered ellipse, by skin cut from the
    same face's cheek just below it."""
    pts, *_ = eye_corners(pixels)
    out = pixels.copy()
    for i, j in ((0, 1), (2, 3)):
        a, b = pts[i], pts[j]
        c, d = (a + b) / 2, float(np.linalg.norm(b - a))
        hw, hh, dy = int(0.85 * d), int(0.6 * d), int(1.6 * d)
        x0, y0, x1, y1 = int(c[0]) - hw, int(c[1]) - hh, int(c[0]) + hw, int(c[1]) + hh
        skin = pixels[y0 + dy : y1 + dy, x0:x1].astype(np.float32)
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.ellipse(mask, ((x1 - x0) // 2, (y1 - y0) // 2), ((x1 - x0) // 2 - 1, (y1 - y0) // 2 - 1), 0, 0, 360, 1, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, d * 0.08))[..., None]
        out[y0:y1, x0:x1] = (mask * skin + (1 - mask) * out[y0:y1, x0:x1]).astype(np.uint8)
    return out


@pytest.mark.parametrize("rel", FACE_PHOTOS)
def test_eyes_open_is_lower_with_the_eyes_replaced_by_skin(shared_data, rel):
    pixels = bitmap(shared_data, rel)
    pts, *_ = eye_corners(pixels)
    closed = close_eyes(pixels)
    opened = faces.analyse(pixels).faces[0]
    assert opened.eyes_open >= 0.9
    # Measured at the same landmarks (the edit must not move the eyes)...
    gray_open = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    gray_closed = cv2.cvtColor(closed, cv2.COLOR_RGB2GRAY)
    import dlib

    rect, _ = faces.detect(pixels)[0]
    chip = np.asarray(dlib.get_face_chip(pixels, faces._shape5()(pixels, rect), faces.CHIP_SIZE, faces.CHIP_PADDING))
    ref = float(np.subtract(*np.percentile(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), [95, 5])))

    def face_score(gray: np.ndarray) -> float:
        return max(faces.eye_openness(gray, pts[i], pts[j], ref) for i, j in ((0, 1), (2, 3)))

    assert face_score(gray_open) >= 0.9
    assert face_score(gray_closed) <= 0.5
    # ...and end to end, where the detector still finds the edited face
    edited = faces.analyse(closed).faces
    if edited:
        assert edited[0].eyes_open < opened.eyes_open - 0.4


@pytest.mark.parametrize("rel", FACE_PHOTOS[:2])
def test_face_sharpness_falls_on_a_blur_ladder_applied_to_the_face_only(shared_data, rel):
    pixels = bitmap(shared_data, rel)
    rect, _ = faces.detect(pixels)[0]
    pad = int(0.3 * rect.width())
    ys = slice(max(0, rect.top() - pad), rect.bottom() + pad)
    xs = slice(max(0, rect.left() - pad), rect.right() + pad)
    ladder = []
    for sigma in (0, 1, 2, 3):
        img = pixels.copy()
        if sigma:
            img[ys, xs] = cv2.GaussianBlur(pixels, (0, 0), sigma)[ys, xs]
        found = faces.analyse(img, FaceOptions(embed=False)).faces
        assert found, f"the face blurred by {sigma} px was not found"
        ladder.append(found[0].sharpness)
    assert ladder == sorted(ladder, reverse=True) and len(set(ladder)) == 4, ladder
    assert ladder[0] > 0.5 and ladder[-1] < 0.35


def test_a_sharp_face_on_a_soft_background_is_sharp(shared_data):
    pixels = bitmap(shared_data, "png/photo_portrait_astronaut.png")
    rect, _ = faces.detect(pixels)[0]
    soft = cv2.GaussianBlur(pixels, (0, 0), 4)
    pad = int(0.3 * rect.width())
    ys, xs = slice(rect.top() - pad, rect.bottom() + pad), slice(rect.left() - pad, rect.right() + pad)
    soft[ys, xs] = pixels[ys, xs]
    sharp_alone = faces.analyse(soft, FaceOptions(embed=False)).faces[0].sharpness
    as_shot = faces.analyse(pixels, FaceOptions(embed=False)).faces[0].sharpness
    assert abs(sharp_alone - as_shot) < 0.05


def test_payload_fields_and_stored_form(shared_data):
    version = face_versions(True)["faces"]
    data = compute("faces", bitmap(shared_data, "png/photo_portrait_astronaut.png"), version)
    assert set(data) == {"faces", "size", "detector"} and len(data["faces"]) == 1
    fields = payload_fields({"faces": data})
    assert fields["face_count"] == 1
    assert fields["eyes_open"] == data["faces"][0]["eyes_open"]
    assert fields["face_sharpness"] == data["faces"][0]["sharpness"]
    none = payload_fields({"faces": {"faces": [], "size": [10, 10], "detector": "hog"}})
    assert none == {"face_count": 0, "eyes_open": None, "face_sharpness": None}
    assert payload_fields({"people": {"names": ["Zoe", "adam"]}}) == {
        "persons": ["Zoe", "adam"],
        "persons_lc": ["zoe", "adam"],
    }


def test_options_travel_in_the_version():
    assert FaceOptions().version == "f1"
    for opts in (FaceOptions(detector="cnn"), FaceOptions(upsample=1, eye_method="landmarks68"), FaceOptions(embed=False)):
        assert FaceOptions.from_version(opts.version) == opts
    assert face_versions(False) == {}
    assert face_versions(True, "cnn") == {"faces": "f1:cnn"}


def test_the_68_point_model_is_opt_in(shared_data):
    faces._shape68.cache_clear()
    faces.analyse(bitmap(shared_data, "png/photo_portrait_astronaut.png"))
    assert faces._shape68.cache_info().currsize == 0  # the default never loads it
    got = faces.analyse(bitmap(shared_data, "png/photo_portrait_astronaut.png"), FaceOptions(eye_method="landmarks68"))
    assert faces._shape68.cache_info().currsize == 1
    assert got.faces[0].eyes_open > 0.5
