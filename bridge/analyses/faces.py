"""Faces in a photo: boxes, per-face sharpness, an eyes-open score and a 128-d face embedding (dlib).

Runs in the decode workers on the bitmap already decoded for the embedding (shortest side ~448-896 px,
orientation applied), like `quality`. Needs the optional `faces` extra (`dlib-bin`,
`face-recognition-models`); `available()` says whether it is installed and `analyse` is never called
without it (the indexer skips the stage and says "faces: not installed").

Models (all from the `face-recognition-models` package, licences in `bridge/analyses/README.md`)
    detector   dlib's HOG + linear SVM frontal face detector (built into dlib; default, ~30-60 ms per
               bitmap on one core; detections with an SVM margin under `HOG_MIN_SCORE` = 0.18 dropped;
               bitmaps under `SMALL_SIDE` px upsampled once) or the MMOD CNN detector (`mmod_human_face_detector.dat`; finds profile
               and tilted faces HOG misses, ~2-4 s per bitmap on one CPU core: the `dlib-bin` wheel has no
               CUDA). Setting `face_detector = "hog" | "cnn"`.
    landmarks  the 5-point model (eye corners and the base of the nose; public domain) locates the eyes
               and aligns the face. The 68-point model (trained on iBUG 300-W, whose licence excludes
               commercial use) is used only when `eye_state_method = "landmarks68"` is set explicitly.
    embedding  dlib's ResNet face recognition model: 128 floats, unit-scale; two faces of one person are
               usually closer than 0.6 (Euclidean), which `people.py` clusters on.

Per face (stored in the ledger's `analyses` table, kind `faces`)
    box        [x0, y0, x1, y1] as fractions of the oriented bitmap's width and height (clipped to [0, 1])
    score      the detector's confidence (HOG: SVM margin, > 0; CNN: MMOD confidence)
    eyes       [[x, y], [x, y]]: the centres of the two eyes (mean of each eye's two corner landmarks),
               as fractions of width and height; the person's left eye first as it appears in the image
    sharpness  in [0, 1]: ``0.6 * eye_sharpness + 0.4 * face_region_sharpness`` (below)
    eyes_open  in [0, 1]: the better of the two eyes' openness scores (below)
    embedding  128 floats (4 decimals)

face_region_sharpness, eye_sharpness (contrast-normalised Laplacian energy on a fixed-scale face)
    The face is cut out aligned by its 5 landmarks at a fixed scale (dlib's `get_face_chip`, 150 px,
    padding 0.25), so a sharp face reads sharp whatever its size in the frame and whatever the
    background does. The Laplacian's RMS over the chip's inner region (face region) and over the two
    eye bands (eye region) is divided by the region's luma standard deviation (so exposure and skin
    tone do not count) and mapped ``1 - exp(-r / 0.1)``. Measured on the shared test faces
    (astronaut, Marie Curie in the 1900s photo, the Dudley Leavitt portrait) as they are: 0.85, 0.61,
    0.51 (old prints and a face of 70 px upscaled to the chip read softer); the face alone blurred with
    sigma 1, 2, 4 px: 0.52 / 0.30 / 0.20, 0.35 / 0.18 / 0.11, 0.32 / 0.20 / - (not detected any more),
    strictly falling (`tests/bridge/analyses/test_faces.py`).

eyes_open (vertical gradient energy in the eye opening; no 68-point model)
    Each eye is resampled into a 48 x 32 patch along the line through its two corners (1.5 x the
    corner distance wide, 0.75 x as tall), and its core (the middle 60 % of the width, 40 % of the
    height: the eye opening) is kept. An open eye shows lids, sclera, iris and pupil stacked across
    the opening: strong changes from row to row. Closed, the core is skin with at most one lash line.
    ``gy`` = the mean absolute difference between neighbouring rows of the core / the face chip's
    5-95 % luma range (so exposure and skin tone do not count). Calibrated on the shared test faces
    and their eyes-closed edits (eye region replaced by skin from the same face's cheek): open eyes
    0.047-0.075 (one eye in deep shadow 0.022), closed 0.013-0.032. An eye scores
    ``ramp(gy, 0.02, 0.05)`` (``ramp(x, a, b)`` rises linearly from 0 at a to 1 at b) and the face's
    ``eyes_open`` is the better of its two eyes: a blink closes both, while one eye in shadow, hair or
    profile must not read as a blink (a wink reads open). Weaknesses: a strongly blurred face loses its
    row-to-row contrast and reads less open (0.3-0.6 at a 2 px blur); sunglasses read closed;
    calibrated on few faces. With `eye_state_method = "landmarks68"` (opt-in, see the licence note) each
    eye scores its eye aspect ratio instead (Soukupová & Čech 2016): ``ramp(EAR, 0.15, 0.27)``.
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import cv2
import numpy as np

FACES_VERSION = "f1"
DETECTORS = ("hog", "cnn")
EYE_METHODS = ("profile", "landmarks68")
CHIP_SIZE = 150
CHIP_PADDING = 0.25
SHARPNESS_SCALE = 0.1
GY_CLOSED, GY_OPEN = 0.02, 0.05
# HOG detections below this SVM margin are dropped: on the shared photos (and their crops, exposures,
# rotations, re-encodes) real faces scored 0.2-2.5 and the false ones (a mission patch on a spacesuit)
# 0.06-0.17. dlib's own default, 0, keeps those. A thin margin: a tilted face in a small old print is at 0.2.
HOG_MIN_SCORE = 0.18
# Bitmaps whose shorter side is under this (small originals: the decoder never upscales) are searched one
# pyramid level up as well: cheap at that size, and small faces there score twice as high (0.44 -> 0.88).
SMALL_SIDE = 400
EYE_PATCH = (48, 32)  # width, height
INSTALL_HINT = "pip install 'pixel-detective[faces]'"


@dataclass(frozen=True, slots=True)
class FaceOptions:
    detector: str = "hog"  # hog | cnn
    upsample: int = 0  # detector upsampling: 1 finds faces down to ~40 px at ~5x the time
    eye_method: str = "profile"  # profile | landmarks68 (opt-in: non-commercial training data)
    embed: bool = True

    @property
    def version(self) -> str:
        """The stage version: `f1` for the defaults, options appended when they differ (`f1:cnn:up1`)."""
        parts = [FACES_VERSION]
        if self.detector != "hog":
            parts.append(self.detector)
        if self.upsample:
            parts.append(f"up{self.upsample}")
        if self.eye_method != "profile":
            parts.append("lm68")
        if not self.embed:
            parts.append("noemb")
        return ":".join(parts)

    @classmethod
    def from_version(cls, version: str) -> FaceOptions:
        parts = version.split(":")[1:] if version else []
        up = next((int(p[2:]) for p in parts if p.startswith("up") and p[2:].isdigit()), 0)
        return cls(
            detector="cnn" if "cnn" in parts else "hog",
            upsample=up,
            eye_method="landmarks68" if "lm68" in parts else "profile",
            embed="noemb" not in parts,
        )


@dataclass(frozen=True, slots=True)
class Face:
    box: tuple[float, float, float, float]
    score: float
    eyes: tuple[tuple[float, float], tuple[float, float]]
    sharpness: float
    eye_sharpness: float
    face_region_sharpness: float
    eyes_open: float
    eyes_open_each: tuple[float, float]
    embedding: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "box": [round(v, 4) for v in self.box],
            "score": round(self.score, 3),
            "eyes": [[round(x, 4), round(y, 4)] for x, y in self.eyes],
            "sharpness": round(self.sharpness, 4),
            "eye_sharpness": round(self.eye_sharpness, 4),
            "face_region_sharpness": round(self.face_region_sharpness, 4),
            "eyes_open": round(self.eyes_open, 4),
            "eyes_open_each": [round(v, 4) for v in self.eyes_open_each],
            "embedding": [round(v, 4) for v in self.embedding],
        }


@dataclass(frozen=True, slots=True)
class FaceResult:
    faces: tuple[Face, ...]
    size: tuple[int, int]  # the analysed bitmap's width and height
    detector: str = "hog"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"faces": [f.to_json() for f in self.faces], "size": list(self.size), "detector": self.detector}


# --- models --------------------------------------------------------------------------------------------


def available() -> bool:
    """Whether dlib and the model files are installed (the `faces` extra)."""
    return importlib.util.find_spec("dlib") is not None and _models_dir() is not None


def _models_dir() -> str | None:
    # The package's own __init__ imports pkg_resources (gone from recent setuptools): find its files
    # without running it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = os.path.join(next(iter(spec.submodule_search_locations)), "models")
    return d if os.path.isdir(d) else None


def _model(name: str) -> str:
    d = _models_dir()
    if d is None:
        raise RuntimeError(f"the face models are not installed ({INSTALL_HINT})")
    return os.path.join(d, name)


def load_dlib() -> Any:
    """dlib (no type information: an untyped module, its values Any), imported on first use."""
    return importlib.import_module("dlib")


@cache
def _hog() -> Any:
    dlib = load_dlib()

    return dlib.get_frontal_face_detector()


@cache
def _cnn() -> Any:
    return load_dlib().cnn_face_detection_model_v1(_model("mmod_human_face_detector.dat"))


@cache
def _shape5() -> Any:
    return load_dlib().shape_predictor(_model("shape_predictor_5_face_landmarks.dat"))


@cache
def _shape68() -> Any:
    return load_dlib().shape_predictor(_model("shape_predictor_68_face_landmarks.dat"))


@cache
def _encoder() -> Any:
    return load_dlib().face_recognition_model_v1(_model("dlib_face_recognition_resnet_model_v1.dat"))


# --- analysis ------------------------------------------------------------------------------------------


def detect(pixels: np.ndarray, options: FaceOptions = FaceOptions()) -> list[tuple[Any, float]]:
    """dlib rectangles with their detector scores, best first."""
    img = np.ascontiguousarray(pixels)
    if options.detector == "cnn":
        found = [(d.rect, float(d.confidence)) for d in _cnn()(img, options.upsample)]
    else:
        up = options.upsample + (1 if min(img.shape[:2]) < SMALL_SIDE else 0)
        rects, scores, _ = _hog().run(img, up, HOG_MIN_SCORE)
        found = list(zip(rects, (float(s) for s in scores), strict=True))
    return sorted(found, key=lambda rs: -rs[1])


def analyse(pixels: np.ndarray, options: FaceOptions = FaceOptions()) -> FaceResult:
    """Every face in an H x W x 3 uint8 RGB bitmap (orientation applied)."""
    dlib = load_dlib()
    img = np.ascontiguousarray(pixels[..., :3]).astype(np.uint8, copy=False)
    h, w = img.shape[:2]
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    faces = []
    for rect, score in detect(img, options):
        shape = _shape5()(img, rect)
        faces.append(measure_face(img, gray, rect, shape, score, options, dlib))
    return FaceResult(tuple(faces), (w, h), options.detector)


def measure_face(
    img: np.ndarray, gray: np.ndarray, rect: Any, shape: Any, score: float, options: FaceOptions, dlib: Any
) -> Face:
    """One face's scores from its box and 5-point landmarks."""
    h, w = img.shape[:2]
    pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    # 5-point model: 0-1 one eye's outer/inner corner, 2-3 the other eye's, 4 the base of the nose
    eye_a, eye_b = (pts[0], pts[1]), (pts[2], pts[3])
    if eye_a[0][0] > eye_b[0][0]:  # left in the image first
        eye_a, eye_b = eye_b, eye_a
    chip = cv2.cvtColor(np.asarray(dlib.get_face_chip(img, shape, CHIP_SIZE, CHIP_PADDING)), cv2.COLOR_RGB2GRAY)
    face_sharp, eye_sharp = chip_sharpness(chip)
    if options.eye_method == "landmarks68":
        each = eye_aspect_scores(_shape68()(img, rect))
    else:
        ref = float(np.subtract(*np.percentile(chip, [95, 5])))
        each = (eye_openness(gray, *eye_a, ref), eye_openness(gray, *eye_b, ref))
    emb: tuple[float, ...] = ()
    if options.embed:
        emb = tuple(float(v) for v in _encoder().compute_face_descriptor(img, shape))
    box = (
        _clip(rect.left() / w),
        _clip(rect.top() / h),
        _clip((rect.right() + 1) / w),
        _clip((rect.bottom() + 1) / h),
    )
    centre_a, centre_b = (eye_a[0] + eye_a[1]) / 2, (eye_b[0] + eye_b[1]) / 2
    eyes = ((_clip(centre_a[0] / w), _clip(centre_a[1] / h)), (_clip(centre_b[0] / w), _clip(centre_b[1] / h)))
    return Face(
        box=box,
        score=score,
        eyes=eyes,
        sharpness=0.6 * eye_sharp + 0.4 * face_sharp,
        eye_sharpness=eye_sharp,
        face_region_sharpness=face_sharp,
        eyes_open=max(each),
        eyes_open_each=each,
        embedding=emb,
    )


