"""The same VectorStore over qdrant-client: a Qdrant server or cluster (URL + API key), for users who
outgrow one machine. `path=` or ":memory:" selects qdrant-client's local mode, which tests use (no Qdrant
server binary can be installed on the machines these tests run on; the HTTP behaviour — retries, back-off,
timeouts, refused keys — is tested against small real HTTP servers on 127.0.0.1 instead).

Writes wait for the server to apply them (wait=True), so "upsert returned" means the same as for Edge.
Upserts go out in batches of UPSERT_BATCH points, `ServerOptions.parallel` requests at once; a transient
failure (connection refused or reset, timeout, HTTP 5xx or 429) is retried with exponential back-off, which
is safe because every write is an idempotent upsert or delete by point id. Errors are StoreErrors that name
the server and say what to do; the library's own exception text goes to the log, not to the user.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.common.client_exceptions import ResourceExhaustedResponse
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from bridge.store.base import (
    Hit,
    Point,
    Record,
    StoreError,
    as_vector,
    as_vectors,
    point_id,
    point_ids,
)
from bridge.store.filters import Filter, to_client
from bridge.store.options import ServerOptions
from bridge.store.schema import PAYLOAD_FIELDS, Kind, prepare_payload

log = logging.getLogger(__name__)

UPSERT_BATCH = 256  # keeps each HTTP request a few MB at 512-d
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})  # the server is busy or restarting: worth another try


def _index_schema(kind: Kind) -> Any:
    if kind is Kind.TEXT:  # the same tokenizer as the Edge backend, so filters mean the same
        return models.TextIndexParams(
            type=models.TextIndexType.TEXT, tokenizer=models.TokenizerType.WORD, lowercase=True
        )
    return {
        Kind.INTEGER: models.PayloadSchemaType.INTEGER,
        Kind.FLOAT: models.PayloadSchemaType.FLOAT,
        Kind.KEYWORD: models.PayloadSchemaType.KEYWORD,
    }[kind]


def _connect(
    url: str | None, api_key: str | None, path: Path | None, opts: ServerOptions
) -> tuple[QdrantClient, str, bool]:
    """(client, where for messages, local mode?). No request is sent yet."""
    if url == ":memory:" or (url is None and path is None):
        return QdrantClient(location=":memory:"), ":memory:", True
    if url is None:
        return QdrantClient(path=str(path)), str(path), True
    try:
        # check_compatibility would send a request from a background thread and warn; the first call
        # (collection_exists) finds an unreachable or refusing server anyway, with a message of ours.
        client = QdrantClient(url=url, api_key=api_key, timeout=opts.timeout_s, check_compatibility=False)
    except ValueError as e:  # an unknown scheme or a malformed address
        raise StoreError(
            f"qdrant_url {url!r} is not a Qdrant server address; use e.g. http://localhost:6333"
        ) from e
    return client, url, False


def _transient(e: BaseException) -> bool:
    """Worth retrying: the request may not have reached the server, or the server could not take it now."""
    if isinstance(e, ResourceExhaustedResponse):
        return True
    if isinstance(e, UnexpectedResponse):
        return e.status_code in RETRY_STATUS
    if isinstance(e, ResponseHandlingException):
        return isinstance(e.source, httpx.TransportError)  # connect, read, write, timeouts, protocol
    return False


def _server_reason(e: UnexpectedResponse) -> str:
    """The server's own one-line reason (Qdrant answers {"status": {"error": "..."}}), if it gave one."""
    try:
        reason = str(e.structured()["status"]["error"])
    except Exception:
        return ""
    return reason if len(reason) <= 200 else reason[:197] + "..."


