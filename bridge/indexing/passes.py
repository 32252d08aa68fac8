"""The passes after the main phase, over content indexed earlier too: keywords from the stored vectors
(a new vocabulary, or keywords just enabled) and captions (a second decode, then the caption model)."""

from __future__ import annotations

import os
from collections.abc import Set

import numpy as np

from bridge.files.objects import encode_options, is_url
from bridge.indexing.batches import keyword_results, prepare_vocabulary, results
from bridge.indexing.captions import CAPTION_NICENESS, commit_captions
from bridge.indexing.context import RunContext
from bridge.indexing.plan import Plan
from bridge.indexing.summary import Tally
from bridge.indexing.upkeep import set_analysis_payloads
from bridge.indexing.worker import Job
from bridge.records import FileResult, Stage

KEYWORD_CHUNK = 512  # stored vectors read back per step


def keyword_pass(ctx: RunContext, tally: Tally) -> None:
    """Keywords for content embedded earlier: from the stored vectors, no file is read."""
    vec = ctx.vectors
    if ctx.keywords is None or vec is None:
        return
    _, store, model_id = vec
    points = ctx.ledger.stage_points(Stage.EMBED, model_id)
    todo = sorted(set(points) - ctx.ledger.done_fingerprints(Stage.KEYWORDS, ctx.keywords.version))
    if not todo:
        return
    embedded = frozenset(points)
    prepare_vocabulary(ctx, tally)
    ctx.progress.phase("keywording", total=len(todo))
    for i in range(0, len(todo), KEYWORD_CHUNK):
        if ctx.stop.is_set():
            return
        part = todo[i : i + KEYWORD_CHUNK]
        vectors = {pid: v for pid, _, v in store.retrieve([points[fp] for fp in part], with_vectors=True)}
        found = {fp: v for fp in part if (v := vectors.get(points[fp])) is not None}
        fps = list(found)
        if not fps:
            continue
        rows = keyword_results(ctx, tally, fps, np.stack(list(found.values())))
        set_analysis_payloads(ctx, tally, rows, embedded)
        ctx.ledger.commit_batch(analyses=rows)
        ctx.progress.advance(done=len(rows))


def caption_pass(ctx: RunContext, tally: Tally, plan: Plan, scanned: Set[str]) -> None:
    """Captions for this run's photos that have none from the current caption model.

    Its own stage: a second decode (workers), then the caption model in batches, each batch committed, so a
    kill redoes at most one batch. On a CPU the process drops to a lower priority first: captions cost
    ~25x an embedding and the machine should stay usable meanwhile.
    """
    captioner = ctx.captioner
    if captioner is None:
        return
    done = ctx.ledger.done_fingerprints(Stage.CAPTION, captioner.model_id)
    paths = ctx.ledger.paths_for(sorted(set(scanned) - done))
    failed = ctx.ledger.failures_by_path()
    todo = [
        Job(
            path=ps[0],
            fingerprint=fp,
            want_metadata=False,
            want_pixels=False,
            image_size=0,
            decode_size=ctx.settings.decode_size,
            max_pixels=ctx.settings.max_pixels,
            caption_size=captioner.input_size,  # squashed to the model's square where it was decoded
            storage=encode_options(ctx.settings.object_storage_options) if is_url(ps[0]) else "",
        )
        for fp, ps in sorted(paths.items())
        if ps[0] not in failed
    ]
    if not todo:
        return
    if captioner.device == "cpu" and hasattr(os, "nice"):
        os.nice(max(0, CAPTION_NICENESS - os.nice(0)))  # idempotent: never raised back
    embedded = frozenset(ctx.ledger.done_fingerprints(Stage.EMBED, ctx.model_id) if ctx.model_id else ())
    ctx.progress.phase("captioning", total=len(todo))
    batch: list[FileResult] = []
    size = max(1, int(captioner.batch_size or 8))
    for result in results(ctx, todo):
        if result.bitmap is None:
            ctx.ledger.commit_batch(failures=[plan.failed_file(f) for f in result.failures])
            ctx.progress.advance(failed=1)
            continue
        batch.append(result)
        if len(batch) >= size:
            _caption_batch(ctx, tally, batch, embedded)
            batch = []
    if batch:
        _caption_batch(ctx, tally, batch, embedded)


def _caption_batch(ctx: RunContext, tally: Tally, batch: list[FileResult], embedded: frozenset[str]) -> None:
    captioner = ctx.captioner
    assert captioner is not None
    with tally.timed("caption"):
        texts = captioner.caption([r.bitmap for r in batch if r.bitmap is not None])
    commit_captions(ctx, tally, [r.fingerprint for r in batch], texts, embedded)
    ctx.progress.advance(done=len(batch))
    if ctx.on_batch_committed:
        ctx.on_batch_committed(len(batch))
