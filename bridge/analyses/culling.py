"""Culling: rank the frames of each duplicate group, keep exposure brackets, focus stacks and panoramas whole,
decide pick / reject with reasons a photographer can read.

Pure code over plain records (no ledger, no store, no engine): `cull(photos, groups, options, overrides)`
takes one `CullPhoto` per path (its metadata and stored analyses: `quality` q_* fields, `composition` c_*
fields, `faces` data when the faces stage ran) and the duplicate groups (`DupGroup`s: exact, near, burst), and
returns one `CullResult` per path. `bridge/search/cull.py` feeds it from the index and stores the results.

Units and groups
    Keep-together sets are found from EXIF first (`keep_together`), per camera body in capture order:
    * **exposure bracket**: consecutive frames each at most ``bracket_gap_s`` (2 s) after the previous, whose
      exposure differs (exposure bias, or shutter time at one aperture and ISO, spread >= 0.6 EV) -- a burst
      at one exposure is not a bracket;
    * **focus stack**: at least 3 consecutive frames at most ``stack_gap_s`` apart at one exposure (shutter,
      aperture, ISO) whose focus distance changes in one direction;
    * **panorama**: consecutive frames at most ``pano_gap_s`` apart, exposure within 1 EV, one focal length,
      each overlapping the previous with a sideways (or up/down) shift of 12-85 % of the frame (the duplicate
      signature's thumbnails, best normalised cross-correlation >= ``pano_ncc``), or, without thumbnails,
      a compass direction (GPS image direction) turning 5-60 deg a frame.
    A set is one *unit*: ranked by its best member, decided as a whole (picked together, or, when the whole
    unit is rejected, rejected together -- never split). Every other photo is a unit of one. Units sharing a
    duplicate group (or linked through one) form a cull group; a unit in no group is a group of its own.

Score (each component in [0, 1], higher is better; missing components drop out with their weight)
    * ``eyes``: the faces stage's ``eyes_open`` (lowest over the photo's faces); only with faces;
    * ``sharpness``: ``face_sharpness`` (best face) when faces were found, else the quality ``q_sharpness``;
    * ``motion``: ``1 - q_motion_blur``;
    * ``exposure``: ``1 - 2 |q_exposure - 0.5|`` (0.5 = well exposed);
    * ``composition``: mean of ``c_level``, the thirds placement (of the faces' boxes when there are faces,
      else ``c_thirds``) and ``1 - edge_cut`` (the faces' boxes, else ``c_edge_cut``).
    ``score = sum(w_i * s_i) / sum(w_i)`` with the weights of `CullOptions.weights` (settings `cull_weights`).
    Within a group the units are ranked by score (rank 1 = best; ties by path); a unit's members share its rank.

Decisions
    A photo with a defect (`DEFECTS`: eyes closed, out of focus, motion blur, under-/over-exposed) is
    ``reject``; a defect-free photo of a single-photo group is ``pick``. In a group of several, the best unit is
    picked and the others rejected, unless a target says how many to keep: ``target_share`` (e.g. 0.3:
    ceil(30 %) of each group, at least one) or ``target_count`` (N per group), or, ``per="shoot"``, that share or
    count of the whole shoot, filled with every group's best unit first, then every group's second, and so on
    (by score within each round). A group's best unit is picked even with a defect when it is the only frame
    worth keeping of a burst of several (it is then ``undecided``: the user looks). User overrides (``pick``,
    ``reject``, ``undecided``) are never re-decided: they stay, count towards the target, and carry the reason
    ``user_choice``.

Reason codes (stable strings, stored in the ledger; `REASON_TEXT` gives the words): see `Reason`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

import numpy as np

from bridge.analyses.composition import box_center, edge_cut, placement
from bridge.analyses.duplicates import DupGroup

CULL_VERSION = "cull1"


class Decision(StrEnum):
    PICK = "pick"
    REJECT = "reject"
    UNDECIDED = "undecided"


class Reason(StrEnum):
    """Why a photo was ranked or decided as it was (stable codes)."""

    SHARPEST = "sharpest_in_group"
    BEST = "best_in_group"
    EYES_OPEN = "eyes_open"
    EYES_CLOSED = "eyes_closed"
    OUT_OF_FOCUS = "out_of_focus"
    MOTION_BLUR = "motion_blur"
    UNDER_EXPOSED = "under_exposed"
    OVER_EXPOSED = "over_exposed"
    HORIZON_TILTED = "horizon_tilted"
    SUBJECT_CUT = "subject_cut"
    OUTRANKED = "outranked"
    SOFTER = "softer_than_pick"
    EXACT_COPY = "exact_copy"
    BRACKET = "exposure_bracket"
    FOCUS_STACK = "focus_stack"
    PANORAMA = "panorama"
    WITHIN_TARGET = "within_target"
    OVER_TARGET = "over_target"
    NEEDS_LOOK = "needs_a_look"
    USER_CHOICE = "user_choice"


DEFECTS = (
    Reason.EYES_CLOSED,
    Reason.OUT_OF_FOCUS,
    Reason.MOTION_BLUR,
    Reason.UNDER_EXPOSED,
    Reason.OVER_EXPOSED,
)
KEEP_TOGETHER = (Reason.BRACKET, Reason.FOCUS_STACK, Reason.PANORAMA)

GROUP_WORDS = {
    "burst": "burst",
    "near": "near-duplicates",
    "exact": "copies",
    "bracket": "bracket",
    "focus_stack": "focus stack",
    "panorama": "panorama",
    "single": "shoot",
}


@cache
def reason_text(reason: str, group_kind: str = "burst") -> str:
    words = GROUP_WORDS.get(group_kind, "group")
    text: dict[Reason, str] = {
        Reason.SHARPEST: f"sharpest in {words}",
        Reason.BEST: f"best of {words}",
        Reason.EYES_OPEN: "eyes open",
        Reason.EYES_CLOSED: "eyes closed",
        Reason.OUT_OF_FOCUS: "out of focus",
        Reason.MOTION_BLUR: "motion blur",
        Reason.UNDER_EXPOSED: "under-exposed",
        Reason.OVER_EXPOSED: "over-exposed",
        Reason.HORIZON_TILTED: "horizon tilted",
        Reason.SUBJECT_CUT: "subject cut by the frame",
        Reason.OUTRANKED: f"a better frame in the {words}",
        Reason.SOFTER: "softer than the pick",
        Reason.EXACT_COPY: "exact copy of the pick",
        Reason.BRACKET: "exposure bracket, kept together",
        Reason.FOCUS_STACK: "focus stack, kept together",
        Reason.PANORAMA: "panorama sequence, kept together",
        Reason.WITHIN_TARGET: "within the target",
        Reason.OVER_TARGET: "beyond the target",
        Reason.NEEDS_LOOK: "best of a weak group: have a look",
        Reason.USER_CHOICE: "your choice",
    }
    known = Reason(reason) if reason in Reason._value2member_map_ else None
    return text[known] if known is not None else str(reason)


@dataclass(frozen=True)
class CullOptions:
    """Thresholds and weights (settings `cull_*`, bridge/settings.py)."""

    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "eyes": 3.0,
            "sharpness": 3.0,
            "motion": 2.0,
            "exposure": 1.5,
            "composition": 1.0,
        }
    )
    eyes_closed_below: float = 0.35  # eyes_open under this: eyes closed (faces README)
    out_of_focus_below: float = 0.35  # sharpness (face or frame) under this: out of focus
    motion_blur_above: float = 0.5  # q_motion_blur at or above this: motion blur
    under_exposed_below: float = 0.2  # q_exposure under this (about 1.7 stops under, quality.py)
    over_exposed_above: float = (
        0.85  # q_exposure above this (about 2.2 stops over; high-key scenes sit ~0.7-0.8)
    )
    tilted_below: float = 0.6  # c_level under this (|tilt| over ~2.3 deg): horizon tilted
    cut_above: float = 0.6  # edge cut above this: subject cut
    softer_by: float = 0.08  # a rejected frame this much softer than the pick says so
    target_share: float | None = None  # 0.3: keep 30 % (rounded up, at least one per group)
    target_count: int | None = None  # keep N
    per: str = "group"  # "group" or "shoot"
    bracket_gap_s: float = 2.0
    bracket_min_ev: float = 0.6
    stack_gap_s: float = 10.0
    pano_gap_s: float = 30.0
    pano_ncc: float = 0.6


@dataclass(frozen=True)
class CullPhoto:
    path: str
    fingerprint: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    quality: Mapping[str, Any] | None = None
    composition: Mapping[str, Any] | None = None
    faces: Mapping[str, Any] | None = None  # the stored faces data ({"faces": [...], "size": [w, h]})
    thumb: np.ndarray | None = None  # the duplicate signature's gray thumbnail (panorama overlap)


@dataclass(frozen=True)
class CullResult:
    path: str
    fingerprint: str
    group: str  # the cull group's id (its first path)
    group_kind: str  # burst, near, exact, single (+ bracket, focus_stack, panorama for a lone set)
    group_size: int
    rank: int  # 1 = best in its group
    score: float
    decision: Decision
    reasons: tuple[str, ...]
    sentence: str
    overridden: bool = False
    unit: str = ""  # the keep-together set's id ("" when alone)
    components: Mapping[str, float] = field(default_factory=dict)
    eyes_open: float | None = None
    face_count: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "group": self.group,
            "group_kind": self.group_kind,
            "group_size": self.group_size,
            "rank": self.rank,
            "score": round(self.score, 4),
            "decision": str(self.decision),
            "reasons": list(self.reasons),
            "sentence": self.sentence,
            "overridden": self.overridden,
            "keep_together": self.unit or None,
            "eyes_open": self.eyes_open,
            "face_count": self.face_count,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CullResult:
        """The result `as_dict` wrote (a cull run by the process that owns the index)."""
        return cls(
            path=str(d["path"]),
            fingerprint=str(d.get("fingerprint") or ""),
            group=str(d["group"]),
            group_kind=str(d["group_kind"]),
            group_size=int(d["group_size"]),
            rank=int(d["rank"]),
            score=float(d["score"]),
            decision=Decision(d["decision"]),
            reasons=tuple(d.get("reasons") or ()),
            sentence=str(d.get("sentence") or ""),
            overridden=bool(d.get("overridden")),
            unit=str(d.get("keep_together") or ""),
            eyes_open=d.get("eyes_open"),
            face_count=d.get("face_count"),
        )


# --- per-photo measures ----------------------------------------------------------------------------------


def faces_summary(
    faces: Mapping[str, Any] | None,
) -> tuple[int | None, float | None, float | None, list[Any]]:
    """(face_count, eyes_open min, face_sharpness max, boxes) of stored faces data; Nones without the stage."""
    if faces is None:
        return None, None, None, []
    items = list(faces.get("faces") or [])
    if not items and "face_count" in faces:  # a payload-style summary
        return int(faces.get("face_count") or 0), faces.get("eyes_open"), faces.get("face_sharpness"), []
    eyes = [float(f["eyes_open"]) for f in items if f.get("eyes_open") is not None]
    sharp = [float(f["sharpness"]) for f in items if f.get("sharpness") is not None]
    boxes = [tuple(f["box"]) for f in items if f.get("box")]
    return len(items), min(eyes, default=None), max(sharp, default=None), boxes


def components(photo: CullPhoto) -> dict[str, float]:
    """The score components of one photo (absent when not measured)."""
    out: dict[str, float] = {}
    q = photo.quality or {}
    c = photo.composition or {}
    count, eyes, face_sharp, boxes = faces_summary(photo.faces)
    if count and eyes is not None:
        out["eyes"] = float(eyes)
    if count and face_sharp is not None:
        out["sharpness"] = float(face_sharp)
    elif q.get("q_sharpness") is not None:
        out["sharpness"] = float(q["q_sharpness"])
    if q.get("q_motion_blur") is not None:
        out["motion"] = 1.0 - float(q["q_motion_blur"])
    if q.get("q_exposure") is not None:
        out["exposure"] = max(0.0, 1.0 - 2.0 * abs(float(q["q_exposure"]) - 0.5))
    parts: list[float] = []
    if c.get("c_level") is not None:
        parts.append(float(c["c_level"]))
    if boxes:
        size = (photo.faces or {}).get("size") or [1, 1]
        aspect = float(size[0]) / float(size[1] or 1)
        parts += [placement(box_center(boxes)), 1.0 - edge_cut(boxes, aspect=aspect)]
    else:
        if c.get("c_thirds") is not None:
            parts.append(float(c["c_thirds"]))
        if c.get("c_edge_cut") is not None:
            parts.append(1.0 - float(c["c_edge_cut"]))
    if parts:
        out["composition"] = float(np.mean(parts))
    return out


def score_of(comp: Mapping[str, float], weights: Mapping[str, float]) -> float:
    total = sum(weights.get(k, 0.0) for k in comp)
    if total <= 0:
        return 0.0
    return float(sum(weights.get(k, 0.0) * v for k, v in comp.items()) / total)


def defects(photo: CullPhoto, options: CullOptions) -> list[Reason]:
    """The defects and composition faults of one photo, worst first."""
    q = photo.quality or {}
    c = photo.composition or {}
    count, eyes, face_sharp, boxes = faces_summary(photo.faces)
    out: list[Reason] = []
    if count and eyes is not None and eyes < options.eyes_closed_below:
        out.append(Reason.EYES_CLOSED)
    sharp = face_sharp if count and face_sharp is not None else q.get("q_sharpness")
    if sharp is not None and float(sharp) < options.out_of_focus_below:
        out.append(Reason.OUT_OF_FOCUS)
    if q.get("q_motion_blur") is not None and float(q["q_motion_blur"]) >= options.motion_blur_above:
        out.append(Reason.MOTION_BLUR)
    if q.get("q_exposure") is not None:
        if float(q["q_exposure"]) < options.under_exposed_below:
            out.append(Reason.UNDER_EXPOSED)
        elif float(q["q_exposure"]) > options.over_exposed_above:
            out.append(Reason.OVER_EXPOSED)
    if c.get("c_level") is not None and float(c["c_level"]) < options.tilted_below:
        out.append(Reason.HORIZON_TILTED)
    size = (photo.faces or {}).get("size") or [1, 1]
    cut = edge_cut(boxes, aspect=float(size[0]) / float(size[1] or 1)) if boxes else c.get("c_edge_cut")
    if cut is not None and float(cut) > options.cut_above:
        out.append(Reason.SUBJECT_CUT)
    return out


# --- keep-together sets ----------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _body(md: Mapping[str, Any]) -> tuple[str, str, str]:
    return (
        str(md.get("camera_make") or "").strip().lower(),
        str(md.get("camera_model") or "").strip().lower(),
        str(md.get("serial_number") or "").strip(),
    )


def _ev(md: Mapping[str, Any]) -> float | None:
    """Exposure in EV relative terms (log2 of shutter time x ISO / f-number^2), None when unknown."""
    t = _num(md.get("exposure_time"))
    if t is None or t <= 0:
        return None
    n = _num(md.get("aperture")) or 1.0
    iso = _num(md.get("iso")) or 100.0
    return math.log2(t * iso / 100.0 / (n * n))


def _same_exposure(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    keys = ("exposure_time", "aperture", "iso")
    if any(_num(a.get(k)) is None for k in keys):
        return False
    return all(_num(a.get(k)) == _num(b.get(k)) for k in keys)


def _runs(photos: Sequence[CullPhoto], gap: float, linked: Any) -> list[list[CullPhoto]]:
    """Maximal runs of consecutive photos (capture order) each within `gap` s of, and `linked` to, the last."""
    runs: list[list[CullPhoto]] = []
    run: list[CullPhoto] = []
    for p in photos:
        if run:
            prev = run[-1]
            dt = _num(p.metadata.get("captured_ts"))
            dp = _num(prev.metadata.get("captured_ts"))
            if dt is not None and dp is not None and 0 <= dt - dp <= gap and linked(prev, p, run):
                run.append(p)
                continue
            runs.append(run)
        run = [p]
    if run:
        runs.append(run)
    return runs


def _bracket_link(a: CullPhoto, b: CullPhoto, run: list[CullPhoto], min_ev: float) -> bool:
    bias_a, bias_b = _num(a.metadata.get("exposure_bias")), _num(b.metadata.get("exposure_bias"))
    if bias_a is not None and bias_b is not None and abs(bias_a - bias_b) >= 0.3:
        return True
    ev_a, ev_b = _ev(a.metadata), _ev(b.metadata)
    same_aperture = _num(a.metadata.get("aperture")) == _num(b.metadata.get("aperture"))
    return ev_a is not None and ev_b is not None and same_aperture and abs(ev_a - ev_b) >= min_ev


def _stack_link(a: CullPhoto, b: CullPhoto, run: list[CullPhoto]) -> bool:
    if not _same_exposure(a.metadata, b.metadata):
        return False
    fa, fb = _num(a.metadata.get("focus_distance")), _num(b.metadata.get("focus_distance"))
    if fa is None or fb is None or fa == fb:
        return False
    if len(run) >= 2:
        f0 = _num(run[-2].metadata.get("focus_distance"))
        if f0 is not None and (fa - f0) * (fb - fa) <= 0:
            return False  # the focus turned back: a new stack
    return True


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    xa, xb = a - a.mean(), b - b.mean()
    den = math.sqrt(float((xa * xa).sum() * (xb * xb).sum()))
    return float((xa * xb).sum() / den) if den > 1e-9 else 0.0


def overlap_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(best normalised cross-correlation, shift as a fraction of the frame) of `b` continuing `a` sideways
    or up/down by 12-85 % of the frame (gray thumbnails of one size; a pan's frames share one). The edge strip
    of `b` that a pan brings into `a`'s field is located in `a` (`cv2.matchTemplate`), then the whole overlap
    at that shift is correlated."""
    import cv2

    if a.shape != b.shape or min(a.shape) < 8:
        return 0.0, 0.0
    fa = a.astype(np.float32)
    fb = b.astype(np.float32)
    best = (0.0, 0.0)
    for axis in (1, 0):
        n = fa.shape[axis]
        strip = max(3, int(0.12 * n))
        lo, hi = max(1, int(0.12 * n)), int(0.85 * n)
        for sign in (1, -1):
            # b[:, x] = a[:, x + s] for a pan to the right (sign 1): b's first columns sit at s in a
            if axis == 1:
                tmpl = fb[:, :strip] if sign > 0 else fb[:, n - strip :]
            else:
                tmpl = fb[:strip, :] if sign > 0 else fb[n - strip :, :]
            if float(tmpl.std()) < 1e-3:
                continue
            res = cv2.matchTemplate(fa, tmpl, cv2.TM_CCOEFF_NORMED).ravel()
            pos = int(np.argmax(res))
            s = pos if sign > 0 else (n - strip) - pos
            if not lo <= s <= hi:
                continue
            if axis == 1:
                pa, pb = (fa[:, s:], fb[:, : n - s]) if sign > 0 else (fa[:, : n - s], fb[:, s:])
            else:
                pa, pb = (fa[s:, :], fb[: n - s, :]) if sign > 0 else (fa[: n - s, :], fb[s:, :])
            ncc = _ncc(pa, pb)
            if ncc > best[0]:
                best = (ncc, s / n)
    return best