class RemoteStore:
    """A VectorStore over one Qdrant collection. Use `RemoteStore.open`."""

    def __init__(
        self,
        client: QdrantClient,
        where: str,
        name: str,
        dim: int,
        options: ServerOptions | None = None,
        *,
        local: bool = False,
    ) -> None:
        self._client: QdrantClient | None = client
        self.where = where  # URL or local path, for messages
        self.name = name
        self.dim = dim
        self.options = options or ServerOptions()
        self.local = local
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        *,
        collection: str,
        dim: int,
        url: str | None = None,
        api_key: str | None = None,
        path: Path | None = None,
        options: ServerOptions | None = None,
    ) -> RemoteStore:
        """Connect and create the collection (cosine, the layout in `options`, payload indexes) if missing;
        refuse another dim."""
        opts = options or ServerOptions()
        client, where, local = _connect(url, api_key, path, opts)
        store = cls(client, where, collection, dim, opts, local=local)
        try:
            store._prepare()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def peek(
        cls,
        *,
        collection: str,
        url: str | None = None,
        api_key: str | None = None,
        path: Path | None = None,
        options: ServerOptions | None = None,
    ) -> int | None:
        """The number of points in `collection`, or None where it does not exist; creates nothing (a
        migration's dry run). Unreachable servers and refused keys raise the same StoreErrors as `open`."""
        opts = options or ServerOptions()
        client, where, local = _connect(url, api_key, path, opts)
        with cls(client, where, collection, 0, opts, local=local) as probe:
            if not probe._run("open", client.collection_exists, collection):
                return None
            return int(probe._run("count", client.count, collection, exact=True).count)

    def _prepare(self) -> None:
        c = self._c
        if not self._run("open", c.collection_exists, self.name):
            vectors = models.VectorParams(size=self.dim, distance=models.Distance.COSINE)
            layout: dict[str, Any] = {}
            if not self.local:  # local mode has no shards or replicas (it warns if given them)
                o = self.options
                layout = {
                    "shard_number": o.shard_number,
                    "replication_factor": o.replication_factor,
                    "write_consistency_factor": o.write_consistency_factor,
                }
            self._run("create collection", c.create_collection, self.name, vectors_config=vectors, **layout)
        info = self._run("open", c.get_collection, self.name)
        params = info.config.params.vectors
        size = getattr(params, "size", None)
        distance = getattr(params, "distance", None)
        if size != self.dim or distance != models.Distance.COSINE:
            raise StoreError(
                f"collection {self.name} at {self.where} holds {size}-dimensional {distance} vectors, "
                f"not {self.dim}-dimensional cosine ones; use the collection named for this model"
            )
        if self.local:
            return  # local mode builds no payload indexes (it warns if asked); it filters by scanning
        have = set(info.payload_schema or {})
        for field, kind in PAYLOAD_FIELDS.items():
            if field not in have:
                self._run(
                    "create index", c.create_payload_index, self.name, field, _index_schema(kind), wait=True
                )

    def layout(self) -> dict[str, Any]:
        """The collection's shards, replicas and write consistency as the server reports them (an existing
        collection keeps the layout it was created with, whatever the settings say now)."""
        params = self._run("describe", self._c.get_collection, self.name).config.params
        return {
            "shard_number": getattr(params, "shard_number", None),
            "replication_factor": getattr(params, "replication_factor", None),
            "write_consistency_factor": getattr(params, "write_consistency_factor", None),
        }

    @property
    def _c(self) -> QdrantClient:
        if self._client is None:
            raise StoreError(f"vector store {self.name} at {self.where} is closed")
        return self._client

    def _run(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the client; retry transient failures with exponential back-off and jitter (the writes are
        idempotent upserts and deletes by id, and the reads have no side effects), then explain."""
        o = self.options
        attempts = 1 if self.local else 1 + o.retries
        for attempt in range(1, attempts + 1):
            try:
                return fn(*args, **kwargs)
            except StoreError:
                raise
            except Exception as e:
                if attempt == attempts or not _transient(e):
                    raise self._explain(what, e, attempt) from e
                pause = min(o.backoff_max_s, o.backoff_s * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                if isinstance(e, ResourceExhaustedResponse):  # the server said how long to wait
                    pause = min(o.backoff_max_s, max(pause, float(e.retry_after_s)))
                log.warning(
                    "Qdrant server %s: %s failed (attempt %d of %d), retrying in %.1f s: %r",
                    self.where,
                    what,
                    attempt,
                    attempts,
                    pause,
                    e,
                )
                time.sleep(pause)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _explain(self, what: str, e: Exception, attempts: int) -> StoreError:
        """One sentence for the user: which server, what failed, what to do. Details go to the log."""
        log.info("Qdrant %s at %s failed after %d attempt(s)", what, self.where, attempts, exc_info=e)
        tries = f"after {attempts} attempts" if attempts > 1 else "at the first attempt"
        if isinstance(e, ResourceExhaustedResponse):
            return StoreError(
                f"the Qdrant server at {self.where} kept asking to slow down (HTTP 429) during {what}, "
                f"{tries}; lower qdrant_parallel or try again later"
            )
        if isinstance(e, UnexpectedResponse):
            code = e.status_code
            if code in (401, 403):
                return StoreError(
                    f"the Qdrant server at {self.where} refused the API key (HTTP {code}); "
                    "check qdrant_api_key in the settings"
                )
            if code in RETRY_STATUS:
                return StoreError(
                    f"the Qdrant server at {self.where} could not take the {what} (HTTP {code}, {tries}); "
                    "it may be overloaded or restarting: check its logs, then run the command again"
                )
            reason = _server_reason(e)
            return StoreError(
                f"the Qdrant server at {self.where} rejected the {what} of collection {self.name} "
                f"(HTTP {code}{': ' + reason if reason else ''})"
            )
        if isinstance(e, ResponseHandlingException):
            src = e.source
            if isinstance(src, httpx.TimeoutException) and not isinstance(src, httpx.ConnectTimeout):
                return StoreError(
                    f"the Qdrant server at {self.where} did not answer the {what} within "
                    f"{self.options.timeout_s} s ({tries}); check that it is up and not overloaded, "
                    "or raise qdrant_timeout_s"
                )
            if isinstance(src, httpx.TransportError):
                return StoreError(
                    f"cannot reach the Qdrant server at {self.where} ({what}, {tries}); check qdrant_url "
                    "and that the server is running and reachable from this machine"
                )
            return StoreError(
                f"the Qdrant server at {self.where} sent an answer to the {what} that this qdrant-client "
                "cannot read; check that the server's and the client's versions match"
            )
        if isinstance(e, ValueError):  # our filter translation, or local mode refusing a request
            return StoreError(f"{what} at {self.where}: {e}")
        return StoreError(
            f"vector store {self.name} at {self.where}: {what} failed ({type(e).__name__}); "
            "the details are in the log"
        )

    # --- writes -----------------------------------------------------------------------------------------

    def upsert(self, points: Sequence[Point]) -> None:
        """All batches are checked (shape, finiteness, ids) before the first is sent; then up to
        `options.parallel` batches are in flight at once. On a failure the other batches still finish
        (so nothing is left in flight), and the first error is raised: a redo is a harmless upsert."""
        batches = []
        for start in range(0, len(points), UPSERT_BATCH):
            chunk = points[start : start + UPSERT_BATCH]
            vectors = as_vectors(chunk, self.dim)
            batches.append(
                [
                    models.PointStruct(id=point_id(p.id), vector=v, payload=prepare_payload(p.payload))
                    for p, v in zip(chunk, vectors, strict=True)
                ]
            )
        pool = self._writers() if len(batches) > 1 else None
        if pool is None:
            for batch in batches:
                self._run("upsert", self._c.upsert, self.name, batch, wait=True)
            return
        futures = [pool.submit(self._run, "upsert", self._c.upsert, self.name, b, wait=True) for b in batches]
        wait(futures)
        for f in futures:
            f.result()  # the first failure, as a StoreError

    def _writers(self) -> ThreadPoolExecutor | None:
        """The upsert pool, made on first use; None where writes stay sequential (local mode is not
        thread-safe; parallel = 1)."""
        if self.local or self.options.parallel <= 1:
            return None
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.options.parallel, thread_name_prefix="qdrant-upsert")
            return self._pool

    def set_payload(self, ids: Sequence[str], payload: dict[str, Any]) -> None:
        if not ids:
            return
        # By filter, as in the Edge store: unknown ids are skipped instead of failing the call.
        wanted: list[models.ExtendedPointId] = list(point_ids(ids))
        selector = models.Filter(must=[models.HasIdCondition(has_id=wanted)])
        self._run(
            "set_payload", self._c.set_payload, self.name, prepare_payload(payload), selector, wait=True
        )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            gone: list[models.ExtendedPointId] = list(point_ids(ids))
            selector = models.PointIdsList(points=gone)
            self._run("delete", self._c.delete, self.name, selector, wait=True)

    def optimize(self) -> bool:
        return False  # the server optimizes in the background

    def flush(self) -> None:
        pass  # wait=True already means applied; the server's WAL handles durability

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True)
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    def __enter__(self) -> RemoteStore:
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
        response = self._run(
            "search",
            self._c.query_points,
            self.name,
            query=as_vector(vector, self.dim, "query vector"),
            query_filter=self._run("search", to_client, where),
            limit=limit,
            score_threshold=min_score,
            with_payload=True,
            with_vectors=False,
        )
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        if not ids:
            return []
        wanted = list(dict.fromkeys(point_ids(ids)))
        records = self._run(
            "retrieve", self._c.retrieve, self.name, wanted, with_payload=True, with_vectors=with_vectors
        )
        by_id = {str(r.id): r for r in records}
        return [_record(by_id[i], with_vectors) for i in wanted if i in by_id]  # in the order asked

    def ids(self, *, batch: int = 5000) -> Iterator[str]:
        """Every point id, without payloads or vectors (the ledger/store consistency check)."""
        offset: Any = None
        while True:
            records, offset = self._run(
                "scroll", self._c.scroll, self.name, limit=batch, offset=offset, with_payload=False
            )
            for r in records:
                yield str(r.id)
            if offset is None:
                return

    def scroll(self, *, batch: int = 1000, with_vectors: bool = False) -> Iterator[Record]:
        offset: Any = None
        while True:
            records, offset = self._run(
                "scroll",
                self._c.scroll,
                self.name,
                limit=batch,
                offset=offset,
                with_payload=True,
                with_vectors=with_vectors,
            )
            for r in records:
                yield _record(r, with_vectors)
            if offset is None:
                return

    def count(self, where: Filter | None = None) -> int:
        flt = self._run("count", to_client, where)
        return int(self._run("count", self._c.count, self.name, count_filter=flt, exact=True).count)


def _record(r: Any, with_vectors: bool) -> Record:
    vec = np.asarray(r.vector, dtype=np.float32) if with_vectors and r.vector is not None else None
    return str(r.id), r.payload or {}, vec
