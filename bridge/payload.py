"""Point identity and payload: what the vector store keeps next to each vector."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from typing import Any

from bridge.formats import extension

# Fixed namespace: point ids must stay the same across versions, machines and runs.
POINT_NAMESPACE = uuid.UUID("6f1c2a52-8d0e-4d7b-9a51-1f0c5e7d9b11")


def point_id(fingerprint: str, model_id: str) -> str:
    """Stable id from content + model: a redo is an idempotent upsert, a new model a new id."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{fingerprint}|{model_id}"))


def ancestors(path: str) -> list[str]:
    """Every folder above `path`, nearest last: lets a filter say "anywhere under this folder"."""
    out = []
    d = os.path.dirname(path)
    while d and d not in out:
        out.append(d)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return sorted(out, key=len)


def path_fields(paths: Sequence[str]) -> dict[str, Any]:
    primary = sorted(paths)[0]
    folders = sorted({a for p in paths for a in ancestors(p)}, key=len)
    return {
        "path": primary,
        "paths": sorted(paths),
        "filename": os.path.basename(primary),
        "folder": os.path.dirname(primary),
        "folders": folders,
        "ext": extension(primary).lstrip("."),
    }


def build_payload(
    fingerprint: str, model_id: str, paths: Sequence[str], metadata: dict[str, Any]
) -> dict[str, Any]:
    payload = dict(metadata)
    payload.update(path_fields(paths))
    payload["fingerprint"] = fingerprint
    payload["model"] = model_id
    payload["indexed_at"] = time.time()
    if isinstance(payload.get("keywords"), list):
        payload["keywords_lc"] = sorted({k.lower() for k in payload["keywords"]})
    return payload
