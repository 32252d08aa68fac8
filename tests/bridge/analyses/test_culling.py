"""Culling, pure: a simulated burst of a real photo (blur ladder and motion blur on copies), keep-together sets,
targets and overrides, on plain records (no engine)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from bridge.analyses.composition import analyse as composition
from bridge.analyses.culling import (
    CullOptions,
    CullPhoto,
    Decision,
    Reason,
    cull,
    keep_together,
    overlap_shift,
)
from bridge.analyses.duplicates import DupGroup, DupItem, DupKind, find_duplicates
from bridge.analyses.dupsig import signature
from bridge.analyses.quality import score as quality

CAMERA = {"camera_make": "Canon", "camera_model": "EOS R5", "serial_number": "123"}


def _motion(px: np.ndarray, length: int) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0 / length
    return cv2.filter2D(px, -1, k, borderType=cv2.BORDER_REFLECT)


def _burst(shared_data: Path) -> list[CullPhoto]:
    im = Image.open(shared_data / "jpeg" / "photo_animal_prairie_falcon.jpg")
    im.draft("RGB", (900, 600))
    sharp = np.asarray(im.convert("RGB"))
    frames = {
        "f1_blur2.jpg": cv2.GaussianBlur(sharp, (0, 0), 2.0),
        "f2_motion.jpg": _motion(sharp, 15),
        "f3_sharp.jpg": sharp,
        "f4_blur1.jpg": cv2.GaussianBlur(sharp, (0, 0), 1.0),
        "f5_blur4.jpg": cv2.GaussianBlur(sharp, (0, 0), 4.0),
    }
    t0 = 1_700_000_000.0
    out = []
    for i, (name, px) in enumerate(frames.items()):
        md = {**CAMERA, "captured_ts": t0 + 0.1 * i, "exposure_time": 1 / 1000, "aperture": 5.6, "iso": 400}
        out.append(
            CullPhoto(
                path=f"/shoot/{name}",
                fingerprint=f"fp{i}",
                metadata=md,
                quality=quality(px).as_payload(),
                composition=composition(px).as_payload(),
                thumb=signature(px).thumb_array(),
            )
        )
    return out


def test_simulated_burst_picks_the_sharpest_frame_with_its_reason(shared_data: Path) -> None:
    photos = _burst(shared_data)
    items = [DupItem(p.fingerprint, (p.path,), None, p.metadata) for p in photos]
    groups = find_duplicates(items, kinds=(DupKind.BURST,))
    assert len(groups) == 1 and len(groups[0].paths) == 5
    results = {r.path: r for r in cull(photos, groups)}
    best = results["/shoot/f3_sharp.jpg"]
    assert best.decision == Decision.PICK and best.rank == 1
    assert Reason.SHARPEST in best.reasons
    assert "sharpest in burst" in best.sentence
    assert results["/shoot/f2_motion.jpg"].decision == Decision.REJECT
    assert Reason.MOTION_BLUR in results["/shoot/f2_motion.jpg"].reasons
    assert Reason.OUT_OF_FOCUS in results["/shoot/f5_blur4.jpg"].reasons
    assert all(r.decision == Decision.REJECT for p, r in results.items() if p != best.path)
    assert "f3_sharp.jpg ranks first" in results["/shoot/f1_blur2.jpg"].sentence
    # ranks follow the blur ladder
    ranks = [results[f"/shoot/{n}"].rank for n in ("f3_sharp.jpg", "f4_blur1.jpg", "f1_blur2.jpg", "f5_blur4.jpg")]
    assert ranks == sorted(ranks)


def _q(sharp: float = 0.9, motion: float = 0.0, exposure: float = 0.5) -> dict[str, float]:
    return {"q_sharpness": sharp, "q_motion_blur": motion, "q_exposure": exposure}


def _photo(name: str, ts: float, q: dict[str, float] | None = None, **md: object) -> CullPhoto:
    return CullPhoto(f"/s/{name}", name, {**CAMERA, "captured_ts": ts, **md}, q or _q())


def _group(kind: DupKind, *photos: CullPhoto) -> DupGroup:
    return DupGroup(kind, tuple(p.fingerprint for p in photos), tuple(p.path for p in photos), {})


def test_exposure_bracket_is_never_split() -> None:
    t = 1_000.0
    shot = {"exposure_time": 1 / 125, "aperture": 8.0, "iso": 100}
    bracket = [
        _photo("b1", t, _q(exposure=0.5), exposure_bias=0.0, **shot),
        _photo("b2", t + 0.5, _q(exposure=0.1), exposure_bias=-2.0, **shot),  # under-exposed on purpose
        _photo("b3", t + 1.0, _q(exposure=0.9), exposure_bias=2.0, **shot),  # over-exposed on purpose
    ]
    sets = keep_together(bracket, CullOptions())
    assert {k for k, _ in sets.values()} == {"bracket"} and len(sets) == 3
    results = cull(bracket, [_group(DupKind.BURST, *bracket)])
    assert {r.decision for r in results} == {Decision.PICK}
    assert all(Reason.BRACKET in r.reasons for r in results)
    # a bracket inside a burst of plain frames, the plain frames sharper: still kept whole or rejected whole
    plain = [_photo(f"p{i}", t + 10 + 0.2 * i, _q(sharp=0.95), exposure_bias=0.0, **shot) for i in range(3)]
    allp = bracket + plain
    results = cull(allp, [_group(DupKind.BURST, *allp)], CullOptions(target_share=0.3))
    by = {r.path: r.decision for r in results}
    assert len({by[p.path] for p in bracket}) == 1
    # a burst at one exposure is no bracket
    burst = [_photo(f"u{i}", t + 100 + 0.2 * i, exposure_bias=0.0, **shot) for i in range(4)]
    assert keep_together(burst, CullOptions()) == {}


def test_focus_stack_and_panorama_found() -> None:
    shot = {"exposure_time": 1 / 60, "aperture": 11.0, "iso": 200}
    stack = [_photo(f"s{i}", 50.0 + i, focus_distance=0.3 + 0.1 * i, **shot) for i in range(5)]
    assert {k for k, _ in keep_together(stack, CullOptions()).values()} == {"focus_stack"}
    # a pan: a wide textured scene cut into overlapping frames
    rng = np.random.default_rng(3)
    scene = cv2.GaussianBlur(rng.integers(0, 255, (40, 200), dtype=np.uint8), (0, 0), 1.5)
    frames = [scene[:, x : x + 60] for x in (0, 35, 70, 105)]
    ncc, shift = overlap_shift(frames[0], frames[1])
    assert ncc > 0.9 and abs(shift - 35 / 60) < 0.05
    pano = [
        CullPhoto(f"/s/pano{i}", f"pano{i}", {**CAMERA, "captured_ts": 200.0 + 3 * i, **shot}, _q(), thumb=f)
        for i, f in enumerate(frames)
    ]
    assert {k for k, _ in keep_together(pano, CullOptions()).values()} == {"panorama"}
    # the same frame four times (a burst of a still scene) is no panorama
    still = [
        CullPhoto(f"/s/still{i}", f"still{i}", {**CAMERA, "captured_ts": 300.0 + i, **shot}, _q(), thumb=frames[0])
        for i in range(4)
    ]
    assert keep_together(still, CullOptions()) == {}


def test_overrides_are_never_re_decided() -> None:
    photos = [_photo(f"o{i}", 10.0 + 0.1 * i, _q(sharp=0.9 - 0.1 * i)) for i in range(4)]
    groups = [_group(DupKind.BURST, *photos)]
    first = {r.path: r for r in cull(photos, groups)}
    assert first["/s/o0"].decision == Decision.PICK and first["/s/o3"].decision == Decision.REJECT
    overrides = {"/s/o0": "reject", "/s/o3": "pick"}
    again = {r.path: r for r in cull(photos, groups, overrides=overrides)}
    assert again["/s/o0"].decision == Decision.REJECT and again["/s/o0"].overridden
    assert again["/s/o3"].decision == Decision.PICK and Reason.USER_CHOICE in again["/s/o3"].reasons
    # the user's pick fills the group's one slot: the automatic ones are rejects
    assert again["/s/o1"].decision == Decision.REJECT


def test_target_share_per_group_and_per_shoot() -> None:
    bursts = []
    for g in range(3):
        bursts.append([_photo(f"g{g}_{i}", 1000.0 * g + 0.1 * i, _q(sharp=0.95 - 0.05 * i)) for i in range(10)])
    photos = [p for b in bursts for p in b]
    groups = [_group(DupKind.BURST, *b) for b in bursts]
    per_group = cull(photos, groups, CullOptions(target_share=0.3))
    assert sum(r.decision == Decision.PICK for r in per_group) == 9  # 3 of each 10
    for b in bursts:
        kept = [r for r in per_group if r.path in {p.path for p in b} and r.decision == Decision.PICK]
        assert sorted(r.rank for r in kept) == [1, 2, 3]
    shoot = cull(photos, groups, CullOptions(target_count=5, per="shoot"))
    picks = [r for r in shoot if r.decision == Decision.PICK]
    assert len(picks) == 5
    assert {r.group for r in picks if r.rank == 1} == {r.group for r in shoot}  # every group's best first


def test_singles_and_faces() -> None:
    good = _photo("single_good", 5.0)
    dark = _photo("single_dark", 5000.0, _q(exposure=0.05))
    blink = CullPhoto(
        "/s/blink", "blink", {**CAMERA, "captured_ts": 9000.0}, _q(),
        faces={"size": [600, 400], "faces": [{"box": [0.3, 0.2, 0.5, 0.5], "eyes_open": 0.1, "sharpness": 0.8}]},
    )  # fmt: skip
    awake = CullPhoto(
        "/s/awake", "awake", {**CAMERA, "captured_ts": 9000.3}, _q(sharp=0.7),
        faces={"size": [600, 400], "faces": [{"box": [0.3, 0.2, 0.5, 0.5], "eyes_open": 0.9, "sharpness": 0.7}]},
    )  # fmt: skip
    res = {r.path: r for r in cull([good, dark, blink, awake], [_group(DupKind.BURST, blink, awake)])}
    assert res["/s/single_good"].decision == Decision.PICK
    assert res["/s/single_dark"].decision == Decision.REJECT and "under-exposed" in res["/s/single_dark"].sentence
    assert res["/s/blink"].decision == Decision.REJECT and Reason.EYES_CLOSED in res["/s/blink"].reasons
    assert res["/s/awake"].decision == Decision.PICK and Reason.EYES_OPEN in res["/s/awake"].reasons
    assert res["/s/blink"].face_count == 1 and res["/s/blink"].eyes_open == pytest.approx(0.1)


def test_ten_thousand_photos_cull_quickly() -> None:
    rng = np.random.default_rng(0)
    photos, groups = [], []
    for g in range(2000):
        members = [
            _photo(f"{g}_{i}", 10.0 * g + 0.1 * i, _q(*rng.random(3).tolist()), exposure_bias=0.0) for i in range(5)
        ]
        photos += members
        groups.append(_group(DupKind.BURST, *members))
    t = time.perf_counter()
    results = cull(photos, groups, CullOptions(target_share=0.3))
    assert len(results) == 10_000
    assert time.perf_counter() - t < 10.0
