"""Duplicate report over the index: builds `DupItem`s from the ledger (paths, metadata, duplicate
signatures) and answers near-duplicate candidate queries from the vector store's kNN, then lets
`bridge.analyses.duplicates` group them. Read-only: nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from bridge.analyses.duplicates import (
    DupGroup,
    DupItem,
    DupKind,
    DupOptions,
    blake2b_file,
    find_duplicates,
)
from bridge.analyses.dupsig import DupSignature
from bridge.engine import Engine
from bridge.indexing.sidecars import content_metadata
from bridge.indexing.summary import Progress
from bridge.records import Stage

Neighbors = Callable[[str], Sequence[tuple[str, float]]]


def collect_items(engine: Engine) -> list[DupItem]:
    """Every live content of the index, with its paths, metadata and signature (None if not analysed)."""
    led = engine.ledger
    paths = led.path_index()
    sigs = {fp: DupSignature.from_json(data) for fp, _, data in led.iter_analyses(Stage.DUPSIG)}
    metas = content_metadata(led, paths)  # with the primary path's sidecar, as the payload shows it
    return [DupItem(fp, tuple(ps), sigs.get(fp), metas.get(fp, {})) for fp, ps in sorted(paths.items())]


def store_neighbors(engine: Engine, k: int, min_cosine: float | None = None) -> Neighbors | None:
    """kNN of a content's vector among the current model's vectors, or None when there are none."""
    if engine.embedder is None and engine.weights_problem:
        return None
    points = engine.ledger.stage_points(Stage.EMBED, engine.model_id)
    if not points:
        return None
    store = engine.store()

    def neighbors(fingerprint: str) -> list[tuple[str, float]]:
        pid = points.get(fingerprint)
        if pid is None:
            return []
        got = store.retrieve([pid], with_vectors=True)
        if not got or got[0][2] is None:
            return []
        hits = store.search(got[0][2], limit=k + 1, min_score=min_cosine)
        return [
            (h.payload["fingerprint"], h.score)
            for h in hits
            if h.payload.get("fingerprint") not in (None, fingerprint)
        ]

    return neighbors


def find_in_index(
    engine: Engine,
    *,
    kinds: Collection[DupKind] = tuple(DupKind),
    use_vectors: bool = True,
    options: DupOptions | None = None,
    progress: Progress | None = None,
) -> tuple[list[DupGroup], list[str]]:
    """The duplicate groups of the index, and notes for the user (what was not analysed). `progress` gets a
    phase for reading the index, the kNN comparisons (one per photo) and the whole-file hashes."""
    options = options or DupOptions()
    progress = progress or Progress()
    progress.phase("reading the index")
    items = collect_items(engine)
    notes: list[str] = []
    missing = sum(1 for i in items if i.signature is None)
    if missing:
        notes.append(
            f"{missing} of {len(items)} photos have no duplicate signature yet (run `pixel-detective index`): "
            "they are only checked for exact copies and bursts"
        )
    neighbors = (
        store_neighbors(engine, options.neighbors_k, options.neighbor_min_cosine) if use_vectors else None
    )
    if use_vectors and neighbors is None and DupKind.NEAR in kinds:
        notes.append("no vectors for the current model: near-duplicates found from image hashes only")
    if neighbors is not None and DupKind.NEAR in kinds:
        neighbors = _counted(neighbors, progress, sum(1 for i in items if i.signature is not None))
    hashes: Callable[[str], str] = blake2b_file
    if DupKind.EXACT in kinds:
        hashes = _counted_hash(progress)
    groups = find_duplicates(items, kinds=kinds, neighbors=neighbors, options=options, full_hash=hashes)
    return groups, notes


def _counted(neighbors: Neighbors, progress: Progress, total: int) -> Neighbors:
    """The kNN lookups (one per analysed photo, the slow part of a large library) as a progress phase."""
    started = False

    def counted(fingerprint: str) -> Sequence[tuple[str, float]]:
        nonlocal started
        if not started:
            progress.phase("comparing photos", total=total)
            started = True
        got = neighbors(fingerprint)
        progress.advance(done=1)
        return got

    return counted


def _counted_hash(progress: Progress) -> Callable[[str], str]:
    """Whole-file hashes of same-size candidates (exact copies): counted as they go (the total is known only
    inside the grouping)."""
    started = False

    def counted(path: str) -> str:
        nonlocal started
        if not started:
            progress.phase("hashing candidate copies")
            started = True
        digest = blake2b_file(path)
        progress.advance(done=1)
        return digest

    return counted
