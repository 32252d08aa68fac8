"""Duplicate groups among the photos of one bridge request (`metadata`, `duplicates`).

The plugin asks about a selection or a folder, and only groups with two or more of its photos matter. The
whole-index duplicate report (`bridge.search.duplicates.find_in_index`) runs a kNN search per indexed photo and
full-file hashes every exact candidate in the library: tens of seconds on a large index (a `metadata`
request for three photos took up to 55 s against the plugin's 120 s timeout). Here the same grouping
(`bridge.analyses.duplicates.find_duplicates`) runs over the requested photos only, fed by batched lookups: their
signatures and metadata in a few `IN (...)` queries, their vectors in one store `retrieve`, and the
near-duplicate candidates from a cosine matrix among those vectors. The work grows with the request,
never with the index. `metadata` also leaves out the crop search (see `groups_among`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from bridge.analyses.duplicates import DupGroup, DupItem, DupKind, DupOptions, find_duplicates
from bridge.analyses.dupsig import DupSignature
from bridge.engine import Engine
from bridge.indexing.payload import point_id
from bridge.indexing.sidecars import content_metadata
from bridge.state.ledger import Ledger

RETRIEVE_BATCH = 1000
ROWS_PER_BLOCK = 256  # cosine matrix rows per block: bounded memory for a few thousand photos

Neighbors = Callable[[str], Sequence[tuple[str, float]]]


def _items(ledger: Ledger, paths_by_fp: Mapping[str, Sequence[str]]) -> list[DupItem]:
    fps = sorted(paths_by_fp)
    analyses = ledger.analyses_for(fps, kinds=["dupsig"])
    metas = content_metadata(ledger, paths_by_fp)  # with the primary path's sidecar, as the payload shows it
    out = []
    for fp in fps:
        sig = analyses.get(fp, {}).get("dupsig")
        signature = DupSignature.from_json(sig) if sig else None
        out.append(DupItem(fp, tuple(paths_by_fp[fp]), signature, metas.get(fp, {})))
    return out


def _vectors(engine: Engine, fps: Sequence[str]) -> dict[str, np.ndarray]:
    """The requested photos' vectors for the current model, in batched `retrieve`s (no search)."""
    if engine.embedder is None and engine.weights_problem:
        return {}
    store = engine.store()
    ids = {point_id(fp, engine.model_id): fp for fp in fps}
    keys = list(ids)
    out: dict[str, np.ndarray] = {}
    for i in range(0, len(keys), RETRIEVE_BATCH):
        for pid, _payload, vec in store.retrieve(keys[i : i + RETRIEVE_BATCH], with_vectors=True):
            if vec is not None and pid in ids:
                out[ids[pid]] = np.asarray(vec, dtype=np.float32)
    return out


def neighbors_among(vectors: Mapping[str, np.ndarray], options: DupOptions) -> Neighbors:
    """kNN restricted to the given photos: top `neighbors_k` by cosine (≥ the floor), from a matrix."""
    fps = sorted(vectors)
    found: dict[str, list[tuple[str, float]]] = {fp: [] for fp in fps}
    if len(fps) >= 2:
        mat = np.stack([vectors[fp] for fp in fps])
        mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
        k = min(options.neighbors_k, len(fps) - 1)
        for start in range(0, len(fps), ROWS_PER_BLOCK):
            block = mat[start : start + ROWS_PER_BLOCK] @ mat.T
            for r in range(block.shape[0]):
                block[r, start + r] = -np.inf  # never one's own neighbour
            top = np.argpartition(-block, k - 1, axis=1)[:, :k]
            for r, cols in enumerate(top):
                pairs = [
                    (fps[c], float(block[r, c])) for c in cols if block[r, c] >= options.neighbor_min_cosine
                ]
                found[fps[start + r]] = sorted(pairs, key=lambda p: -p[1])
    return lambda fp: found.get(fp, [])


def groups_among(
    engine: Engine,
    ledger: Ledger,
    paths_by_fp: Mapping[str, Sequence[str]],
    kinds: Sequence[str] = tuple(DupKind),
    *,
    crops: bool = True,
) -> list[DupGroup]:
    """Exact, near and burst groups among the given photos (fingerprint → requested paths).

    `crops=False` leaves out the vector-neighbour candidates: near duplicates are then the re-encodes and
    resizes the image hashes find (and same-instant frames), without the thumbnail search that finds
    crops — a few milliseconds per candidate pair, and with a model that finds many similar photos there
    are ~10 pairs per photo. `metadata` uses that (it labels a selection and must answer in seconds);
    `duplicates`, which the user runs to find duplicates, searches crops too."""
    if len(paths_by_fp) < 1:
        return []
    options = DupOptions()
    wanted = {DupKind(k) for k in kinds}
    neighbors = None
    if DupKind.NEAR in wanted and crops:
        neighbors = neighbors_among(_vectors(engine, sorted(paths_by_fp)), options)
    return find_duplicates(_items(ledger, paths_by_fp), kinds=wanted, neighbors=neighbors, options=options)


def group_id(group: DupGroup) -> str:
    """Stable for the same photos: kind + a hash of the group's fingerprints."""
    digest = hashlib.blake2b("|".join(sorted(group.fingerprints)).encode(), digest_size=6).hexdigest()
    return f"{group.kind.value}-{digest}"
