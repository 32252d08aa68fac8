"""Vector store: embedded Qdrant Edge by default, or a Qdrant server/cluster through qdrant-client.

store = open_store("edge", collection=collection_name(settings.model, STORE_SCHEMA_VERSION), dim=512,
                   path=settings.store_dir)
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bridge.store.base import (
    Hit,
    Point,
    StoreDamagedError,
    StoreError,
    StoreLockedError,
    VectorStore,
)
from bridge.store.filters import Condition, Filter
from bridge.store.schema import PAYLOAD_FIELDS

if TYPE_CHECKING:
    from bridge.store.options import ServerOptions

__all__ = [
    "PAYLOAD_FIELDS",
    "Condition",
    "Filter",
    "Hit",
    "Point",
    "StoreDamagedError",
    "StoreError",
    "StoreLockedError",
    "VectorStore",
    "collection_name",
    "open_store",
]

MAX_NAME = 100  # well under file-name (255 bytes) and Qdrant collection-name limits


def collection_name(model_id: str, schema_version: int) -> str:
    """A safe, lowercase, stable name: "ViT-B-32/laion2b_s34b_b79k", 1 → "pd_v1_vit-b-32__laion2b_s34b_b79k".

    "/" becomes "__"; any other character outside [a-z0-9._-] becomes "-". When that replacement (or
    shortening) loses information, a hash of the exact model id is appended, so two models never share
    a collection.
    """
    if not model_id.strip():
        raise ValueError("model id is empty")
    if schema_version < 1:
        raise ValueError(f"schema version must be 1 or more, not {schema_version}")
    base = model_id.strip().lower().replace("/", "__")
    safe = re.sub(r"[^a-z0-9._-]", "-", base)
    name = f"pd_v{schema_version}_{safe}"
    if safe != base or len(name) > MAX_NAME:
        digest = hashlib.sha1(model_id.encode()).hexdigest()[:8]
        name = f"{name[: MAX_NAME - 9]}_{digest}"
    return name


def open_store(
    kind: Literal["edge", "qdrant"],
    *,
    collection: str,
    dim: int,
    path: Path | None = None,
    url: str | None = None,
    api_key: str | None = None,
    options: ServerOptions | None = None,
) -> VectorStore:
    """Open one collection. "edge": a shard dir `path/collection` (path required). "qdrant": the server at
    `url` (with `api_key`; timeouts, retries, parallel writes and a new collection's shards and replicas
    from `options`), or qdrant-client's local mode at `path` / ":memory:" (tests)."""
    if dim < 1:
        raise ValueError(f"vector size must be positive, not {dim}")
    if kind == "edge":
        if path is None:
            raise StoreError("the embedded vector store needs a folder (path) to keep its files in")
        from bridge.store.edge import EdgeStore

        return EdgeStore.open(Path(path), collection=collection, dim=dim)
    if kind == "qdrant":
        if url is None and path is None:
            raise StoreError("store = 'qdrant' needs qdrant_url in the settings (e.g. http://localhost:6333)")
        from bridge.store.remote import RemoteStore  # imported lazily: qdrant-client is slow to import

        return RemoteStore.open(
            collection=collection, dim=dim, url=url, api_key=api_key, path=path, options=options
        )
    raise ValueError(f"unknown store kind {kind!r}; expected 'edge' or 'qdrant'")
