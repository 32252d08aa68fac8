"""The vector-store contract shared by the embedded (Qdrant Edge) and remote (Qdrant server) backends.

One store instance is one collection: the vectors of one embedding model, cosine distance, L2-normalised
float32 vectors from the caller. Point ids are UUID strings derived from content + model, so every write is
an idempotent upsert and a redo after a crash is harmless.

The payload schema (indexed fields, derived fields) is in `bridge/store/schema.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from bridge.store.filters import Filter


class StoreError(Exception):
    """A vector-store failure, worded for the user: what happened, to which store, what to do."""


class StoreLockedError(StoreError):
    """Another process (or another handle in this one) already has the store open. Never move it aside."""


class StoreDamagedError(StoreError):
    """The store's files cannot be read. The caller may `move_aside` it and rebuild from the ledger (R3)."""


@dataclass(frozen=True, slots=True)
class Point:
    id: str  # UUID string
    vector: list[float] | np.ndarray
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    score: float  # cosine similarity, higher is closer
    payload: dict[str, Any]


Record = tuple[str, dict[str, Any], "np.ndarray | None"]  # (id, payload, vector if asked for)


class VectorStore(Protocol):
    """One collection. Durability: an upsert survives a killed process once it returns (Edge writes it to
    its WAL first); it survives a power cut once `flush()` returns. Call `flush()` before recording a batch
    as done in the ledger."""

    name: str
    dim: int

    def upsert(self, points: Sequence[Point]) -> None: ...
    def set_payload(self, ids: Sequence[str], payload: dict[str, Any]) -> None: ...
    def delete(self, ids: Sequence[str]) -> None: ...
    def search(
        self,
        vector: Sequence[float] | np.ndarray,
        *,
        limit: int = 20,
        min_score: float | None = None,
        where: Filter | None = None,
    ) -> list[Hit]: ...
    def retrieve(self, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]: ...
    def scroll(self, *, batch: int = 1000, with_vectors: bool = False) -> Iterator[Record]: ...
    def ids(self, *, batch: int = 5000) -> Iterator[str]: ...  # ids only: the ledger consistency check
    def count(self, where: Filter | None = None) -> int: ...
    def optimize(self) -> bool: ...  # end of an indexing run: build the ANN index (Edge); a no-op remotely
    def flush(self) -> None: ...
    def close(self) -> None: ...


def as_vector(vector: Sequence[float] | np.ndarray, dim: int, what: str) -> list[float]:
    """A plain float list of length `dim` (what both Qdrant bindings take fastest), or a StoreError."""
    arr = np.asarray(vector, dtype=np.float32)
    if arr.ndim != 1 or arr.shape[0] != dim:
        raise StoreError(f"{what} has {arr.size} numbers in shape {arr.shape}; this collection holds {dim}.")
    if not np.isfinite(arr).all():
        raise StoreError(f"{what} contains NaN or infinite values.")
    return arr.tolist()


def as_vectors(points: Sequence[Point], dim: int) -> list[list[float]]:
    """`as_vector` for a batch: one stack, one shape and finiteness check, then a list per row."""
    try:
        arr = np.asarray([p.vector for p in points], dtype=np.float32)
    except ValueError:  # ragged: find the culprit for the message
        arr = None
    if arr is None or arr.ndim != 2 or arr.shape[1] != dim or not np.isfinite(arr).all():
        for p in points:
            as_vector(p.vector, dim, f"vector of point {p.id}")
        raise StoreError(f"vectors in this batch do not form a {len(points)} x {dim} array")
    return [row.tolist() for row in arr]


def point_id(value: str | uuid.UUID) -> str:
    """The canonical UUID string both backends hand back, so ids compare equal across calls."""
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError as e:
        raise StoreError(f"point id {value!r} is not a UUID") from e


def point_ids(values: Sequence[str | uuid.UUID]) -> list[str]:
    return [point_id(v) for v in values]
