"""The vector-store contract shared by the embedded (Qdrant Edge) and remote (Qdrant server) backends.

One store instance is one collection: the vectors of one embedding model, cosine distance, L2-normalised
float32 vectors from the caller. Point ids are UUID strings derived from content + model, so every write is
an idempotent upsert and a redo after a crash is harmless.

Also here: the payload fields the stores index (`PAYLOAD_FIELDS`) and the derived fields computed from
them (`prepare_payload`), so both backends and the `--where` parser agree on one meaning per field.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
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


class Kind(StrEnum):
    """How a payload field is indexed, which decides how each filter operator is translated."""

    INTEGER = "integer"
    FLOAT = "float"
    KEYWORD = "keyword"  # exact match; a list value matches when any element does
    TEXT = "text"  # full text: word tokenizer, lowercased, so "canon" matches "Canon EOS 600D"


# Payload fields with an index. Lists (keywords, folders, ...) use the kind of their elements.
# Every index costs upsert time (~4-9 us per point each in Edge), so only fields that `--where` filters
# on often are indexed; others (width, height, exact keywords, path) still filter, by payload scan.
PAYLOAD_FIELDS: dict[str, Kind] = {
    "rating": Kind.INTEGER,
    "iso": Kind.INTEGER,
    "captured_ts": Kind.FLOAT,  # POSIX seconds, UTC
    "focal_length": Kind.FLOAT,
    "aperture": Kind.FLOAT,
    "label": Kind.KEYWORD,
    "keywords_lc": Kind.KEYWORD,  # derived: casefolded keywords, what `keyword=` filters use
    "keyword_paths": Kind.KEYWORD,  # hierarchical keywords, "Events|Wedding"
    "ext": Kind.KEYWORD,  # derived from path when absent: lowercase, no dot ("cr3")
    "folders": Kind.KEYWORD,  # derived: every ancestor folder (see folder_key), for "folder under X"
    "camera": Kind.TEXT,
    "camera_make": Kind.TEXT,
    "camera_model": Kind.TEXT,
    "lens": Kind.TEXT,
    # analysis stages (bridge/analyses.py)
    "q_overall": Kind.FLOAT,
    "q_sharpness": Kind.FLOAT,
    "q_exposure": Kind.FLOAT,
    "q_noise": Kind.FLOAT,
    "ai_keywords_lc": Kind.KEYWORD,  # derived: casefolded AI keywords (labels)
    "ai_caption": Kind.TEXT,  # BLIP caption, word-matched by hybrid search
    "title": Kind.TEXT,  # the photographer's own title and caption, word-matched by hybrid search
    "caption": Kind.TEXT,
}


def folder_key(path: str) -> str:
    """The comparable form of a folder path: forward slashes, casefolded, normalised, no trailing slash.

    Casefolded because the photo folders that matter live on case-insensitive file systems (macOS,
    Windows) and users type them by hand; two folders differing only in case are not worth a surprise.
    `normpath` keeps a UNC share's leading "//".
    """
    return posixpath.normpath(path.replace("\\", "/").casefold())


def ancestor_folders(path: str) -> list[str]:
    """Every folder containing the file at `path`, nearest first: "/a/b/c.jpg" → ["/a/b", "/a", "/"].

    String slicing rather than PurePosixPath.parents: this runs for every upserted point.
    """
    key = folder_key(path)
    out: list[str] = []
    cut = key.rfind("/")
    while cut > 0:
        key = key[:cut]
        out.append(key)
        cut = key.rfind("/")
    if cut == 0 and key != "/":
        out.append("/")  # an absolute path's root
    return out


def _ext(value: str) -> str:
    return value.strip().lstrip(".").casefold()


def prepare_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `payload` with the derived fields filled in, so filters see one normalised form.

    Applied on every upsert and set_payload: keywords → keywords_lc, ai_keywords → ai_keywords_lc; path (and `paths`, every place a
    duplicate lives) → folders, replacing any given, so they always match `folder_key`; ext from the path
    when absent, lowercased, without the dot.
    """
    out = dict(payload)
    for src, dst in (("keywords", "keywords_lc"), ("ai_keywords", "ai_keywords_lc")):
        if src in out:
            kws = out[src]
            out[dst] = None if kws is None else sorted({str(k).casefold() for k in kws})
    paths = [p for p in [out.get("path"), *(out.get("paths") or ())] if isinstance(p, str)]
    if paths:
        out["folders"] = list(dict.fromkeys(f for p in paths for f in ancestor_folders(p)))
        if "ext" not in out:
            out["ext"] = _ext(posixpath.splitext(paths[0].replace("\\", "/"))[1])
    if isinstance(out.get("ext"), str):
        out["ext"] = _ext(out["ext"])
    return out


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
