"""The same VectorStore over qdrant-client: a Qdrant server or cluster (URL + API key), for users who
outgrow one machine. `path=` or ":memory:" selects qdrant-client's local mode, which tests use.

Writes wait for the server to apply them (wait=True), so "upsert returned" means the same as for Edge.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ApiException, UnexpectedResponse

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
from bridge.store.schema import PAYLOAD_FIELDS, Kind, prepare_payload

UPSERT_BATCH = 256  # keeps each HTTP request a few MB at 512-d
TIMEOUT_S = 30


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


class RemoteStore:
    """A VectorStore over one Qdrant collection. Use `RemoteStore.open`."""

    def __init__(self, client: QdrantClient, where: str, name: str, dim: int) -> None:
        self._client: QdrantClient | None = client
        self.where = where  # URL or local path, for messages
        self.name = name
        self.dim = dim

    @classmethod
    def open(
        cls,
        *,
        collection: str,
        dim: int,
        url: str | None = None,
        api_key: str | None = None,
        path: Path | None = None,
    ) -> RemoteStore:
        """Connect and create the collection (cosine, payload indexes) if missing; refuse another dim."""
        if url == ":memory:" or (url is None and path is None):
            client, where, local = QdrantClient(location=":memory:"), ":memory:", True
        elif url is None:
            client, where, local = QdrantClient(path=str(path)), str(path), True
        else:
            client, where, local = QdrantClient(url=url, api_key=api_key, timeout=TIMEOUT_S), url, False
        store = cls(client, where, collection, dim)
        try:
            store._prepare(local)
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self, local: bool) -> None:
        c = self._c
        if not self._run("open", c.collection_exists, self.name):
            vectors = models.VectorParams(size=self.dim, distance=models.Distance.COSINE)
            self._run("create collection", c.create_collection, self.name, vectors_config=vectors)
        info = self._run("open", c.get_collection, self.name)
        params = info.config.params.vectors
        size = getattr(params, "size", None)
        distance = getattr(params, "distance", None)
        if size != self.dim or distance != models.Distance.COSINE:
            raise StoreError(
                f"collection {self.name} at {self.where} holds {size}-dimensional {distance} vectors, "
                f"not {self.dim}-dimensional cosine ones; use the collection named for this model"
            )
        if local:
            return  # local mode builds no payload indexes (it warns if asked); it filters by scanning
        have = set(info.payload_schema or {})
        for field, kind in PAYLOAD_FIELDS.items():
            if field not in have:
                self._run(
                    "create index", c.create_payload_index, self.name, field, _index_schema(kind), wait=True
                )

    @property
    def _c(self) -> QdrantClient:
        if self._client is None:
            raise StoreError(f"vector store {self.name} at {self.where} is closed")
        return self._client

    def _run(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StoreError:
            raise
        except UnexpectedResponse as e:
            if e.status_code in (401, 403):
                raise StoreError(
                    f"the Qdrant server at {self.where} refused the API key (HTTP {e.status_code}); "
                    "check qdrant_api_key in the settings"
                ) from e
            raise StoreError(f"the Qdrant server at {self.where}: {what} failed: {e}") from e
        except ApiException as e:  # connection refused, DNS, timeout: qdrant-client wraps them here
            raise StoreError(f"cannot reach the Qdrant server at {self.where} ({what}): {e}") from e
        except ValueError as e:
            raise StoreError(f"{what} at {self.where}: {e}") from e
        except Exception as e:  # grpc and local-mode errors have no common base
            raise StoreError(f"vector store {self.name} at {self.where}: {what} failed: {e}") from e

    # --- writes -----------------------------------------------------------------------------------------

    def upsert(self, points: Sequence[Point]) -> None:
        for start in range(0, len(points), UPSERT_BATCH):
            chunk = points[start : start + UPSERT_BATCH]
            vectors = as_vectors(chunk, self.dim)
            batch = [
                models.PointStruct(id=point_id(p.id), vector=v, payload=prepare_payload(p.payload))
                for p, v in zip(chunk, vectors, strict=True)
            ]
            self._run("upsert", self._c.upsert, self.name, batch, wait=True)

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