def _pano_link(a: CullPhoto, b: CullPhoto, run: list[CullPhoto], min_ncc: float) -> bool:
    ev_a, ev_b = _ev(a.metadata), _ev(b.metadata)
    if ev_a is not None and ev_b is not None and abs(ev_a - ev_b) > 1.0:
        return False
    fl_a, fl_b = _num(a.metadata.get("focal_length")), _num(b.metadata.get("focal_length"))
    if fl_a is not None and fl_b is not None and fl_a != fl_b:
        return False
    if a.thumb is not None and b.thumb is not None:
        if a.thumb.shape != b.thumb.shape:
            return False
        still = _ncc(a.thumb.astype(np.float64), b.thumb.astype(np.float64))
        if still >= 0.8:
            return False  # a static scene (a burst): no pan
        ncc, _ = overlap_shift(a.thumb, b.thumb)
        return ncc >= min_ncc and ncc > still
    da, db = _num(a.metadata.get("gps_direction")), _num(b.metadata.get("gps_direction"))
    if da is None or db is None:
        return False
    turn = abs((db - da + 180.0) % 360.0 - 180.0)
    return 5.0 <= turn <= 60.0


def keep_together(
    photos: Sequence[CullPhoto], options: CullOptions
) -> dict[str, tuple[str, tuple[str, ...]]]:
    """path → (kind, member paths) for every photo in an exposure bracket, focus stack or panorama."""
    bodies: dict[tuple[str, str, str], list[CullPhoto]] = defaultdict(list)
    for p in photos:
        if _num(p.metadata.get("captured_ts")) is not None:
            bodies[_body(p.metadata)].append(p)
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for members in bodies.values():
        members.sort(key=lambda p: (_num(p.metadata.get("captured_ts")) or 0.0, p.path))
        finders: list[tuple[str, float, Any, int]] = [
            (
                "bracket",
                options.bracket_gap_s,
                lambda a, b, r: _bracket_link(a, b, r, options.bracket_min_ev),
                2,
            ),
            ("focus_stack", options.stack_gap_s, _stack_link, 3),
            ("panorama", options.pano_gap_s, lambda a, b, r: _pano_link(a, b, r, options.pano_ncc), 2),
        ]
        for kind, gap, link, least in finders:
            free = [p for p in members if p.path not in out]
            for run in _runs(free, gap, link):
                if len(run) < least:
                    continue
                if kind == "bracket":
                    evs = [_num(p.metadata.get("exposure_bias")) for p in run]
                    if not all(e is not None for e in evs) or max(evs) - min(evs) < 0.3:  # type: ignore[type-var,operator]
                        shutter = [e for e in (_ev(p.metadata) for p in run) if e is not None]
                        if len(shutter) < len(run) or max(shutter) - min(shutter) < options.bracket_min_ev:
                            continue
                paths = tuple(p.path for p in run)
                for p in run:
                    out[p.path] = (kind, paths)
    return out


