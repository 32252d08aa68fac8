"""Search: by text, or by example photo, with metadata filters. Results carry the current paths from the
ledger (the authority on where files are now); hits whose files are gone are dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bridge.engine import Engine
from bridge.payload import point_id
from bridge.scan import fingerprint, normalize_root
from bridge.store.filters import Filter

SHOWN_FIELDS = (
    "camera",
    "lens",
    "captured_at",
    "rating",
    "label",
    "keywords",
    "title",
    "caption",
    "width",
    "height",
)


class SearchError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Result:
    rank: int
    score: float
    path: str
    paths: list[str]
    fingerprint: str
    fields: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "path": self.path,
            "paths": self.paths,
            "fingerprint": self.fingerprint,
            **self.fields,
        }


def _require_model(engine: Engine) -> None:
    if engine.embedder is None:
        raise SearchError(f"search needs the embedding model: {engine.weights_problem}")


def text_vector(engine: Engine, text: str) -> np.ndarray:
    _require_model(engine)
    if not text.strip():
        raise SearchError("empty query: describe the photo you are looking for")
    assert engine.embedder is not None
    return engine.embedder.encode_text([text])[0]


def photo_vector(engine: Engine, photo: str | Path) -> tuple[np.ndarray, str | None]:
    """The stored vector when the photo is indexed (no decode); otherwise decode and embed it now."""
    _require_model(engine)
    assert engine.embedder is not None
    path = normalize_root(photo)
    if not os.path.isfile(path):
        raise SearchError(f"photo not found: {photo}")
    row = engine.ledger.file_by_path(path)
    fp = row.fingerprint if row and row.fingerprint else fingerprint(path)
    got = engine.store().retrieve([point_id(fp, engine.model_id)], with_vectors=True)
    if got and got[0][2] is not None:
        return np.asarray(got[0][2], dtype=np.float32), fp
    from bridge.worker import Job, process  # the indexer's own decode → model-input step

    s = engine.settings
    result = process(
        Job(path, fp, False, True, engine.embedder.weights.spec.image_size, s.decode_size, s.max_pixels)
    )
    if result.model_input is None:
        f = result.failures[0]
        raise SearchError(f"cannot read {photo}: {f.reason}: {f.detail}")
    return engine.embedder.encode_images(result.model_input[None])[0], fp


def search(
    engine: Engine,
    vector: np.ndarray,
    *,
    limit: int = 20,
    min_score: float | None = None,
    where: Filter | None = None,
    exclude_fingerprint: str | None = None,
) -> list[Result]:
    store = engine.store()
    hits = store.search(vector, limit=limit * 2 + 1, min_score=min_score, where=where)
    fps = [h.payload.get("fingerprint", "") for h in hits]
    live = engine.ledger.paths_for(fp for fp in fps if fp)
    out: list[Result] = []
    for h in hits:
        fp = h.payload.get("fingerprint", "")
        if fp not in live or fp == exclude_fingerprint:
            continue  # file gone since it was indexed (sweep pending), or the query photo itself
        fields = {k: h.payload[k] for k in SHOWN_FIELDS if k in h.payload}
        out.append(Result(len(out) + 1, float(h.score), live[fp][0], live[fp], fp, fields))
        if len(out) == limit:
            break
    return out