def chip_sharpness(chip: np.ndarray) -> tuple[float, float]:
    """(face region, eye region) sharpness of a 150 px aligned face chip, each in [0, 1]."""
    g = chip.astype(np.float32)
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=3)
    n = chip.shape[0]
    # Inside the chip (padding 0.25): the face spans about [0.2, 0.8]; dlib's alignment puts the eyes on
    # a row near 0.39 of the chip's height, between columns 0.25 and 0.75.
    face = (slice(int(0.22 * n), int(0.8 * n)), slice(int(0.22 * n), int(0.78 * n)))
    eyes = (slice(int(0.3 * n), int(0.48 * n)), slice(int(0.22 * n), int(0.78 * n)))
    return _contrast_sharpness(g[face], lap[face]), _contrast_sharpness(g[eyes], lap[eyes])


def _contrast_sharpness(region: np.ndarray, lap: np.ndarray) -> float:
    sd = float(region.std())
    if sd < 1.0:  # flat: nothing to be sharp
        return 0.0
    r = float(np.sqrt(np.mean(lap.astype(np.float64) ** 2))) / (sd * 8.0)
    return 1.0 - math.exp(-r / SHARPNESS_SCALE)


def eye_patch(gray: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The eye between corners `a` and `b`, resampled to EYE_PATCH along the corner line."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = float(np.linalg.norm(b - a))
    if d < 2.0:
        return None
    u = (b - a) / d
    v = np.array([-u[1], u[0]])
    if v[1] < 0:
        v = -v
    c = (a + b) / 2
    pw, ph = 1.5 * d, 0.75 * 1.5 * d
    src = np.array([c - u * pw / 2 - v * ph / 2, c + u * pw / 2 - v * ph / 2, c - u * pw / 2 + v * ph / 2], np.float32)
    W, H = EYE_PATCH
    m = cv2.getAffineTransform(src, np.array([[0, 0], [W, 0], [0, H]], np.float32))
    return cv2.warpAffine(gray, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def eye_gradient(patch: np.ndarray, face_range: float) -> float:
    """`gy` of one eye patch: the core's mean row-to-row change / the face's luma range."""
    p = patch.astype(np.float32)
    h, w = p.shape
    core = p[int(0.3 * h) : int(0.7 * h), int(0.2 * w) : int(0.8 * w)]
    return float(np.abs(np.diff(core, axis=0)).mean()) / max(face_range, 1.0)


def eye_openness(gray: np.ndarray, a: np.ndarray, b: np.ndarray, face_range: float) -> float:
    patch = eye_patch(gray, a, b)
    if patch is None:
        return 0.0
    return ramp(eye_gradient(patch, face_range), GY_CLOSED, GY_OPEN)


def eye_aspect_scores(shape68: Any) -> tuple[float, float]:
    """Opt-in (68-point model): each eye's aspect ratio mapped to [0, 1], left in the image first."""
    p = np.array([(q.x, q.y) for q in shape68.parts()], dtype=np.float64)

    def ear(e: np.ndarray) -> float:
        return float(
            (np.linalg.norm(e[1] - e[5]) + np.linalg.norm(e[2] - e[4])) / (2 * np.linalg.norm(e[0] - e[3]) + 1e-9)
        )

    a, b = p[36:42], p[42:48]  # the subject's right eye (left in the image), then the left eye
    return ramp(ear(a), 0.15, 0.27), ramp(ear(b), 0.15, 0.27)


def ramp(x: float, a: float, b: float) -> float:
    return float(min(1.0, max(0.0, (x - a) / (b - a))))


def _clip(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


# --- payload -------------------------------------------------------------------------------------------


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """Payload fields of one stored `faces` result: `face_count`, `eyes_open` (min over faces, None without
    faces), `face_sharpness` (max over faces, None without faces)."""
    faces = data.get("faces") or []
    return {
        "face_count": len(faces),
        "eyes_open": min((float(f["eyes_open"]) for f in faces), default=None),
        "face_sharpness": max((float(f["sharpness"]) for f in faces), default=None),
    }
