"""The embedded vector store: one Qdrant Edge shard per collection, in <store dir>/<collection>/.

Qdrant Edge runs in this process, so the shard has exactly one owner: the service (the caller holds the
data-dir lock; Edge also locks the shard's WAL, and a second opener gets StoreLockedError).

Durability, measured on qdrant-edge-py 0.9.0 with strace: `update` appends to the WAL through a memory
map and returns without fsync, so an acknowledged upsert survives SIGKILL (the kernel keeps the page) but
not a power cut; `flush()` msyncs the WAL and the segments. Hence VectorStore's rule: flush before the
ledger records a batch as done (~8 ms per 500 points).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from bridge.files.datadir import fsync_dir
from bridge.store.base import (
    Hit,
    Point,
    Record,
    StoreDamagedError,
    StoreError,
    StoreLockedError,
    as_vector,
    as_vectors,
    point_id,
    point_ids,
)
from bridge.store.filters import Filter, to_edge
from bridge.store.schema import PAYLOAD_FIELDS, Kind, prepare_payload

CONFIG_FILE = "edge_config.json"  # written by Edge itself at create; holds the vector size
# Where Edge builds an optimized segment before moving it into segments/. Measured on 0.9.0 with kill -9
# mid-optimize: the half-built `segment_builder_*` folder (about the size of the vectors) stays there for
# good (Edge never removes it, not even after a later optimize), next to an extra, empty appendable
# segment in segments/ that Edge keeps using. Only temp_segments/ is ours to clean.
TEMP_SEGMENTS = "temp_segments"
# Ours, inside the shard dir (Edge ignores files it does not know): written before optimize() starts and
# removed when it returns, so an optimize killed part-way is run again at the next open. Without it a
# resumed index run that embeds nothing new never optimizes, and search brute-forces for good.
OPTIMIZE_PENDING = "pd-optimize-pending"
UPSERT_BATCH = 512  # points per update call: bounded memory per call, few enough calls to stay fast

# Tuning, measured with bench/bench_store.py on a 2-core machine, 100k x 512-d CLIP-like vectors:
# - HNSW m=16, ef_construct=100 (Qdrant's defaults); unfiltered search at ef=128: recall@10 1.00,
#   p50 ~3 ms. optimize() of 100k takes 1.5-2 minutes on 2 cores.
# - Payload indexes with enable_hnsw=False. Edge's default adds filter-specific links to the graph for
#   every indexed field, text fields included: optimize() took 4x longer and unfiltered search slowed
#   (a denser graph). Filtered search gets its accuracy elsewhere:
#   * full_scan_threshold 32,000 KB (~16k 512-d vectors): a filter matching fewer points is answered
#     exactly from the payload index (label=red, 10k of 100k: recall 1.00, ~6 ms);
#   * broader filters use ACORN at ef=64 (rating>=3, 30k of 100k: recall 1.00, ~8-10 ms). Plain
#     filtered HNSW without it found only 19% of the true top 10 for label=red.
# - indexing_threshold = full_scan_threshold: a graph below that size would never be used, so libraries
#   under ~16k photos are searched brute force (~3 ms) and optimize() skips them.
# - Vectors "Cached" (memory-mapped, kept in page cache), payload "Cold" (on disk, read for the hits).
FULL_SCAN_KB = 32_000
HNSW = qe.HnswIndexConfig(m=16, ef_construct=100, full_scan_threshold=FULL_SCAN_KB)
OPTIMIZERS = qe.EdgeOptimizersConfig(indexing_threshold=FULL_SCAN_KB)
SEARCH_EF = 128
SEARCH_PARAMS = qe.SearchParams(hnsw_ef=SEARCH_EF)
FILTERED_SEARCH_PARAMS = qe.SearchParams(hnsw_ef=64, acorn=qe.AcornSearchParams(enable=True))


def search_params(limit: int, filtered: bool) -> qe.SearchParams:
    """ef must be at least the number of results asked for."""
    base = FILTERED_SEARCH_PARAMS if filtered else SEARCH_PARAMS
    if limit <= (base.hnsw_ef or 0):
        return base
    return qe.SearchParams(hnsw_ef=limit, acorn=base.acorn)


def _config(dim: int) -> qe.EdgeConfig:
    return qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, memory=qe.Memory.Cached),
        payload_memory=qe.Memory.Cold,
        hnsw_config=HNSW,
        optimizers=OPTIMIZERS,
        # Explicit, although None also means on: Edge fixes this at create and refuses to load a shard
        # with a different value, so the intent is written down once.
        wal_enabled=True,
    )


def _index_schema(kind: Kind) -> Any:
    """Index parameters per kind; enable_hnsw=False everywhere (see the tuning notes above)."""
    if kind is Kind.TEXT:
        # word tokenizer + lowercase: "camera=canon" matches "Canon EOS 600D"; no stemming or stopwords,
        # because camera and lens names are not prose
        return qe.TextIndexParams(tokenizer=qe.TokenizerType.Word, lowercase=True, enable_hnsw=False)
    if kind is Kind.INTEGER:
        return qe.IntegerIndexParams(lookup=True, range=True, enable_hnsw=False)
    if kind is Kind.FLOAT:
        return qe.FloatIndexParams(enable_hnsw=False)
    return qe.KeywordIndexParams(enable_hnsw=False)


def stored_dim(shard_dir: Path) -> tuple[int, str] | None:
    """(size, distance) from the shard's config file, or None when there is none to read."""
    cfg = shard_dir / CONFIG_FILE
    if not cfg.is_file():
        return None
    try:
        vec = json.loads(cfg.read_text(encoding="utf-8"))["vectors"][""]
        return int(vec["size"]), str(vec["distance"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise StoreDamagedError(
            f"vector store at {shard_dir} is damaged: cannot read {CONFIG_FILE}: {e}"
        ) from e


def _has_data(shard_dir: Path) -> bool:
    segments = shard_dir / "segments"
    return (shard_dir / CONFIG_FILE).exists() or (segments.is_dir() and any(segments.iterdir()))


def _open_error(shard_dir: Path, e: BaseException) -> StoreError:
    """Turn an Edge exception at open into a message the user can act on."""
    msg = str(e)
    if "WouldBlock" in msg:  # the WAL's file lock is taken
        return StoreLockedError(
            f"vector store at {shard_dir} is already open in another process (or twice in this one); "
            "stop the other Pixel Detective service first"
        )
    if "incompatible" in msg.lower():
        return StoreError(f"vector store at {shard_dir} was made for a different model: {msg}")
    return StoreDamagedError(f"vector store at {shard_dir} is damaged: {msg}")


def move_aside(path: Path) -> Path:
    """Rename a damaged store dir to `<name>.damaged-<UTC timestamp>` (kept for inspection) and return it."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    path.rename(target)
    return target


def _filter(where: Filter | None) -> Any:
    try:
        return to_edge(where)
    except ValueError as e:  # a condition that cannot apply, e.g. label >= 3
        raise StoreError(f"bad filter: {e}") from e


class EdgeStore:
    """A VectorStore over one Qdrant Edge shard. Use `EdgeStore.open`."""

    def __init__(self, shard: qe.EdgeShard, shard_dir: Path, name: str, dim: int) -> None:
        self._shard: qe.EdgeShard | None = shard
        self.path = shard_dir
        self.name = name
        self.dim = dim

    @classmethod
    def open(cls, root: Path, *, collection: str, dim: int) -> EdgeStore:
        """Open (or create) the shard for `collection` under `root`, refusing one made for another `dim`."""
        shard_dir = Path(root) / collection
        stored = stored_dim(shard_dir)
        if stored is not None and stored != (dim, "Cosine"):
            raise StoreError(
                f"vector store at {shard_dir} holds {stored[0]}-dimensional {stored[1]} vectors, but this model "
                f"makes {dim}-dimensional ones; use the collection named for this model"
            )
        try:
            if _has_data(shard_dir):
                # Passing the config re-applies today's tuning and makes Edge check size and distance.
                shard = qe.EdgeShard.load(str(shard_dir), _config(dim))
            else:
                shard_dir.mkdir(parents=True, exist_ok=True)
                shard = qe.EdgeShard.create(str(shard_dir), _config(dim))
        except BaseException as e:  # pyo3 panics derive from BaseException, not Exception
            if isinstance(e, KeyboardInterrupt | SystemExit):
                raise
            raise _open_error(shard_dir, e) from e
        store = cls(shard, shard_dir, collection, dim)
        try:
            store._ensure_indexes()
            store.count()  # reads every segment's id tracker: a damaged one fails here, not mid-search
        except BaseException as e:
            store.close()
            if isinstance(e, KeyboardInterrupt | SystemExit):
                raise
            raise StoreDamagedError(f"vector store at {shard_dir} is damaged: {e}") from e
        # Only now: Edge holds the shard's lock, so no other process can be mid-optimize in here.
        store.clean_temp_segments()
        if store.optimize_pending:
            store.optimize()
        return store

    def clean_temp_segments(self) -> int:
        """Remove segments an interrupted optimize left half-built; return how many. Call only while
        this handle has the shard open (Edge's lock) and is not optimizing."""
        temp = self.path / TEMP_SEGMENTS
        if not temp.is_dir():
            return 0
        n = 0
        for entry in temp.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            n += 1
        return n

    @property
    def optimize_pending(self) -> bool:
        """An optimize was started and did not finish (the process was killed): it is owed."""
        return (self.path / OPTIMIZE_PENDING).exists()

    def _ensure_indexes(self) -> None:
        # Only the missing ones: cheap on every open, and a field added in a later release gets indexed.
        have = set(self._s.info().payload_schema)
        for field, kind in PAYLOAD_FIELDS.items():
            if field not in have:
                self._s.update(qe.UpdateOperation.create_field_index(field, _index_schema(kind)))

    @property
    def _s(self) -> qe.EdgeShard:
        if self._shard is None:
            raise StoreError(f"vector store at {self.path} is closed")
        return self._shard

    def _run(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except StoreError:
            raise
        except Exception as e:
            raise StoreError(f"vector store at {self.path}: {what} failed: {e}") from e

    # --- writes -----------------------------------------------------------------------------------------

    def upsert(self, points: Sequence[Point]) -> None:
        for start in range(0, len(points), UPSERT_BATCH):
            chunk = points[start : start + UPSERT_BATCH]
            vectors = as_vectors(chunk, self.dim)
            batch = [
                qe.Point(point_id(p.id), v, prepare_payload(p.payload))
                for p, v in zip(chunk, vectors, strict=True)
            ]
            self._run("upsert", self._s.update, qe.UpdateOperation.upsert_points(batch))

    def set_payload(self, ids: Sequence[str], payload: dict[str, Any]) -> None:
        if not ids:
            return
        # By filter, not by id list: Edge fails the whole call on an unknown id; unknown ids are skipped.
        flt = qe.Filter(must=[qe.HasIdCondition(set(point_ids(ids)))])
        op = qe.UpdateOperation.set_payload_by_filter(flt, prepare_payload(payload))
        self._run("set_payload", self._s.update, op)

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            gone: list[qe.PointId] = list(point_ids(ids))
            self._run("delete", self._s.update, qe.UpdateOperation.delete_points(gone))

    def optimize(self) -> bool:
        """Build HNSW graphs and merge segments. Call at the end of every indexing run; True if work was
        done. Edge never optimizes on its own, so without this a big library is searched brute force.

        Blocking, and Edge 0.9.0 holds the GIL throughout (as it does in update and query): other Python
        threads of this process stall until it returns, about 1.5 minutes per 100k new photos here.
        """
        marker = self.path / OPTIMIZE_PENDING
        _durable_touch(marker)
        done = bool(self._run("optimize", self._s.optimize))
        self.flush()  # the new segment layout on disk before the promise is dropped
        marker.unlink(missing_ok=True)
        fsync_dir(self.path)
        return done

    def flush(self) -> None:
        self._run("flush", self._s.flush)

    def close(self) -> None:
        if self._shard is not None:
            shard, self._shard = self._shard, None
            shard.close()  # Edge flushes on close

    def __enter__(self) -> EdgeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reads ------------------------------------------------------------------------------------------

    def search(
        self,
        vector: Sequence[float] | np.ndarray,
        *,
        limit: int = 20,
        min_score: float | None = None,
        where: Filter | None = None,
    ) -> list[Hit]:
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(as_vector(vector, self.dim, "query vector")),
            filter=_filter(where),
            score_threshold=min_score,
            with_payload=True,
            with_vector=False,
            params=search_params(limit, bool(where)),
        )
        found = self._run("search", self._s.query, request)
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in found]

    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        if not ids:
            return []
        # Edge 0.9.0 needs with_payload/with_vector positionally, despite the stub's defaults.
        wanted = list(dict.fromkeys(point_ids(ids)))
        records = self._run("retrieve", self._s.retrieve, wanted, True, with_vectors)
        by_id = {str(r.id): r for r in records}
        return [_record(by_id[i], with_vectors) for i in wanted if i in by_id]  # in the order asked

    def ids(self, *, batch: int = 5000) -> Iterator[str]:
        """Every point id, without payloads or vectors (the ledger/store consistency check)."""
        offset: Any = None
        while True:
            request = qe.ScrollRequest(offset=offset, limit=batch, with_payload=False, with_vector=False)
            records, offset = self._run("scroll", self._s.scroll, request)
            for r in records:
                yield str(r.id)
            if offset is None:
                return

    def scroll(self, *, batch: int = 1000, with_vectors: bool = False) -> Iterator[Record]:
        offset: Any = None
        while True:
            request = qe.ScrollRequest(
                offset=offset, limit=batch, with_payload=True, with_vector=with_vectors
            )
            records, offset = self._run("scroll", self._s.scroll, request)
            for r in records:
                yield _record(r, with_vectors)
            if offset is None:
                return

    def count(self, where: Filter | None = None) -> int:
        request = qe.CountRequest(exact=True, filter=_filter(where))
        return int(self._run("count", self._s.count, request))

    def info(self) -> dict[str, int]:
        """Points, segments and HNSW-indexed vectors, for `status` and the bench."""
        i = self._s.info()
        return {
            "points": i.points_count,
            "segments": i.segments_count,
            "indexed_vectors": i.indexed_vectors_count,
        }


def _durable_touch(path: Path) -> None:
    """Create `path` and make its existence survive a power cut (file and folder fsynced)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)


def _record(r: Any, with_vectors: bool) -> Record:
    vec = np.asarray(r.vector, dtype=np.float32) if with_vectors and r.vector is not None else None
    return str(r.id), r.payload or {}, vec  # Edge hands ids back as uuid.UUID
