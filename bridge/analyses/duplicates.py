"""Duplicate detection, reported as three separate kinds that are never lumped together.

Pure: no ledger, no store. The caller gives one `DupItem` per content fingerprint (its paths, its
`bridge.analyses.dupsig` signature, its normalized metadata) and optionally a `neighbors(fingerprint)` callable
answered from the vector store's kNN. `find_duplicates` returns `DupGroup`s of one `DupKind` each.

**exact** -- byte-identical files. Candidates are the paths that share one cheap fingerprint (size +
first/last 64 KiB; items with equal fingerprints are merged first). Each candidate path is confirmed with
`full_hash` (a streaming blake2b of the whole file), computed only for candidates, never for every file;
a fingerprint collision (same ends, different middle) splits into separate groups or none. A path that
cannot be read is left out. One exact group = one full hash, listing every path with those bytes.

**burst** -- frames from one camera: same make + model (case-insensitive), and the same serial number
when both frames have one. Frames are ordered by capture time (`captured_ts`, sub-seconds included);
frames at the *same* instant (and with equal or missing `sequence_number`) are one shot -- a shot's
re-exports, never a burst of their own. Consecutive shots chain into a burst when their times differ by
more than 0 and at most `burst_gap_s`, or when their `sequence_number`s are consecutive (non-zero) and
they are at most `burst_sequence_gap_s` apart (cameras that record whole seconds only). A burst has at
least two shots; its frames (fingerprints, and paths) are listed in time order. Whether a time has
sub-seconds is read from `captured_at`, or from `subsec_time_original` when the payload has it (a
camera's ".000" leaves no fraction in `captured_at`). Frames of one burst that are different shots are
never near-duplicates of each other.

**near** -- different bytes, same picture: re-encodes (JPEG quality, PNG/WebP), resizes, crops (down to
`crop_min_field` of the frame per axis), small tonal edits. Candidate pairs, never all-pairs:
  1. multi-band LSH on the 64-bit phash and dhash (`lsh_bands` bands each; by pigeonhole any pair
     within `lsh_bands - 1` bits shares a band) plus `lsh_extra_tables` tables of randomly sampled bits
     each (pairs a few bits further apart); over-full buckets only pair hash-sorted neighbours;
  2. `neighbors(fingerprint)`: the top `neighbors_k` with cosine >= `neighbor_min_cosine`;
  3. same camera (or camera unknown on one side) and the same capture instant.
Each candidate pair is then verified:
  - vetoed when both have a capture time and the instants differ (two exposures, e.g. the same scene
    minutes apart, or frames of a burst), or at one instant with different sequence numbers. Instants
    compare on the local wall clock of `captured_at` (a copy that lost its UTC offset still matches), to
    the whole second when one side has no sub-seconds (some editors drop SubSecTimeOriginal);
  - accepted as re-encode/resize when phash <= `phash_distance` and dhash <= `dhash_distance` bits apart
    ("re-encode" when the metadata width/height are equal, else "resize");
  - otherwise, for candidates from sources 2 and 3 (a crop does not keep its hashes, so LSH alone
    cannot propose one), accepted as "crop" when one thumbnail, scaled over a geometric range of
    factors, matches inside the other with zero-mean normalised cross-correlation >= `crop_ncc`, and
    the high-pass (detail) images correlate >= `crop_detail_ncc` at that offset.
Verified pairs are union-found into groups. Items without a signature never join a near group.

Every group's detail is JSON-safe. Exact and near groups list fingerprints and paths sorted; groups are
sorted by kind (exact, near, burst) and then by their first path.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import cv2
import numpy as np

from bridge.analyses.dupsig import DupSignature
from bridge.files.paths import open_regular


class DupKind(StrEnum):
    EXACT = "exact"
    NEAR = "near"
    BURST = "burst"


@dataclass(frozen=True, slots=True)
class DupItem:
    fingerprint: str  # content id (cheap fingerprint): same fingerprint = same bytes, very probably
    paths: tuple[str, ...]  # every current path with that content
    signature: DupSignature | None
    # camera_make, camera_model, serial_number, captured_ts, captured_at, sequence_number, width, height,
    # and subsec_time_original when known (tells "no sub-seconds" from ".000")
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DupGroup:
    kind: DupKind
    fingerprints: tuple[str, ...]
    paths: tuple[str, ...]
    detail: dict[str, Any]


@dataclass(frozen=True)
class DupOptions:
    phash_distance: int = 10  # unrelated photos sit ~32 bits apart; re-encodes/resizes within ~6
    dhash_distance: int = 14  # dhash is noisier on re-encodes; a second opinion against phash collisions
    burst_gap_s: float = 1.0  # most between consecutive frames (sub-second: >= 1 fps bursts)
    burst_sequence_gap_s: float = 5.0  # most between frames chained by consecutive sequence numbers
    neighbors_k: int = 10  # kNN answers used per item
    neighbor_min_cosine: float = 0.80  # kNN answers below this are not worth verifying
    lsh_bands: int = 4  # bands per 64-bit hash: 4 x 16 bits finds every pair within 3 bits for sure
    lsh_extra_tables: int = 6  # sampled-bit 16-bit tables per hash on top: most pairs 4-10 bits apart
    lsh_max_bucket: int = 64  # bigger buckets (flat/black frames) only pair hash-sorted neighbours
    lsh_window: int = 8  # how many hash-sorted neighbours each member of an over-full bucket meets
    crop_min_field: float = 0.35  # smallest kept fraction of the frame per axis (30 % off both sides)
    crop_ncc: float = 0.88  # thumbnail cross-correlation needed to accept a crop (true crops: >= 0.9)
    crop_detail_ncc: float = 0.75  # high-pass correlation at that offset (true >= 0.8, unrelated <= 0.7)
    crop_scale_step: float = 1.03  # geometric step of the crop scale search
    instant_tolerance_s: float = 0.002  # capture times closer than this are one instant


# Candidate sources (bit flags), so verification knows whether a thumbnail search is worthwhile.
_LSH, _NEIGHBOR, _INSTANT = 1, 2, 4
_MASK64 = (1 << 64) - 1


def blake2b_file(path: str) -> str:
    """Streaming blake2b of the whole file (1 MiB reads): the exact-duplicate confirmation. Only a regular
    file is read: one replaced by a FIFO since the scan raises NotRegularFile (an OSError) at once, never
    blocks (R48)."""
    h = hashlib.blake2b(digest_size=32)
    with open_regular(path) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def find_duplicates(
    items: Sequence[DupItem],
    *,
    kinds: Collection[DupKind] = tuple(DupKind),
    neighbors: Callable[[str], Sequence[tuple[str, float]]] | None = None,
    options: DupOptions = DupOptions(),  # noqa: B008 - frozen, so a shared default is safe
    full_hash: Callable[[str], str] = blake2b_file,
) -> list[DupGroup]:
    """Exact, near and burst groups among `items` (see the module docstring)."""
    kinds = {DupKind(k) for k in kinds}
    merged = _merge(items)
    groups: list[DupGroup] = []
    if DupKind.EXACT in kinds:
        groups += _exact_groups(merged, full_hash)
    if DupKind.NEAR in kinds or DupKind.BURST in kinds:
        # Canonical order (by fingerprint), so the result never depends on the order of `items`.
        infos = [_Info.of(merged[fp]) for fp in sorted(merged)]
        bursts = _bursts(infos, options)  # always: burst frames are excluded from near groups
        if DupKind.BURST in kinds:
            groups += _burst_groups(bursts)
        if DupKind.NEAR in kinds:
            groups += _near_groups(infos, bursts, neighbors, options)
    order = {DupKind.EXACT: 0, DupKind.NEAR: 1, DupKind.BURST: 2}
    groups.sort(key=lambda g: (order[g.kind], g.paths, g.fingerprints))
    return groups


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------


def _merge(items: Iterable[DupItem]) -> dict[str, DupItem]:
    """One item per fingerprint: paths united, the first signature and metadata that exist kept."""
    out: dict[str, DupItem] = {}
    for item in items:
        prev = out.get(item.fingerprint)
        if prev is None:
            out[item.fingerprint] = item
            continue
        paths = tuple(dict.fromkeys((*prev.paths, *item.paths)))
        out[item.fingerprint] = DupItem(
            item.fingerprint, paths, prev.signature or item.signature, prev.metadata or item.metadata
        )
    return out


_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class _Info:
    """What grouping needs of one item, parsed once."""

    fp: str
    paths: tuple[str, ...]
    sig: DupSignature | None
    camera: tuple[str, str] | None  # (make, model) casefolded; None when the model is unknown
    serial: str | None
    ts: float | None  # captured_ts (absolute) or, failing that, the local wall clock
    wall: float | None  # local wall clock of captured_at as seconds (zone ignored), else captured_ts
    subsec: bool  # whether the capture time carries sub-seconds
    seq: int | None  # sequence_number, None when missing or 0 ("single shot" for most makers)
    size: tuple[int, int] | None
    captured_at: str | None

    @classmethod
    def of(cls, item: DupItem) -> _Info:
        md = item.metadata or {}
        make = _text(md.get("camera_make"))
        model = _text(md.get("camera_model"))
        captured_at = md.get("captured_at") if isinstance(md.get("captured_at"), str) else None
        wall, subsec = _wall_clock(captured_at)
        # captured_at drops trailing zeros ("000" -> no fraction): the raw SubSecTimeOriginal, when the
        # payload has it, says whether the camera records sub-seconds at all.
        subsec = subsec or bool(_text(md.get("subsec_time_original")))
        ts = _number(md.get("captured_ts"))
        if ts is not None and wall is None:
            wall, subsec = ts, not float(ts).is_integer()
        seq = md.get("sequence_number")
        width, height = md.get("width"), md.get("height")
        return cls(
            fp=item.fingerprint,
            paths=tuple(sorted(item.paths)),
            sig=item.signature,
            camera=(make.casefold(), model.casefold()) if model else None,
            serial=_text(md.get("serial_number")) or None,
            ts=ts if ts is not None else wall,
            wall=wall,
            subsec=subsec,
            seq=seq if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 else None,
            size=(width, height) if isinstance(width, int) and isinstance(height, int) else None,
            captured_at=captured_at,
        )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _wall_clock(captured_at: str | None) -> tuple[float | None, bool]:
    """Local wall-clock seconds of an ISO capture time (any UTC offset ignored) and whether it has
    sub-seconds. Comparing wall clocks keeps a copy that lost OffsetTimeOriginal on the same instant."""
    match = _ISO_RE.match(captured_at or "")
    if not match:
        return None, False
    y, mo, d, h, mi, s, frac = match.groups()
    try:
        local = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=UTC)
    except ValueError:
        return None, False
    seconds = local.timestamp() + (float("0." + frac) if frac else 0.0)
    return seconds, bool(frac and frac.strip("0"))


def _same_instant(a: _Info, b: _Info, tolerance: float) -> bool | None:
    """True/False when both capture times are known, None otherwise. When one side has whole seconds
    only, the same second counts as the same instant."""
    if a.wall is None or b.wall is None:
        return None
    if a.subsec and b.subsec:
        return abs(a.wall - b.wall) < tolerance
    return math.floor(a.wall + tolerance) == math.floor(b.wall + tolerance)


# --------------------------------------------------------------------------------------------
# Exact
# --------------------------------------------------------------------------------------------


def _exact_groups(merged: Mapping[str, DupItem], full_hash: Callable[[str], str]) -> list[DupGroup]:
    groups = []
    for fp, item in merged.items():
        if len(item.paths) < 2:
            continue  # a lone path has no byte twin: never hash it
        by_hash: dict[str, list[str]] = defaultdict(list)
        for path in item.paths:
            try:
                by_hash[full_hash(path)].append(path)
            except OSError:
                continue  # vanished or unreadable since the scan: cannot be confirmed
        for digest, paths in by_hash.items():
            if len(paths) >= 2:
                detail = {"full_hash": digest, "copies": len(paths)}
                if len(by_hash) > 1:
                    detail["fingerprint_collision"] = True  # same ends, different middles
                groups.append(DupGroup(DupKind.EXACT, (fp,), tuple(sorted(paths)), detail))
    return groups


# --------------------------------------------------------------------------------------------
# Burst
# --------------------------------------------------------------------------------------------


def _camera_bodies(infos: Iterable[_Info]) -> list[list[_Info]]:
    """Items by camera body: make + model, split by serial number when several serials occur (items
    without a serial join the only serial there is, else stay on their own)."""
    by_model: dict[tuple[str, str], list[_Info]] = defaultdict(list)
    for info in infos:
        if info.camera is not None and info.ts is not None:
            by_model[info.camera].append(info)
    bodies = []
    for members in by_model.values():
        serials = {m.serial for m in members if m.serial}
        if len(serials) <= 1:
            bodies.append(members)
            continue
        by_serial: dict[str, list[_Info]] = defaultdict(list)
        for m in members:
            by_serial[m.serial or ""].append(m)
        bodies.extend(by_serial.values())
    return bodies


def _shots(body: list[_Info], tolerance: float) -> list[list[_Info]]:
    """Time-ordered shots: runs of items at one instant with equal (or missing) sequence numbers."""
    ordered = sorted(body, key=lambda i: (i.ts, i.seq or 0, i.fp))
    shots: list[list[_Info]] = []
    for info in ordered:
        if shots:
            last = shots[-1][-1]
            seq_clash = info.seq is not None and last.seq is not None and info.seq != last.seq
            if not seq_clash and _same_instant(last, info, tolerance):
                shots[-1].append(info)
                continue
        shots.append([info])
    return shots


def _chained(a: list[_Info], b: list[_Info], options: DupOptions) -> bool:
    first, second = a[-1], b[0]
    gap = second.ts - first.ts  # type: ignore[operator]  # bodies hold timed items only
    if options.instant_tolerance_s <= gap <= options.burst_gap_s:
        return True
    if first.seq is not None and second.seq is not None and second.seq - first.seq == 1:
        return 0 <= gap <= options.burst_sequence_gap_s
    return False


def _bursts(infos: Sequence[_Info], options: DupOptions) -> list[list[list[_Info]]]:
    """Each burst as its time-ordered shots (each shot a list of items at one instant)."""
    bursts = []
    for body in _camera_bodies(infos):
        run: list[list[_Info]] = []
        for shot in _shots(body, options.instant_tolerance_s):
            if run and _chained(run[-1], shot, options):
                run.append(shot)
                continue
            if len(run) >= 2:
                bursts.append(run)
            run = [shot]
        if len(run) >= 2:
            bursts.append(run)
    return bursts


def _burst_groups(bursts: Sequence[list[list[_Info]]]) -> list[DupGroup]:
    groups = []
    for shots in bursts:
        frames = [info for shot in shots for info in shot]
        gaps = [b[0].ts - a[-1].ts for a, b in zip(shots, shots[1:], strict=False)]  # type: ignore[operator]
        detail = {
            "frames": len(shots),
            "span_s": round(frames[-1].ts - frames[0].ts, 6),  # type: ignore[operator]
            "max_gap_s": round(max(gaps), 6),
            "camera": " ".join(frames[0].camera or ()),
            "start": frames[0].captured_at,
            "end": frames[-1].captured_at,
        }
        if len(frames) > len(shots):
            detail["shot_of"] = {i.fp: n for n, shot in enumerate(shots) for i in shot}
        groups.append(
            DupGroup(
                DupKind.BURST,
                tuple(i.fp for i in frames),
                tuple(p for i in frames for p in i.paths),
                detail,
            )
        )
    return groups


# --------------------------------------------------------------------------------------------
# Near
# --------------------------------------------------------------------------------------------


def _near_groups(
    infos: Sequence[_Info],
    bursts: Sequence[list[list[_Info]]],
    neighbors: Callable[[str], Sequence[tuple[str, float]]] | None,
    options: DupOptions,
) -> list[DupGroup]:
    index = {info.fp: n for n, info in enumerate(infos)}
    candidates: dict[tuple[int, int], int] = defaultdict(int)
    _lsh_candidates(infos, options, candidates)
    _instant_candidates(infos, options, candidates)
    if neighbors is not None:
        for n, info in enumerate(infos):
            if info.sig is None:
                continue
            kept = 0
            for other, cosine in neighbors(info.fp):
                if kept >= options.neighbors_k:
                    break
                m = index.get(other)
                if m is None or m == n:
                    continue
                kept += 1
                if cosine >= options.neighbor_min_cosine:
                    candidates[(min(n, m), max(n, m))] |= _NEIGHBOR

    # Frames of one burst that are different shots are the burst's business, not near-duplicates.
    shot_of: dict[int, tuple[int, int]] = {}
    for b, shots in enumerate(bursts):
        for s, shot in enumerate(shots):
            for info in shot:
                shot_of[index[info.fp]] = (b, s)

    parent = list(range(len(infos)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    edges: list[tuple[int, int, dict[str, Any]]] = []
    for (n, m), sources in sorted(candidates.items()):
        sn, sm = shot_of.get(n), shot_of.get(m)
        if sn is not None and sm is not None and sn[0] == sm[0] and sn != sm:
            continue
        verdict = _verify(infos[n], infos[m], sources, options)
        if verdict is not None:
            edges.append((n, m, verdict))
            parent[find(n)] = find(m)

    members: dict[int, list[int]] = defaultdict(list)
    for n in range(len(infos)):
        members[find(n)].append(n)
    edges_of: dict[int, list[tuple[int, int, dict[str, Any]]]] = defaultdict(list)
    for edge in edges:
        edges_of[find(edge[0])].append(edge)

    groups = []
    for root, nodes in members.items():
        if len(nodes) < 2:
            continue
        group_edges = edges_of[root]
        pairs = sorted(
            (
                {"a": min(infos[n].fp, infos[m].fp), "b": max(infos[n].fp, infos[m].fp), **v}
                for n, m, v in group_edges
            ),
            key=lambda p: (p["a"], p["b"]),
        )
        fps = sorted(infos[n].fp for n in nodes)
        detail = {
            "max_phash_distance": max(p["phash_distance"] for p in pairs),
            "min_similarity": min(p["similarity"] for p in pairs),
            "relations": sorted({p["relation"] for p in pairs}),
            "pairs": pairs,
        }
        paths = tuple(sorted(p for n in nodes for p in infos[n].paths))
        groups.append(DupGroup(DupKind.NEAR, tuple(fps), paths, detail))
    return groups


def _lsh_tables(bands: int, extra: int) -> list[np.ndarray]:
    """Bit positions of each LSH table: `bands` contiguous bands (pigeonhole: every pair within
    bands - 1 bits shares one), then `extra` tables of as many bits sampled by a fixed-seed permutation,
    which catch most pairs a few bits further apart."""
    bits = 64 // max(1, bands)
    tables = [np.arange(b * bits, (b + 1) * bits) for b in range(max(1, bands))]
    rng = np.random.default_rng(0x5EED)  # fixed: results must not change between runs
    tables += [np.sort(rng.permutation(64)[:bits]) for _ in range(max(0, extra))]
    return tables


def _lsh_candidates(infos: Sequence[_Info], options: DupOptions, out: dict[tuple[int, int], int]) -> None:
    """Pairs sharing the key of one LSH table on phash or dhash and within both hash distances.

    All in numpy, so 1M items cost a few sorts per table: keys are sorted, equal keys sit in runs, and
    pairs are read at growing offsets along the sorted order (up to `lsh_max_bucket`; members of an
    over-full run, e.g. black frames, only meet their `lsh_window` nearest by whole hash). A pair that
    only LSH proposed is accepted by its hash distances alone, so they are checked here, vectorised."""
    idx = np.array([n for n, i in enumerate(infos) if i.sig is not None], dtype=np.int64)
    if len(idx) < 2:
        return
    hashes = {
        attr: np.array([getattr(infos[n].sig, attr) & _MASK64 for n in idx], dtype=np.uint64)
        for attr in ("phash", "dhash")
    }
    found: list[np.ndarray] = []
    for values in hashes.values():
        for positions in _lsh_tables(options.lsh_bands, options.lsh_extra_tables):
            keys = np.zeros(len(values), dtype=np.uint64)
            for j, pos in enumerate(positions.tolist()):
                keys |= ((values >> np.uint64(pos)) & np.uint64(1)) << np.uint64(j)
            order = np.lexsort((values, keys))  # by key, then by the whole hash (for over-full runs)
            sorted_keys = keys[order]
            starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
            run_len = np.diff(np.r_[starts, len(order)])
            length_at = np.repeat(run_len, run_len)  # run length of each sorted position
            for offset in range(1, max(2, options.lsh_max_bucket)):
                same = sorted_keys[offset:] == sorted_keys[:-offset]
                if not same.any():
                    break
                if offset > options.lsh_window:
                    same &= length_at[offset:] <= options.lsh_max_bucket
                hit = np.flatnonzero(same)
                a, b = order[hit], order[hit + offset]
                ph = np.bitwise_count(hashes["phash"][a] ^ hashes["phash"][b])
                dh = np.bitwise_count(hashes["dhash"][a] ^ hashes["dhash"][b])
                keep = (ph <= options.phash_distance) & (dh <= options.dhash_distance)
                a, b = a[keep], b[keep]
                found.append(np.minimum(a, b) * len(idx) + np.maximum(a, b))  # one int64 per pair
    if not found:
        return
    codes = np.unique(np.concatenate(found))
    close = np.stack([codes // len(idx), codes % len(idx)], axis=1)
    for n, m in idx[close].tolist():
        out[(min(n, m), max(n, m))] |= _LSH


def _instant_candidates(infos: Sequence[_Info], options: DupOptions, out: dict[tuple[int, int], int]) -> None:
    """Pairs captured at the same instant by the same camera (or a camera unknown on one side): a
    photo and its edited/cropped exports usually keep DateTimeOriginal."""
    by_second: dict[int, list[int]] = defaultdict(list)
    for n, info in enumerate(infos):
        if info.sig is not None and info.wall is not None:
            by_second[math.floor(info.wall + options.instant_tolerance_s)].append(n)
    for run in by_second.values():
        if len(run) < 2:
            continue
        run.sort(key=lambda n: (infos[n].camera or ("", ""), infos[n].wall))
        window = len(run) if len(run) <= options.lsh_max_bucket else options.lsh_window + 1
        for a in range(len(run)):
            for b in range(a + 1, min(len(run), a + window)):
                x, y = infos[run[a]], infos[run[b]]
                if x.camera is not None and y.camera is not None and x.camera != y.camera:
                    continue
                if _same_instant(x, y, options.instant_tolerance_s):
                    n, m = run[a], run[b]
                    out[(min(n, m), max(n, m))] |= _INSTANT


def _verify(a: _Info, b: _Info, sources: int, options: DupOptions) -> dict[str, Any] | None:
    """The relation of a candidate pair, or None when it is not the same picture."""
    if a.sig is None or b.sig is None:
        return None
    if _same_instant(a, b, options.instant_tolerance_s) is False:
        return None  # two exposures: a burst's frames, or the same scene taken again
    if a.seq is not None and b.seq is not None and a.seq != b.seq:
        return None
    ph = (a.sig.phash ^ b.sig.phash).bit_count()
    dh = (a.sig.dhash ^ b.sig.dhash).bit_count()
    if ph <= options.phash_distance and dh <= options.dhash_distance:
        relation = "re-encode" if a.size is None or b.size is None or a.size == b.size else "resize"
        if a.size is None or b.size is None:
            relation = "re-encode/resize"
        return {
            "relation": relation,
            "phash_distance": ph,
            "dhash_distance": dh,
            "similarity": round(1.0 - ph / 64.0, 4),
        }
    if not sources & (_NEIGHBOR | _INSTANT):
        return None
    found = _containment(a.sig, b.sig, options)
    if found is None:
        return None
    ncc, field_fraction, detail, a_inside_b = found
    if ncc < options.crop_ncc or detail < options.crop_detail_ncc:
        return None
    return {
        "relation": "crop" if field_fraction < 0.95 else "re-encode/resize",
        "cropped": (a if a_inside_b else b).fp,
        "field": round(field_fraction, 3),
        "phash_distance": ph,
        "dhash_distance": dh,
        "similarity": round(ncc, 4),
        "detail_similarity": round(detail, 4),
    }


def _containment(
    a: DupSignature, b: DupSignature, options: DupOptions
) -> tuple[float, float, float, bool] | None:
    """Best (ncc, kept area fraction, detail ncc, a-is-inside-b) of either thumbnail inside the other."""
    ta, tb = a.thumb_array(), b.thumb_array()
    best: tuple[float, float, float, bool] | None = None
    for template, scene, a_inside in ((ta, tb, True), (tb, ta, False)):
        found = _search(template, scene, options)
        if found is not None and (best is None or found[0] > best[0]):
            best = (*found, a_inside)
    return best


def _search(
    template: np.ndarray, scene: np.ndarray, options: DupOptions
) -> tuple[float, float, float] | None:
    """Scale `template` (the smaller field of view) down over a geometric range so that it covers between
    `crop_min_field` and all of `scene` on each axis, and cross-correlate it at every offset. Crops keep
    the pixel aspect, so one scale factor suffices. Returns (best ncc, kept area fraction, detail ncc):
    the detail score correlates the high-pass images at the best offset, because smooth, low-texture
    thumbnails reach a high plain NCC with a small patch of almost anything."""
    th, tw = template.shape
    sh, sw = scene.shape
    if min(th, tw, sh, sw) < 8:
        return None
    k_max = min(sw / tw, sh / th)
    k_min = max(options.crop_min_field * sw / tw, options.crop_min_field * sh / th)
    if k_max < k_min:
        return None  # the shapes cannot be a crop of one another
    best: tuple[float, int, int, int, int, np.ndarray] | None = None
    k = k_max
    while k >= k_min * 0.999:
        w, h = min(sw, round(tw * k)), min(sh, round(th * k))
        if w < 8 or h < 8:
            break
        small = cv2.resize(template, (w, h), interpolation=cv2.INTER_AREA) if (w, h) != (tw, th) else template
        if float(small.std()) >= 2.0:  # a flat template correlates with anything (or with nothing)
            _, score, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(scene, small, cv2.TM_CCOEFF_NORMED))
            if math.isfinite(score) and (best is None or score > best[0]):
                best = (score, x, y, w, h, small)
        k /= options.crop_scale_step
    if best is None:
        return None
    score, x, y, w, h, small = best
    detail = _ncc(_high_pass(small), _high_pass(scene[y : y + h, x : x + w]))
    return float(score), (w * h) / (sw * sh), detail


def _high_pass(img: np.ndarray) -> np.ndarray:
    f = img.astype(np.float32)
    return f - cv2.GaussianBlur(f, (0, 0), 1.5)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denom if denom > 1e-6 else 0.0


__all__ = [
    "DupGroup",
    "DupItem",
    "DupKind",
    "DupOptions",
    "blake2b_file",
    "find_duplicates",
]
