"""XMP sidecars in a run: which changed since the last run, reading them, and the payloads that show them.

A sidecar belongs to a file PATH, not to a content: two byte-identical photos share one vector, one point and
one content record (the embedded metadata), but each has its own sidecar. So the ledger keeps the embedded
metadata per content (`content`) and each path's sidecar (`sidecars`: name, size, mtime, fields). A path's
metadata is the two merged (`bridge.metadata.sidecar.with_sidecar`). The point's payload holds the metadata
of its primary path (the first of `paths`, as `path`) at the top level, where filters and search results read
it, and, once any of its paths has a sidecar, `path_metadata`: {path: the per-path fields (rating, label,
title, caption, keywords, keyword paths, sidecar file) of that path}, so no path shows another's values.

A sidecar that appears, changes (size or mtime) or goes is found by the scan from the folder listing; the run
reads it, rewrites the payload of the content (its vector read back, never re-embedded), then records it in
the ledger (store first).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.files.paths import to_db
from bridge.indexing.context import RunContext
from bridge.indexing.payload import build_payload
from bridge.indexing.scan import ScanResult
from bridge.indexing.summary import Tally
from bridge.metadata.sidecar import PER_PATH_FIELDS, read_sidecar_fields, with_sidecar
from bridge.records import Stage
from bridge.state.ledger import Ledger
from bridge.state.rows import SidecarRow
from bridge.store.base import Point

READ_THREADS = 8  # sidecars are small files: reading is mostly waiting on the disk


@dataclass(frozen=True)
class SidecarChanges:
    read: tuple[SidecarRow, ...] = ()  # new or changed sidecars, read
    gone: tuple[str, ...] = ()  # photo paths whose sidecar was deleted (or renamed away)

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.read] + list(self.gone)

    def __add__(self, other: SidecarChanges) -> SidecarChanges:
        return SidecarChanges(self.read + other.read, self.gone + other.gone)


def changes(
    ledger: Ledger, res: ScanResult, should_stop: Callable[[], bool] = lambda: False
) -> SidecarChanges:
    """The sidecars of `res`'s photos that differ from what the ledger read (new, edited, gone), the new and
    edited ones read. Nothing when the scan did not look for sidecars (URLs, stand-ins)."""
    if not res.sidecars_listed:
        return SidecarChanges()
    known = ledger.sidecar_stamps_under(res.root)
    todo = [(f.path, stamp) for f in res.seen if (stamp := res.sidecars.get(f.path)) != known.get(f.path)]
    gone = tuple(path for path, stamp in todo if stamp is None)

    def read(item: tuple[str, tuple[str, int, int] | None]) -> SidecarRow | None:
        path, stamp = item
        if stamp is None or should_stop():
            return None
        name, size, mtime = stamp
        fields = read_sidecar_fields(Path(os.path.dirname(path), name))
        return SidecarRow(path, name, size, mtime, fields)  # unreadable: {}, not read again until it changes

    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        rows = tuple(r for r in pool.map(read, todo) if r is not None)
    return SidecarChanges(rows, gone)


def path_metadata(embedded: Mapping[str, Any], sidecar: SidecarRow | None) -> dict[str, Any]:
    """One path's metadata: its content's embedded metadata with the path's sidecar merged in."""
    return with_sidecar(embedded, sidecar.fields if sidecar else None, sidecar.name if sidecar else "")


