"""Keeping the store in step with the ledger around the batches: free space, payloads of content whose
vector already exists (new analyses, new paths), vectors no file refers to any more, and files gone."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from bridge.analyses.kinds import payload_fields
from bridge.files.diskspace import DiskFullError, ensure_free, free_bytes, human_bytes, tree_size
from bridge.indexing import sidecars
from bridge.indexing.context import RunContext
from bridge.indexing.payload import build_payload, path_fields, point_id
from bridge.indexing.scan import normalize_root
from bridge.indexing.summary import Tally
from bridge.records import RunFailure, Stage
from bridge.settings import Settings
from bridge.state.rows import AnalysisResult

# What one file adds on disk, generously: its vector and payload in the store (WAL + segment) and its rows
# in the ledger (+ WAL). Times the batch size, it is the room a batch needs on top of `min_free_mb`.
BYTES_PER_FILE = 64 * 1024
PAYLOAD_CHUNK = 500  # contents per ledger read when payloads are rebuilt


def ensure_space(settings: Settings, files: int, what: str) -> None:
    """Raise RunFailure below `min_free_mb` (+ room for `files`) on the data dir's disk. Qdrant Edge writes
    through memory maps, and a map that cannot grow kills the process with SIGBUS, without a word: callers
    check before the store is even opened (opening maps and extends its files), then before each batch."""
    try:
        ensure_free(
            settings.data_dir, files * BYTES_PER_FILE, what, margin=settings.min_free_mb * 1024 * 1024
        )
    except DiskFullError as e:
        raise RunFailure(
            disk_full(
                f"not enough free space to {what}: the disk holding {e.path} has {human_bytes(e.free)} "
                f"free, below the {human_bytes(e.need)} kept free while indexing (setting min_free_mb)"
            )
        ) from None


def disk_full(message: str) -> str:
    return (
        f"{message}. Indexing stopped before writing anything half-way: what was recorded so far is "
        "kept, and the next run finishes the rest once there is space."
    )


def set_analysis_payloads(
    ctx: RunContext, tally: Tally, analyses: Iterable[AnalysisResult], embedded: frozenset[str] | set[str]
) -> None:
    """Show new analysis results in the payloads of content that already has a vector of this model."""
    vec = ctx.vectors
    if vec is None:
        return
    _, store, model_id = vec
    by_fp: dict[str, dict[str, Any]] = {}
    for a in analyses:
        if a.fingerprint in embedded:
            by_fp.setdefault(a.fingerprint, {})[a.kind] = a.data
    with tally.timed("store"):
        for fp, kinds in by_fp.items():
            fields = payload_fields(kinds)
            if fields:
                store.set_payload([point_id(fp, model_id)], fields)


def repath(ctx: RunContext, tally: Tally, fingerprints: set[str] | frozenset[str]) -> None:
    """Moved, renamed or copied files: their vectors stay, their payload gets the current paths."""
    vec = ctx.vectors
    if not fingerprints or vec is None:
        return
    _, store, model_id = vec
    with tally.timed("repath"):
        points = ctx.ledger.stage_points(Stage.EMBED, model_id)
        live = [fp for fp in fingerprints if fp in points]
        paths = ctx.ledger.paths_for(live)
        current = {pid: payload for pid, payload, _ in store.retrieve([points[fp] for fp in live])}
        with_sidecars = set(ctx.ledger.sidecars_for(p for ps in paths.values() for p in ps))
        whole: list[str] = []  # per-path metadata: the primary path and `path_metadata` follow the paths
        for fp in live:
            pid = points[fp]
            new = path_fields(paths.get(fp, []) or ["/"])
            if current.get(pid, {}).get("paths") != new["paths"]:
                if "path_metadata" in current.get(pid, {}) or with_sidecars.intersection(paths.get(fp, [])):
                    whole.append(fp)
                else:
                    store.set_payload([pid], new)
                tally.summary.repathed += 1
        sidecars.rewrite_payloads(ctx, tally, whole)


def collect_garbage(ctx: RunContext) -> None:
    """Delete vectors whose content no file refers to any more (after a sweep, or left by a crash)."""
    led, model_id = ctx.ledger, ctx.model_id
    stale = led.stale_content(model_id)
    if not stale:
        return
    if ctx.store is not None and model_id:
        points = led.stage_points(Stage.EMBED, model_id)
        ids = [points[fp] for fp in stale if fp in points]
        if ids:
            ctx.store.delete(ids)
    # Vectors of other models stay recorded until that model's store is open to delete them.
    led.forget_content(stale, embed_version=model_id)


def drop_gone(ctx: RunContext, tally: Tally, gone: Sequence[str]) -> set[str]:
    """Forget files, and every file under folders, that were deleted or moved out of the watched tree.
    Returns the fingerprints touched, whose payload paths must be refreshed (content alive elsewhere)."""
    paths = [
        p
        for g in gone
        if not os.path.lexists(g)  # re-created meanwhile: the scan of it decides
        for p in ctx.ledger.files_under(normalize_root(g))
    ]
    if not paths:
        return set()
    removed = ctx.ledger.remove_paths(paths)
    tally.summary.deleted += len(removed)
    collect_garbage(ctx)
    return {r.fingerprint for r in removed if r.fingerprint}


def optimize(ctx: RunContext, tally: Tally) -> None:
    """Build the search index for what was added (Edge never does this on its own; it skips collections
    small enough to be searched exactly). Rewriting segments needs room the size of the collection:
    without it, skip (search stays exact, just slower) rather than risk the store."""
    assert ctx.store is not None
    s = ctx.settings
    need = tree_size(s.store_dir)
    if need + s.min_free_mb * 1024 * 1024 > (free := free_bytes(s.data_dir)):
        tally.summary.notes.append(
            f"search index not optimized: it needs about {human_bytes(need)} free, the disk has "
            f"{human_bytes(free)}; search still works"
        )
        return
    with tally.timed("optimize"):
        ctx.store.optimize()


def rebuild_payloads(ctx: RunContext) -> int:
    """Rebuild every payload of the current model from stored metadata + current rules (no file reads)."""
    vec = ctx.vectors
    if vec is None:
        return 0
    _, store, model_id = vec
    led = ctx.ledger
    points = led.stage_points(Stage.EMBED, model_id)
    fps = sorted(points)
    for i in range(0, len(fps), PAYLOAD_CHUNK):
        part = fps[i : i + PAYLOAD_CHUNK]
        metas, paths, analyses = led.metadata_for(part), led.paths_for(part), led.analyses_for(part)
        rows = led.sidecars_for(p for ps in paths.values() for p in ps)
        for fp in part:
            if fp in paths:
                fields = sidecars.point_metadata(ctx, paths[fp], metas.get(fp, {}), rows)
                store.set_payload(
                    [points[fp]], build_payload(fp, model_id, paths[fp], fields, analyses.get(fp))
                )
    store.flush()
    return len(fps)
