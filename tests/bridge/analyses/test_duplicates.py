"""Duplicate detection: exact / near / burst, measured on a generated set built from real photos, plus
unit tests of each rule on small synthetic inputs."""

from __future__ import annotations

import itertools
import json
import random
import shutil
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bridge.analyses.duplicates import DupGroup, DupItem, DupKind, DupOptions, blake2b_file, find_duplicates
from bridge.analyses.dupsig import DupSignature, signature
from bridge.indexing.decode import decode_image
from bridge.indexing.preprocess import model_input
from bridge.indexing.scan import fingerprint
from bridge.metadata.read import read_metadata
from tests.dup_factory import DupSet, build_dup_set
from tests.model_factory import TINY_CONFIG, TINY_MODEL_ID
from tests.photo_factory import textured_image

MIN_SCORE = 0.95


@dataclass
class Prepared:
    dup: DupSet
    items: list[DupItem]
    fp_of: dict[str, str]  # path -> fingerprint
    model_inputs: dict[str, np.ndarray]  # fingerprint -> S x S x 3 uint8 for the tiny CLIP

    def truth(self, kind: DupKind) -> set[tuple[str, str]]:
        if kind is DupKind.EXACT:
            return _pairs(self.dup.exact)
        sets = self.dup.near if kind is DupKind.NEAR else self.dup.burst
        return _pairs({self.fp_of[p] for p in s} for s in sets)


def _pairs(groups: Iterable[Iterable[str]]) -> set[tuple[str, str]]:
    return {pair for g in groups for pair in itertools.combinations(sorted(set(g)), 2)}


def _scores(groups: Sequence[DupGroup], prepared: Prepared, label: str) -> dict[DupKind, tuple[float, float]]:
    out = {}
    for kind in DupKind:
        mine = [g for g in groups if g.kind is kind]
        predicted = _pairs(g.paths if kind is DupKind.EXACT else g.fingerprints for g in mine)
        truth = prepared.truth(kind)
        hits = len(predicted & truth)
        precision = hits / len(predicted) if predicted else 1.0
        recall = hits / len(truth) if truth else 1.0
        out[kind] = (precision, recall)
        print(
            f"[{label}] {kind.value:5s}: {len(mine):3d} groups, {len(predicted):4d} pairs predicted, "
            f"{len(truth):4d} true: precision {precision:.3f} recall {recall:.3f}"
        )
    return out


