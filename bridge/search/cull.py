"""Culling over the index: the photos of a folder (or of a Lightroom catalog) with their stored analyses and
duplicate groups, ranked and decided by `bridge.analyses.culling`, the results stored in the ledger's `cull`
table (`bridge.state.culling`), the user's overrides kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.analyses.culling import CULL_VERSION, CullOptions, CullPhoto, CullResult, cull
from bridge.analyses.duplicates import DupItem, DupOptions, find_duplicates
from bridge.analyses.dupsig import DupSignature
from bridge.engine import Engine
from bridge.indexing.sidecars import content_metadata
from bridge.records import Stage
from bridge.search.duplicates import Neighbors, store_neighbors
from bridge.settings import Settings
from bridge.state import culling as state
from bridge.state.ledger import Ledger

FACES = "faces"  # the faces stage's kind (bridge/analyses/README.md, "Faces"); absent when not installed


@dataclass
class CullReport:
    results: list[CullResult]
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out = {"pick": 0, "reject": 0, "undecided": 0}
        for r in self.results:
            out[str(r.decision)] += 1
        return out

    def groups(self) -> list[list[CullResult]]:
        by: dict[str, list[CullResult]] = {}
        for r in self.results:
            by.setdefault(r.group, []).append(r)
        return list(by.values())


def options_from(settings: Settings, **given: Any) -> CullOptions:
    """The cull options of the settings (`cull_*`), with the command's target and `per` on top."""
    weights = dict(CullOptions().weights)
    weights.update(settings.cull_weights)
    base: dict[str, Any] = {
        "weights": weights,
        "eyes_closed_below": settings.cull_eyes_closed_below,
        "out_of_focus_below": settings.cull_out_of_focus_below,
        "motion_blur_above": settings.cull_motion_blur_above,
        "under_exposed_below": settings.cull_under_exposed_below,
        "over_exposed_above": settings.cull_over_exposed_above,
        "tilted_below": settings.cull_tilted_below,
        "cut_above": settings.cull_cut_above,
        "bracket_gap_s": settings.cull_bracket_gap_s,
    }
    base.update({k: v for k, v in given.items() if v is not None})
    return CullOptions(**base)


def parse_target(text: str | None) -> tuple[float | None, int | None]:
    """"30%" → (0.3, None); "12" → (None, 12); None → (None, None). Raises ValueError for anything else."""
    if text is None or not text.strip():
        return None, None
    t = text.strip()
    if t.endswith("%"):
        share = float(t[:-1]) / 100.0
        if not 0 < share <= 1:
            raise ValueError(f"--target {text}: a share must be above 0% and at most 100%")
        return share, None
    try:
        count = int(t)
    except ValueError:
        raise ValueError(f"--target {text}: give a share (30%) or a count (12)") from None
    if count < 1:
        raise ValueError(f"--target {text}: a count must be at least 1")
    return None, count


def collect_in_scope(ledger: Ledger, in_scope: Callable[[str], bool]) -> list[DupItem]:
    """The live contents with a path in scope (only those paths), their signatures and metadata."""
    paths = {fp: [p for p in ps if in_scope(p)] for fp, ps in ledger.path_index().items()}
    paths = {fp: ps for fp, ps in paths.items() if ps}
    sigs = {
        fp: DupSignature.from_json(data) for fp, _, data in ledger.iter_analyses(Stage.DUPSIG) if fp in paths
    }
    metas = content_metadata(ledger, paths)
    return [DupItem(fp, tuple(ps), sigs.get(fp), metas.get(fp, {})) for fp, ps in sorted(paths.items())]


def photos_from_index(
    ledger: Ledger, in_scope: Callable[[str], bool]
) -> tuple[list[CullPhoto], list[DupItem], list[str]]:
    """The indexed photos `in_scope` says yes to, with their analyses; the duplicate items; notes."""
    items = collect_in_scope(ledger, in_scope)
    fps = [i.fingerprint for i in items]
    analyses = ledger.analyses_for(fps, [Stage.QUALITY, Stage.COMPOSITION, FACES])
    photos: list[CullPhoto] = []
    no_quality = no_faces = 0
    for item in items:
        a = analyses.get(item.fingerprint, {})
        no_quality += Stage.QUALITY not in a
        no_faces += FACES not in a
        thumb = item.signature.thumb_array() if item.signature is not None else None
        for path in item.paths:
            photos.append(
                CullPhoto(
                    path=path,
                    fingerprint=item.fingerprint,
                    metadata=item.metadata,
                    quality=a.get(Stage.QUALITY),
                    composition=a.get(Stage.COMPOSITION),
                    faces=a.get(FACES),
                    thumb=thumb,
                )
            )
    notes: list[str] = []
    if no_quality:
        notes.append(
            f"{no_quality} of {len(items)} photos have no quality scores yet (run `pixel-detective index`): "
            "they are ranked on what else is known"
        )
    if items and no_faces == len(items):
        notes.append("no face analysis in the index (setting faces = true): eyes are not checked")
    return photos, items, notes


def under(folder: str) -> Callable[[str], bool]:
    root = os.path.abspath(folder).rstrip(os.sep) + os.sep
    return lambda p: p.startswith(root)


def among(paths: Collection[str]) -> Callable[[str], bool]:
    wanted = set(paths)
    return lambda p: p in wanted


def cull_index(
    engine: Engine,
    in_scope: Callable[[str], bool],
    options: CullOptions,
    *,
    use_vectors: bool = True,
    dup_options: DupOptions | None = None,
    store: bool = True,
) -> CullReport:
    """Cull the photos in scope, store the results (keeping overrides) and return them."""
    dup_options = dup_options or DupOptions()
    neighbors = (
        store_neighbors(engine, dup_options.neighbors_k, dup_options.neighbor_min_cosine) if use_vectors else None
    )
    return cull_ledger(engine.ledger, in_scope, options, neighbors=neighbors, dup_options=dup_options, store=store)


def cull_ledger(
    ledger: Ledger,
    in_scope: Callable[[str], bool],
    options: CullOptions,
    *,
    neighbors: Neighbors | None = None,
    dup_options: DupOptions | None = None,
    store: bool = True,
) -> CullReport:
    """`cull_index` on a ledger, with the vector store's neighbours when given."""
    photos, items, notes = photos_from_index(ledger, in_scope)
    if not photos:
        return CullReport([], notes or ["no indexed photos here: run `pixel-detective index` first"])
    dup_options = dup_options or DupOptions()
    scoped: Neighbors | None = None
    if neighbors is not None:
        fps = {i.fingerprint for i in items}
        inner = neighbors

        def scoped(fp: str) -> list[tuple[str, float]]:  # only neighbours in scope
            return [(f, s) for f, s in inner(fp) if f in fps]

    groups = find_duplicates(items, neighbors=scoped, options=dup_options)
    overrides = state.overrides(ledger, [p.path for p in photos])
    results = cull(photos, groups, options, overrides)
    if store:
        state.store(ledger, [row_of(r) for r in results], CULL_VERSION)
    return CullReport(results, notes)


def row_of(r: CullResult) -> Mapping[str, Any]:
    return {
        "path": r.path,
        "fingerprint": r.fingerprint,
        "group_id": r.group,
        "group_kind": r.group_kind,
        "group_size": r.group_size,
        "rank": r.rank,
        "score": r.score,
        "decision": str(r.decision),
        "reasons": r.reasons,
        "sentence": r.sentence,
        "eyes_open": r.eyes_open,
        "face_count": r.face_count,
        "unit": r.unit,
    }
