"""Move an index's vectors between the embedded store (Qdrant Edge) and a Qdrant server or cluster, without
re-embedding anything: every model's collection is read in pages (ids, vectors, payloads) and upserted into
the target by point id, then checked there (counts, and a sample of ids, vectors and payloads), and only then
does the data dir's `store.json` say that the index lives in the target.

- Idempotent and resumable: upserts by point id, so an interrupted move is simply run again; points the
  target holds that the source does not (an older copy) are deleted once the copy is complete.
- The source is never changed or removed: after a move the user removes it when satisfied (the embedded
  store is `<data>/store/<collection>/`; a server's collections are dropped with its own tools).
- A server collection that already holds points is refused unless this data dir started a move there
  (`store-migration.json`, removed when the move is done) or the caller passes `replace`.
- The ledger is not touched: point ids and payloads are the same on both sides.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np

from bridge.files import datadir
from bridge.files.diskspace import ensure_free
from bridge.records import Stage
from bridge.settings import DATA_DIR_STORE_FILE, Settings
from bridge.state.portable import SHARD_OVERHEAD, Engine, collection_bytes
from bridge.store import open_store
from bridge.store.base import Point, VectorStore
from bridge.store.options import server_options

JOURNAL = "store-migration.json"  # present only while a move is under way
SAMPLE = 64  # points whose vector and payload are compared on both sides after the copy
EDGE_PAGE = 512
REMOTE_PAGE = 1024  # 4 upsert requests of 256 points in flight at once (qdrant_parallel = 4)
VECTOR_ATOL = 1e-5  # the server re-normalises cosine vectors; ours are unit length already

Progress = Callable[[str, int, int], None]  # (collection, points copied, points in it)


class MigrationError(Exception):
    """A move that cannot start or did not verify, worded for the user. The index still uses its source."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where the vectors go: the embedded store, a server (`url`), or qdrant-client's local mode in the data
    dir (`kind="qdrant"`, `url=None`: the server code path without a server; tests use it)."""

    kind: Literal["edge", "qdrant"]
    url: str | None = None

    def describe(self, settings: Settings) -> str:
        if self.kind == "edge":
            return f"the embedded store in {settings.store_dir}"
        if self.url is None:
            return f"qdrant-client's local mode in {settings.store_dir}"
        return f"the Qdrant server at {self.url}"

    def record(self) -> dict[str, Any]:
        return {"store": self.kind, "qdrant_url": self.url}


def parse_target(text: str) -> Target:
    """`edge`, `qdrant-local`, `qdrant://HOST[:PORT]` (http), `qdrants://HOST[:PORT]` (https), or an
    http(s) URL. The port defaults to Qdrant's REST port, 6333."""
    t = text.strip()
    if t == "edge":
        return Target("edge")
    if t == "qdrant-local":
        return Target("qdrant")
    parts = urlsplit(t)
    scheme = {"qdrant": "http", "qdrants": "https", "http": "http", "https": "https"}.get(parts.scheme)
    if scheme is None or not parts.hostname:
        raise MigrationError(
            f"--to {text!r} is not a store: use edge, qdrant://HOST:PORT, qdrants://HOST:PORT or an "
            "http(s):// URL of a Qdrant server"
        )
    try:
        port = parts.port or 6333
    except ValueError as e:
        raise MigrationError(f"--to {text!r} has an invalid port") from e
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    path = parts.path.rstrip("/")
    return Target("qdrant", f"{scheme}://{host}:{port}{path}")


def current_target(settings: Settings) -> Target:
    if settings.store == "edge":
        return Target("edge")
    return Target("qdrant", parse_target(settings.qdrant_url).url if settings.qdrant_url else None)


@dataclass
class CollectionReport:
    model: str
    name: str
    points: int
    already_there: int | None  # points the target held before (None: the collection did not exist)
    copied: int = 0
    removed: int = 0  # target points the source does not have (an older copy), deleted
    layout: dict[str, Any] = field(default_factory=dict)  # a server collection's shards and replicas


@dataclass
class MigrationReport:
    source: str
    target: str
    dry_run: bool
    collections: list[CollectionReport] = field(default_factory=list)
    seconds: float = 0.0
    switched: bool = False