def metadata_by_path(ledger: Ledger, paths: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{path: that path's metadata (embedded + its own sidecar)} of the indexed paths among `paths`: what a
    caller showing or writing back one photo should read (`Ledger.metadata_for` is per content, embedded only)."""
    fps = ledger.fingerprints_for(paths)
    metas = ledger.metadata_for(set(fps.values()))
    rows = ledger.sidecars_for(fps)
    return {p: path_metadata(metas.get(fp, {}), rows.get(p)) for p, fp in fps.items()}


def content_metadata(ledger: Ledger, paths_by_fp: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Any]]:
    """{fingerprint: its primary path's metadata (embedded + that path's sidecar)}: what a per-content view
    (duplicate groups, the best frame) reads, the same values as the top level of the content's payload."""
    metas = ledger.metadata_for(list(paths_by_fp))
    primary = {fp: min(ps, key=to_db) for fp, ps in paths_by_fp.items() if ps}
    rows = ledger.sidecars_for(primary.values())
    return {
        fp: path_metadata(metas.get(fp, {}), rows.get(to_db(primary[fp])) if fp in primary else None)
        for fp in paths_by_fp
    }


def point_metadata(
    ctx: RunContext, paths: Sequence[str], embedded: Mapping[str, Any], sidecars: Mapping[str, SidecarRow]
) -> dict[str, Any]:
    """The metadata fields of a point's payload (after rules): the primary path's metadata at the top level
    and, when any path has a sidecar, `path_metadata` with every path's per-path fields."""
    primary = min(paths, key=to_db)  # `path_fields` sorts the storage form the same way
    out = ctx.apply_rules(primary, path_metadata(embedded, sidecars.get(primary)))
    if any(p in sidecars for p in paths):
        per_path = {}
        for p in paths:
            m = out if p == primary else ctx.apply_rules(p, path_metadata(embedded, sidecars.get(p)))
            per_path[p] = {k: m[k] for k in PER_PATH_FIELDS if k in m}
        out = {**out, "path_metadata": per_path}
    return out


def apply(ctx: RunContext, tally: Tally, ch: SidecarChanges, skip: frozenset[str] | set[str]) -> None:
    """Show the changed sidecars in the payloads of content that already has a vector (`skip`: content
    embedded in this run, whose payload is built then), then record them in the ledger."""
    if not (ch.read or ch.gone):
        return
    fps = set(ctx.ledger.fingerprints_for(ch.paths).values()) - set(skip)
    rewrite_payloads(ctx, tally, fps, changes=ch)
    with tally.timed("ledger"):
        ctx.ledger.record_sidecars(ch.read, ch.gone)
    tally.summary.notes.append(f"XMP sidecars: {len(ch.read)} read, {len(ch.gone)} gone")


def rewrite_payloads(
    ctx: RunContext,
    tally: Tally,
    fingerprints: Iterable[str],
    *,
    changes: SidecarChanges = SidecarChanges(),
    metadata: Mapping[str, dict[str, Any]] | None = None,
) -> None:
    """Rewrite the whole payload of these contents' points (those with a vector of this model) from the
    ledger, with `changes` and `metadata` (fingerprint → embedded metadata just read) not recorded yet: the
    store is written first. The vectors are read back and upserted: a field that went goes from the payload."""
    vec = ctx.vectors
    if vec is None:
        return
    _, store, model_id = vec
    led = ctx.ledger
    points = led.stage_points(Stage.EMBED, model_id)
    fps = sorted(fp for fp in set(fingerprints) if fp in points)
    if not fps:
        return
    paths = led.paths_for(fps)
    sidecars = led.sidecars_for(p for fp in fps for p in paths.get(fp, ()))
    for p in changes.gone:
        sidecars.pop(p, None)
    sidecars.update({r.path: r for r in changes.read})
    metas = {**led.metadata_for(fps), **(metadata or {})}
    analyses = led.analyses_for(fps)
    with tally.timed("store"):
        got = store.retrieve([points[fp] for fp in fps], with_vectors=True)
        vectors = {pid: v for pid, _, v in got if v is not None}
        rewritten = []
        for fp in fps:
            pid = points[fp]
            if fp not in paths or pid not in vectors:
                continue  # lost from the store: the consistency check re-embeds it
            fields = point_metadata(ctx, paths[fp], metas.get(fp, {}), sidecars)
            payload = build_payload(fp, model_id, paths[fp], fields, analyses.get(fp))
            rewritten.append(Point(pid, vectors[pid], payload))
        if rewritten:
            store.upsert(rewritten)