@pytest.fixture(scope="module")
def prepared(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """The generated set, decoded once the way the pipeline does (decode -> signature, metadata,
    fingerprint), grouped into one item per fingerprint."""
    dup = build_dup_set(shared_data, tmp_path_factory.mktemp("dupset"))
    image_size = TINY_CONFIG["vision_cfg"]["image_size"]
    by_fp: dict[str, list[str]] = defaultdict(list)
    first: dict[str, tuple[DupSignature, dict[str, Any]]] = {}
    model_inputs: dict[str, np.ndarray] = {}
    fp_of: dict[str, str] = {}
    for path in dup.files:
        fp = fingerprint(path)
        fp_of[str(path)] = fp
        by_fp[fp].append(str(path))
        if fp not in first:
            decoded = decode_image(path, target=448)
            first[fp] = (signature(decoded.pixels), read_metadata(path))
            model_inputs[fp] = model_input(decoded, image_size)
    items = [DupItem(fp, tuple(paths), *first[fp]) for fp, paths in by_fp.items()]
    return Prepared(dup, items, fp_of, model_inputs)


# --------------------------------------------------------------------------------------------
# Measured on the generated set
# --------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_set_is_big_enough(prepared: Prepared) -> None:
    assert len(prepared.dup.near) >= 15
    assert len(prepared.dup.burst) >= 4 and len(prepared.dup.exact) >= 5
    assert len(prepared.dup.negatives) >= 5


@pytest.mark.shared_data
def test_precision_recall_signatures_and_metadata_only(prepared: Prepared) -> None:
    groups = find_duplicates(prepared.items)
    for kind, (precision, recall) in _scores(groups, prepared, "no neighbors").items():
        assert precision >= MIN_SCORE, kind
        assert recall >= MIN_SCORE, kind
    grouped = {p for g in groups for p in g.paths}
    assert not grouped & set(prepared.dup.negatives)  # same scene minutes later, frame past the gap
    bursts = [g for g in groups if g.kind is DupKind.BURST]
    for g in bursts:  # time order, as listed by the generator
        assert list(g.paths) in [list(b) for b in prepared.dup.burst]
        assert 0 < g.detail["max_gap_s"] <= DupOptions().burst_gap_s or g.detail["max_gap_s"] == 0
    # Burst frames are never also near-duplicates of each other.
    burst_fps = [set(g.fingerprints) for g in bursts]
    for g in groups:
        if g.kind is DupKind.NEAR:
            assert all(len(set(g.fingerprints) & b) <= 1 for b in burst_fps)
    near = [g for g in groups if g.kind is DupKind.NEAR]
    assert {"crop", "resize", "re-encode"} <= {r for g in near for r in g.detail["relations"]}


@pytest.mark.shared_data
def test_precision_recall_with_clip_neighbors(prepared: Prepared, tiny_models_dir: Path) -> None:
    from bridge.models.clip import Embedder

    fps = [item.fingerprint for item in prepared.items]
    embedder = Embedder(TINY_MODEL_ID, tiny_models_dir, device="cpu")
    vectors = embedder.encode_images(np.stack([prepared.model_inputs[fp] for fp in fps]))
    k = DupOptions().neighbors_k
    sims = vectors @ vectors.T
    asked: list[str] = []

    def neighbors(fp: str) -> list[tuple[str, float]]:
        # What the vector store's kNN answers: the top k by cosine (the item itself included).
        asked.append(fp)
        row = sims[fps.index(fp)]
        top = np.argsort(-row)[: k + 1]
        return [(fps[i], float(row[i])) for i in top]

    # Random weights squeeze cosines together: verification, not the cosine floor, does the work here.
    options = DupOptions(neighbor_min_cosine=-1.0)
    groups = find_duplicates(prepared.items, neighbors=neighbors, options=options)
    assert len(asked) == len(fps)
    for kind, (precision, recall) in _scores(groups, prepared, "tiny CLIP neighbors").items():
        assert precision >= MIN_SCORE, kind
        assert recall >= MIN_SCORE, kind

    # Without any metadata every kNN answer goes through the thumbnail verifier, and crops can only be
    # proposed by the neighbours. Burst frames of one scene then look alike (only capture times tell
    # them apart), so precision is counted per scene here; recall is informational.
    bare = [DupItem(i.fingerprint, i.paths, i.signature, {}) for i in prepared.items]
    stripped = find_duplicates(bare, kinds=[DupKind.NEAR], neighbors=neighbors, options=options)
    found = _pairs(g.fingerprints for g in stripped)
    scene_of = {prepared.fp_of[p]: s for p, s in prepared.dup.scene.items()}
    same_scene = sum(scene_of[a] == scene_of[b] for a, b in found) / len(found)
    truth = prepared.truth(DupKind.NEAR)
    recall = len(found & truth) / len(truth)
    print(
        f"[no metadata, tiny CLIP neighbors] near: same-scene precision {same_scene:.3f} recall {recall:.3f}"
    )
    assert same_scene >= MIN_SCORE


@pytest.mark.shared_data
def test_deterministic_and_order_independent(prepared: Prepared) -> None:
    shuffled = list(prepared.items)
    random.Random(3).shuffle(shuffled)
    assert find_duplicates(shuffled) == find_duplicates(prepared.items)


@pytest.mark.shared_data
def test_kinds_filter(prepared: Prepared) -> None:
    everything = find_duplicates(prepared.items)
    for kind in DupKind:
        only = find_duplicates(prepared.items, kinds=[kind])
        assert only == [g for g in everything if g.kind is kind]
    assert find_duplicates(prepared.items, kinds=[]) == []


# --------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------


def _sig(img: Image.Image) -> DupSignature:
    return signature(np.asarray(img.convert("RGB")))


def _meta(ts: float | None, *, model: str = "Rapid 9", seq: int | None = None, serial: str | None = None):
    md: dict[str, Any] = {"camera_make": "Burstco", "camera_model": model}
    if ts is not None:  # as bridge.metadata.read writes them for a camera that records milliseconds
        ms = round(ts % 1 * 1000)
        wall = datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S")
        md["captured_ts"] = ts
        md["captured_at"] = wall + (f".{ms:03d}".rstrip("0") if ms else "")
        md["subsec_time_original"] = f"{ms:03d}"
    if seq is not None:
        md["sequence_number"] = seq
    if serial is not None:
        md["serial_number"] = serial
    return md


T0 = 1_715_940_000.0  # 2024-05-17T10:00:00Z


def test_signature_json_round_trip() -> None:
    sig = _sig(textured_image(672, 448, seed=1))
    again = DupSignature.from_json(json.loads(json.dumps(sig.to_json())))
    assert again == sig
    assert 0 <= sig.phash < 2**64 and 0 <= sig.dhash < 2**64
    assert len(sig.thumb) <= 2048
    assert sig.thumb_array().shape == (sig.thumb_h, sig.thumb_w)
    with pytest.raises(ValueError):
        signature(np.zeros((10, 10), np.uint8))


def test_exact_confirmed_by_full_hash(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    body = rng.integers(0, 256, 400_000, dtype=np.uint8).tobytes()
    a, b, c, lone = (tmp_path / n for n in ("a.bin", "b.bin", "c.bin", "lone.bin"))
    a.write_bytes(body)
    shutil.copyfile(a, b)
    middle = bytearray(body)
    middle[200_000] ^= 0xFF  # same size, same first and last 64 KiB: same cheap fingerprint
    c.write_bytes(bytes(middle))
    lone.write_bytes(body[:1000])
    assert fingerprint(a) == fingerprint(b) == fingerprint(c)
    hashed: list[str] = []

    def counting_hash(path: str) -> str:
        hashed.append(Path(path).name)
        return blake2b_file(path)

    fp = fingerprint(a)
    items = [DupItem(fp, (str(a), str(c)), None, {}), DupItem(fp, (str(b),), None, {})]
    items.append(DupItem(fingerprint(lone), (str(lone),), None, {}))
    groups = find_duplicates(items, full_hash=counting_hash)
    assert [(g.kind, g.paths) for g in groups] == [(DupKind.EXACT, (str(a), str(b)))]
    assert groups[0].detail["fingerprint_collision"] is True
    assert sorted(hashed) == ["a.bin", "b.bin", "c.bin"]  # never the lone file


def test_burst_chaining_and_gap() -> None:
    times = [T0, T0 + 0.4, T0 + 0.9, T0 + 1.7, T0 + 3.0, T0 + 3.2]
    items = [DupItem(f"fp{i}", (f"/p/{i}.jpg",), None, _meta(t)) for i, t in enumerate(times)]
    random.Random(1).shuffle(items)
    groups = find_duplicates(items)
    assert [(g.kind, g.fingerprints) for g in groups] == [
        (DupKind.BURST, ("fp0", "fp1", "fp2", "fp3")),  # time order; 0.8 s chains, 1.3 s breaks
        (DupKind.BURST, ("fp4", "fp5")),
    ]
    assert groups[0].detail["frames"] == 4 and groups[0].detail["span_s"] == pytest.approx(1.7)
    tight = find_duplicates(items, options=DupOptions(burst_gap_s=0.45))
    assert [g.fingerprints for g in tight] == [("fp0", "fp1"), ("fp4", "fp5")]


def test_burst_needs_one_camera_body() -> None:
    items = [
        DupItem("a", ("/a",), None, _meta(T0, serial="S1")),
        DupItem("b", ("/b",), None, _meta(T0 + 0.3, serial="S2")),  # same model, another body
        DupItem("c", ("/c",), None, _meta(T0 + 0.5, model="Rapid 10")),  # another model
        DupItem("d", ("/d",), None, _meta(T0 + 0.6, serial="S1")),
    ]
    assert [g.fingerprints for g in find_duplicates(items)] == [("a", "d")]


def test_sequence_numbers_chain_whole_second_frames() -> None:
    def whole_seconds(ts: float, seq: int) -> dict[str, Any]:
        md = _meta(ts, seq=seq)
        del md["subsec_time_original"]  # this camera records whole seconds only
        return md

    items = [DupItem(f"s{n}", (f"/s{n}",), None, whole_seconds(T0, n)) for n in (1, 2, 3)]
    items.append(DupItem("s9", ("/s9",), None, whole_seconds(T0 + 30, 9)))
    assert [g.fingerprints for g in find_duplicates(items)] == [("s1", "s2", "s3")]


def test_same_instant_derivatives_are_near_not_burst() -> None:
    base = textured_image(900, 600, seed=5)
    half = base.resize((450, 300), Image.Resampling.LANCZOS)
    items = [
        DupItem("orig", ("/orig.jpg",), _sig(base), _meta(T0 + 0.25)),
        DupItem("half", ("/half.jpg",), _sig(half), _meta(T0 + 0.25)),
    ]
    groups = find_duplicates(items)
    assert [(g.kind, g.fingerprints) for g in groups] == [(DupKind.NEAR, ("half", "orig"))]
    assert groups[0].detail["relations"] == ["re-encode/resize"]  # no width/height given


def test_same_scene_minutes_apart_is_not_near() -> None:
    base = textured_image(960, 640, seed=6)
    shifted = base.crop((20, 10, 940, 630)).resize((960, 640), Image.Resampling.BICUBIC)
    sig_a, sig_b = _sig(base), _sig(shifted)
    apart = [DupItem("a", ("/a",), sig_a, _meta(T0)), DupItem("b", ("/b",), sig_b, _meta(T0 + 300))]
    assert find_duplicates(apart) == []
    undated = [DupItem("a", ("/a",), sig_a, _meta(None)), DupItem("b", ("/b",), sig_b, _meta(None))]
    assert [g.kind for g in find_duplicates(undated)] == [DupKind.NEAR]  # only the dates tell them apart


def test_crop_found_through_neighbors_and_verified() -> None:
    base = textured_image(960, 640, seed=7)
    w, h = base.size
    crop = base.crop((int(0.22 * w), int(0.08 * h), int(0.9 * w), int(0.75 * h)))
    other = textured_image(960, 640, seed=8)
    items = [
        DupItem("base", ("/base.jpg",), _sig(base), {}),
        DupItem("crop", ("/crop.jpg",), _sig(crop), {}),
        DupItem("other", ("/other.jpg",), _sig(other), {}),
    ]
    everyone = [(i.fingerprint, 0.9) for i in items]
    groups = find_duplicates(items, neighbors=lambda fp: everyone)
    assert [(g.kind, g.fingerprints) for g in groups] == [(DupKind.NEAR, ("base", "crop"))]
    (pair,) = groups[0].detail["pairs"]
    assert pair["relation"] == "crop" and pair["cropped"] == "crop"
    # Hashes do not survive a crop: without neighbours or shared capture time it is not proposed.
    assert find_duplicates(items) == []


def test_items_lacking_signature_or_metadata() -> None:
    base = textured_image(600, 400, seed=9)
    items = [
        DupItem("none", ("/n1", "/n2"), None, {}),
        DupItem("sig", ("/s",), _sig(base), {}),
        DupItem("sig2", ("/s2",), _sig(base.resize((300, 200))), {"camera_model": 7, "captured_ts": "x"}),
        DupItem("meta", ("/m",), None, _meta(T0)),
    ]
    hashes = {"/n1": "h", "/n2": "h"}
    groups = find_duplicates(
        items, neighbors=lambda fp: [("none", 1.0), ("zzz", 1.0)], full_hash=hashes.__getitem__
    )
    assert [(g.kind, g.fingerprints) for g in groups] == [
        (DupKind.EXACT, ("none",)),
        (DupKind.NEAR, ("sig", "sig2")),
    ]


def test_unreadable_candidate_is_left_out() -> None:
    def failing(path: str) -> str:
        if path == "/gone":
            raise FileNotFoundError(path)
        return "h"

    items = [DupItem("fp", ("/a", "/b", "/gone"), None, {})]
    assert [g.paths for g in find_duplicates(items, full_hash=failing)] == [("/a", "/b")]


def test_exact_confirmation_never_opens_a_fifo(tmp_path):
    """A copy replaced by a FIFO since the scan: refused at once (an OSError the grouping skips), no hang."""
    import os
    import time

    from bridge.analyses.duplicates import blake2b_file
    from bridge.files.paths import NotRegularFile

    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x" * 1000)
    fifo = tmp_path / "b.jpg"
    os.mkfifo(fifo)
    assert blake2b_file(str(photo)) == blake2b_file(str(photo))
    started = time.monotonic()
    with pytest.raises(NotRegularFile):
        blake2b_file(str(fifo))
    assert time.monotonic() - started < 5
