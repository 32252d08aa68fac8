"""Point identity and payload: what the vector store keeps next to each vector."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.analyses.kinds import payload_fields
from bridge.files.formats import extension
from bridge.files.paths import storable, to_db

# Fixed namespace: point ids must stay the same across versions, machines and runs.
POINT_NAMESPACE = uuid.UUID("6f1c2a52-8d0e-4d7b-9a51-1f0c5e7d9b11")


def point_id(fingerprint: str, model_id: str) -> str:
    """Stable id from content + model: a redo is an idempotent upsert, a new model a new id."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{fingerprint}|{model_id}"))


def path_fields(paths: Sequence[str]) -> dict[str, Any]:
    """Path-derived payload fields (the store adds `folders`, every ancestor, for "folder under X").

    In storage form (`bridge.files.paths.to_db`): Qdrant payloads take only valid Unicode, and names that are not
    valid UTF-8 must still round-trip (search shows the ledger's paths, not these)."""
    paths = [to_db(p) for p in paths]
    primary = sorted(paths)[0]
    return {
        "path": primary,
        "paths": sorted(paths),
        "filename": os.path.basename(primary),
        "folder": os.path.dirname(primary),
        "ext": extension(primary).lstrip("."),
    }


def build_payload(
    fingerprint: str,
    model_id: str,
    paths: Sequence[str],
    metadata: dict[str, Any],
    analyses: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """metadata (after rules) + analysis results (quality, AI keywords, caption) + paths and identity."""
    payload = dict(metadata)
    if analyses:
        payload.update(payload_fields(analyses))
    payload = storable(payload)  # type: ignore[assignment]  # rules and sidecar names can carry raw bytes
    payload.update(path_fields(paths))  # already in storage form (encoding twice would not round-trip)
    payload["fingerprint"] = fingerprint
    payload["model"] = model_id
    payload["indexed_at"] = time.time()
    return payload