# --- ranking and decisions -------------------------------------------------------------------------------


@dataclass
class _Unit:
    id: str
    kind: str  # "" alone, else bracket / focus_stack / panorama
    photos: list[CullPhoto]
    score: float = 0.0
    best: CullPhoto | None = None
    comps: dict[str, dict[str, float]] = field(default_factory=dict)
    faults: dict[str, list[Reason]] = field(default_factory=dict)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _quota(n: int, options: CullOptions) -> int:
    if options.target_count is not None:
        return max(1, min(n, options.target_count))
    if options.target_share is not None:
        return max(1, min(n, math.ceil(options.target_share * n - 1e-9)))
    return 1


def cull(
    photos: Iterable[CullPhoto],
    groups: Iterable[DupGroup] = (),
    options: CullOptions | None = None,
    overrides: Mapping[str, str] | None = None,
) -> list[CullResult]:
    """One `CullResult` per photo (see the module docstring), in group order, best first."""
    options = options or CullOptions()
    overrides = dict(overrides or {})
    by_path = {p.path: p for p in photos}
    sets = keep_together(list(by_path.values()), options)

    # units: keep-together sets, else single photos
    units: dict[str, _Unit] = {}
    unit_of: dict[str, str] = {}
    for path in sorted(by_path):
        if path in unit_of:
            continue
        kind, members = sets.get(path, ("", (path,)))
        uid = members[0]
        unit = _Unit(uid, kind, [by_path[m] for m in members])
        units[uid] = unit
        for m in members:
            unit_of[m] = uid

    # groups: duplicate groups over units
    uf = _UnionFind()
    kinds: dict[str, str] = {}
    for g in groups:
        present = [q for q in g.paths if q in unit_of]
        for q in present[1:]:
            uf.union(unit_of[present[0]], unit_of[q])
        for q in present:
            kinds.setdefault(unit_of[q], str(g.kind))
    members_of: dict[str, list[_Unit]] = defaultdict(list)
    for uid, unit in units.items():
        members_of[uf.find(uid)].append(unit)

    for unit in units.values():
        for p in unit.photos:
            unit.comps[p.path] = components(p)
            unit.faults[p.path] = defects(p, options)
        scored = sorted(unit.photos, key=lambda p: (-score_of(unit.comps[p.path], options.weights), p.path))
        unit.best = scored[0]
        unit.score = score_of(unit.comps[unit.best.path], options.weights)

    # rank within groups; the group kind: the strongest duplicate kind seen, else the set's kind, else single
    ordered: list[tuple[str, str, list[_Unit]]] = []
    for us in members_of.values():
        us.sort(key=lambda u: (-u.score, u.id))
        gkinds = {kinds[u.id] for u in us if u.id in kinds}
        gkind = next((k for k in ("burst", "near", "exact") if k in gkinds), "")
        if not gkind:
            gkind = us[0].kind if len(us) == 1 and us[0].kind else "single"
        ordered.append((min(u.id for u in us), gkind, us))
    ordered.sort(key=lambda t: t[0])

    # how many units each group keeps
    keep: dict[str, int] = {}
    overridden_pick = {
        gid: sum(1 for u in us for p in u.photos if overrides.get(p.path) == Decision.PICK)
        for gid, _, us in ordered
    }
    if options.per == "shoot" and (options.target_share is not None or options.target_count is not None):
        total_units = sum(len(us) for _, _, us in ordered)
        budget = (
            options.target_count
            if options.target_count is not None
            else math.ceil((options.target_share or 0.0) * total_units - 1e-9)
        )
        budget = max(0, budget - sum(overridden_pick.values()))
        keep = {gid: 0 for gid, _, _ in ordered}
        depth = 0
        while budget > 0:
            round_units = [(gid, us[depth]) for gid, _, us in ordered if depth < len(us)]
            if not round_units:
                break
            round_units.sort(key=lambda t: (-t[1].score, t[0]))
            for gid, u in round_units:
                if budget <= 0:
                    break
                if not u.faults[u.best.path if u.best else u.id] or depth == 0:
                    keep[gid] += 1
                    budget -= 1
            depth += 1
    else:
        keep = {gid: max(0, _quota(len(us), options) - overridden_pick[gid]) for gid, _, us in ordered}

    targeted = options.target_share is not None or options.target_count is not None
    results: list[CullResult] = []
    for gid, gkind, us in ordered:
        size = sum(len(u.photos) for u in us)
        best_unit = us[0]
        pick_sharp = best_unit.comps[best_unit.best.path].get("sharpness") if best_unit.best else None
        group_sharpest = max(
            (u.comps[p.path].get("sharpness", -1.0) for u in us for p in u.photos), default=-1.0
        )
        any_closed = any(Reason.EYES_CLOSED in u.faults[p.path] for u in us for p in u.photos)
        kept = 0
        for rank, unit in enumerate(us, start=1):
            forced = [overrides.get(p.path) for p in unit.photos if overrides.get(p.path)]
            unit_faults = unit.faults[unit.best.path] if unit.best else []
            hard = [r for r in unit_faults if r in DEFECTS]
            if rank == 1 and size == 1:
                decision = Decision.REJECT if hard else Decision.PICK
            elif kept < keep.get(gid, 1) and not forced:
                if not hard:
                    decision = Decision.PICK
                elif rank == 1:
                    decision = Decision.UNDECIDED  # the best of a weak group: the user looks
                else:
                    decision = Decision.REJECT
            else:
                decision = Decision.REJECT
            if decision != Decision.REJECT and not forced:
                kept += 1
            for p in unit.photos:
                own = unit.faults[p.path]
                comp = unit.comps[p.path]
                reasons: list[str] = []
                if p.path in overrides:
                    reasons.append(Reason.USER_CHOICE)
                if unit.kind:
                    reasons.append(
                        {"bracket": Reason.BRACKET, "focus_stack": Reason.FOCUS_STACK}.get(
                            unit.kind, Reason.PANORAMA
                        )
                    )
                if size > 1 and rank == 1:
                    sharp = comp.get("sharpness")
                    if sharp is not None and sharp >= group_sharpest - 1e-9 and gkind != "exact":
                        reasons.append(Reason.SHARPEST)
                    else:
                        reasons.append(Reason.BEST)
                    if any_closed and Reason.EYES_CLOSED not in own:
                        reasons.append(Reason.EYES_OPEN)
                    if decision == Decision.UNDECIDED:
                        reasons.append(Reason.NEEDS_LOOK)
                reasons += [r for r in own if r not in reasons]
                if size > 1 and rank > 1:
                    if gkind == "exact" and unit.score >= best_unit.score - 1e-9:
                        reasons.append(Reason.EXACT_COPY)
                    elif decision == Decision.REJECT:
                        sharp = comp.get("sharpness")
                        if (
                            pick_sharp is not None
                            and sharp is not None
                            and sharp < pick_sharp - options.softer_by
                            and Reason.OUT_OF_FOCUS not in own
                        ):
                            reasons.append(Reason.SOFTER)
                        if not own:
                            reasons.append(Reason.OVER_TARGET if targeted else Reason.OUTRANKED)
                    elif targeted:
                        reasons.append(Reason.WITHIN_TARGET)
                final = Decision(overrides[p.path]) if p.path in overrides else decision
                count, eyes, _, _ = faces_summary(p.faces)
                results.append(
                    CullResult(
                        path=p.path,
                        fingerprint=p.fingerprint,
                        group=gid,
                        group_kind=gkind,
                        group_size=size,
                        rank=rank,
                        score=score_of(comp, options.weights),
                        decision=final,
                        reasons=tuple(str(r) for r in reasons),
                        sentence=sentence(
                            final,
                            reasons,
                            gkind,
                            rank,
                            size,
                            best_unit.best.path if best_unit.best else None,
                            p.path,
                        ),
                        overridden=p.path in overrides,
                        unit=unit.id if unit.kind else "",
                        components=comp,
                        eyes_open=eyes,
                        face_count=count,
                    )
                )
    return results


def sentence(
    decision: Decision | str,
    reasons: Sequence[str],
    group_kind: str,
    rank: int,
    size: int,
    pick_path: str | None,
    path: str,
) -> str:
    """One human sentence: "Rejected: eyes closed, motion blur (frame 3 of 5; IMG_0012.jpg is better)."."""
    verb = {"pick": "Picked", "reject": "Rejected", "undecided": "Undecided"}[str(decision)]
    words = [reason_text(r, group_kind) for r in reasons]
    text = f"{verb}: {', '.join(words)}" if words else verb
    if size > 1:
        where = f"frame {rank} of {size}" if group_kind not in ("exact",) else f"copy {rank} of {size}"
        if rank > 1 and pick_path and pick_path != path:
            where += f"; {pick_path.replace(chr(92), '/').rsplit('/', 1)[-1]} ranks first"
        text += f" ({where})"
    return text + "."