def migrate_index(
    engine: Engine,
    target: Target,
    *,
    replace: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> MigrationReport:
    """Copy every model's collection of the open index (its owner: no run can change it meanwhile) to
    `target`, verify it there, then record `target` in the data dir's store.json. Raises MigrationError
    (or StoreError, DiskFullError) with the source still in use."""
    s = engine.settings
    source = current_target(s)
    if source == target:
        raise MigrationError(f"the index already uses {target.describe(s)}; nothing to move")
    report = MigrationReport(source.describe(s), target.describe(s), dry_run)
    models = sorted({v for (stage, v) in engine.ledger.stage_counts() if stage == Stage.EMBED})
    started = time.monotonic()
    resuming = _journal_matches(s.data_dir, target)
    for model in models:
        with closing(engine.open_uncached_store(model)) as src:
            c = CollectionReport(model, src.name, src.count(), _peek(s, target, src.name, src.dim))
            report.collections.append(c)
            if c.already_there and target.kind == "qdrant" and target.url and not (replace or resuming):
                raise MigrationError(
                    f"collection {src.name} on {target.describe(s)} already holds {c.already_there} points "
                    "(another index may use it); pass --replace to make it a copy of this index (its other "
                    "points are deleted), or point to another server"
                )
            if dry_run:
                continue
            if target.kind == "edge":
                ensure_free(
                    s.store_dir,
                    2 * collection_bytes(src) + SHARD_OVERHEAD,
                    f"copy collection {src.name} into the embedded store",
                )
            datadir.write_json_atomic(
                s.data_dir / JOURNAL, {"to": target.record(), "started_at": time.time()}
            )
            with closing(_open_target(s, target, src)) as dst:
                _copy(src, dst, c, EDGE_PAGE if target.kind == "edge" else REMOTE_PAGE, progress)
                c.layout = _layout(dst) if target.url else {}
    report.seconds = time.monotonic() - started
    if not dry_run:
        _switch(s.data_dir, target, source)
        report.switched = True
    return report


def _copy(
    src: VectorStore, dst: VectorStore, c: CollectionReport, page: int, progress: Progress | None
) -> None:
    """Pages of the source upserted into the target; then extra target points swept, counts and a sample
    compared, and the ANN index built (Edge)."""
    stride = max(1, c.points // SAMPLE)
    sample: list[str] = []
    if progress:
        progress(c.name, 0, c.points)
    for chunk in _pages(src.scroll(batch=page, with_vectors=True), page):
        points: list[Point] = []
        for pid, payload, vec in chunk:
            if vec is None:
                raise MigrationError(f"collection {src.name} returned a point without its vector ({pid})")
            if (c.copied + len(points)) % stride == 0 and len(sample) < SAMPLE:
                sample.append(pid)
            points.append(Point(pid, vec, payload))
        dst.upsert(points)
        c.copied += len(points)
        if progress:
            progress(c.name, c.copied, c.points)
    dst.flush()
    if c.copied != c.points:
        raise MigrationError(
            f"collection {src.name} changed while it was read ({c.copied} of {c.points} points)"
        )
    if dst.count() != c.points:
        c.removed = _sweep(src, dst)
    have = dst.count()
    if have != c.points:
        raise MigrationError(
            f"after the copy, {dst.name} holds {have} points instead of {c.points}; the index still uses its "
            "source: run the command again"
        )
    _compare(src, dst, sample)
    dst.optimize()  # Edge: search through the HNSW index from the first query; a no-op on a server


def _sweep(src: VectorStore, dst: VectorStore) -> int:
    """Delete the target's points the source lacks (left by an older copy), in pages of ids."""
    removed = 0
    for ids in _pages(dst.ids(batch=2000), 2000):
        present = {pid for pid, _, _ in src.retrieve(ids)}
        gone = [i for i in ids if i not in present]
        if gone:
            dst.delete(gone)
            removed += len(gone)
    dst.flush()
    return removed


def _compare(src: VectorStore, dst: VectorStore, ids: list[str]) -> None:
    a = {pid: (payload, vec) for pid, payload, vec in src.retrieve(ids, with_vectors=True)}
    b = {pid: (payload, vec) for pid, payload, vec in dst.retrieve(ids, with_vectors=True)}
    for pid in ids:
        if pid not in b:
            raise MigrationError(f"point {pid} of {src.name} is missing from the target after the copy")
        (pa, va), (pb, vb) = a[pid], b[pid]
        if pa != pb:
            raise MigrationError(
                f"point {pid} of {src.name} has another payload in the target after the copy"
            )
        if va is None or vb is None or not np.allclose(va, vb, atol=VECTOR_ATOL, rtol=0):
            raise MigrationError(f"point {pid} of {src.name} has another vector in the target after the copy")


def _switch(data_dir: Path, target: Target, source: Target) -> None:
    """From here on the engine opens the target (Settings.with_data_dir_store); the journal goes."""
    record = {**target.record(), "migrated_at": time.time(), "previous": source.record()}
    datadir.write_json_atomic(data_dir / DATA_DIR_STORE_FILE, record, indent=2)
    (data_dir / JOURNAL).unlink(missing_ok=True)


def _journal_matches(data_dir: Path, target: Target) -> bool:
    try:
        return bool(json.loads((data_dir / JOURNAL).read_text()).get("to") == target.record())
    except (OSError, ValueError):
        return False


def _peek(s: Settings, target: Target, name: str, dim: int) -> int | None:
    """Points the target's collection holds now, None where it does not exist; creates nothing."""
    if target.kind == "edge":
        if not (s.store_dir / name).is_dir():
            return None
        with closing(open_store("edge", collection=name, dim=dim, path=s.store_dir)) as st:
            return st.count()
    from bridge.store.remote import RemoteStore  # qdrant-client is slow to import

    return RemoteStore.peek(
        collection=name,
        url=target.url,
        api_key=s.qdrant_api_key,
        path=None if target.url else s.store_dir,
        options=server_options(s),
    )


def _layout(store: VectorStore) -> dict[str, Any]:
    from bridge.store.remote import RemoteStore

    return store.layout() if isinstance(store, RemoteStore) else {}


def _open_target(s: Settings, target: Target, src: VectorStore) -> VectorStore:
    return open_store(
        target.kind,
        collection=src.name,
        dim=src.dim,
        path=s.store_dir,
        url=target.url,
        api_key=s.qdrant_api_key,
        options=server_options(s),
    )


def _pages(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(islice(items, size)):
        yield chunk
