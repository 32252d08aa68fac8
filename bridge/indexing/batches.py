"""The main phase: decode jobs in worker processes, then per batch embed, build the points and commit.

A batch is prepared (vectors, points, analysis results, failures: a frozen `Batch`) and then committed,
which does one thing: the store first, then ONE ledger transaction. A kill between the two redoes the batch;
nothing is ever recorded that the store does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bridge.analyses.kinds import keywords_data
from bridge.indexing import lanes, sidecars
from bridge.indexing.captions import CaptionLane, commit_captions
from bridge.indexing.context import METADATA_VERSION, RunContext
from bridge.indexing.payload import build_payload, point_id
from bridge.indexing.plan import Plan
from bridge.indexing.summary import Tally
from bridge.indexing.upkeep import ensure_space, set_analysis_payloads
from bridge.indexing.worker import Job, WorkerSourceUnavailable, process
from bridge.models.clip import Embedder
from bridge.records import FileResult, SourceOutage, Stage
from bridge.state.rows import AnalysisResult, FailedFile, StageDone
from bridge.store.base import Point

# Stages whose failure makes the file count as failed: decoding, or metadata in a metadata-only run.
COUNTED_WITH_VECTORS = (Stage.DECODE,)
COUNTED_METADATA_ONLY = (Stage.DECODE, Stage.METADATA)


@dataclass(frozen=True)
class Batch:
    results: tuple[FileResult, ...]
    points: tuple[Point, ...]  # new vectors with their payloads
    stages: tuple[StageDone, ...]
    analyses: tuple[AnalysisResult, ...]
    failures: tuple[FailedFile, ...]
    metadata: tuple[tuple[str, dict[str, Any]], ...]
    embedded: frozenset[str]  # content given a vector in this batch


def results(
    ctx: RunContext,
    jobs: Sequence[Job],
    counts: lanes.LaneCounts | None = None,
    notes: list[str] | None = None,
) -> Iterator[FileResult]:
    """Each job's result: from the decode lanes (CPU workers, and the device for JPEGs when it decodes), from
    a Ray cluster when the run names one, or in this process for one or two files."""
    if ctx.inline or len(jobs) <= 2:  # a watcher's one or two files: not worth starting a pool (~1 s)
        for job in jobs:
            if ctx.stop.is_set():
                return
            try:
                result = process(job)
            except WorkerSourceUnavailable as e:  # the bucket's store stopped answering: no file to blame
                raise SourceOutage(str(e)) from None
            yield result
        return
    if ctx.settings.cluster:
        from bridge.indexing import raylane  # Ray is imported only by a run that names a cluster

        yield from raylane.results(ctx, jobs, notes)
        return
    yield from lanes.results(ctx, jobs, counts)


def run_batches(ctx: RunContext, tally: Tally, plan: Plan) -> None:
    # Edited sidecars first: payloads of content embedded before (no decode), then the ledger's rows.
    sidecars.apply(ctx, tally, plan.sidecars, {j.fingerprint for j in plan.jobs if j.want_pixels})
    if any(j.want_pixels for j in plan.jobs):
        prepare_vocabulary(ctx, tally)
    ctx.progress.phase("indexing", total=len(plan.jobs))
    counts = lanes.LaneCounts()
    wants_captions = ctx.captioner is not None and any(j.caption_size for j in plan.jobs)
    lane = CaptionLane(ctx.captioner) if wants_captions and ctx.captioner is not None else None
    embedded = set(plan.embedded)  # content with a committed vector: caption payloads can be set
    pending: list[FileResult] = []
    n_pixels = 0

    def flush() -> None:
        batch = prepare(ctx, tally, plan, pending)
        commit(ctx, tally, batch, plan)
        embedded.update(batch.embedded)
        if lane is not None:
            for r in pending:
                if r.bitmap is not None:
                    lane.submit(r.fingerprint, r.bitmap)
            for fps, texts in lane.ready():
                commit_captions(ctx, tally, fps, texts, embedded)

    try:
        for result in results(ctx, plan.jobs, counts, tally.summary.notes):
            pending.append(result)
            if result.model_input is not None:
                n_pixels += 1
            if n_pixels >= ctx.batch_size or len(pending) >= 4 * ctx.batch_size:
                flush()
                pending, n_pixels = [], 0
        if pending:
            flush()
        if lane is not None and not ctx.stop.is_set():
            with tally.timed("caption_wait"):
                finished = lane.finish()
            for fps, texts in finished:
                commit_captions(ctx, tally, fps, texts, embedded)
    finally:
        if lane is not None:
            lane.abandon()  # stopped or failing: what was not committed is captioned by the next run
        note_lanes(tally, counts)


def note_lanes(tally: Tally, counts: lanes.LaneCounts) -> None:
    if counts.device is None:
        return
    tally.seconds["device_decode"] += counts.device_seconds
    tally.summary.notes.append(
        f"{counts.device_decoded} JPEGs decoded on {counts.device}; {counts.stolen} taken by idle CPU workers, "
        f"{counts.turned_away} handed to them (progressive, CMYK, cut or odd files)"
    )


def prepare(ctx: RunContext, tally: Tally, plan: Plan, results: Sequence[FileResult]) -> Batch:
    """Embed the batch's model inputs and build its points; nothing is written yet."""
    ensure_space(ctx.settings, len(results), "write the next batch")  # a batch is written whole or not at all
    for r in results:
        for k, v in r.timings.items():
            tally.seconds[f"{k}_cpu"] += v
    analyses = [
        AnalysisResult(r.fingerprint, Stage(k), v, d) for r in results for k, (v, d) in r.analyses.items()
    ]
    with_pixels = [r for r in results if r.model_input is not None or r.vector is not None]
    points: list[Point] = []
    stages: list[StageDone] = []
    if with_pixels and (vec := ctx.vectors) is not None:
        embedder, _, model_id = vec
        vectors = embed(tally, embedder, with_pixels)
        analyses += keyword_results(ctx, tally, [r.fingerprint for r in with_pixels], vectors)
        fps = [r.fingerprint for r in with_pixels]
        metas = {r.fingerprint: r.metadata for r in with_pixels if r.metadata is not None}
        metas.update(ctx.ledger.metadata_for([fp for fp in fps if fp not in metas]))
        paths = ctx.ledger.paths_for(fps)
        sidecar_rows = ctx.ledger.sidecars_for(p for ps in paths.values() for p in ps)
        known = ctx.ledger.analyses_for(fps)
        for a in analyses:
            known.setdefault(a.fingerprint, {})[a.kind] = a.data
        for r, vector in zip(with_pixels, vectors, strict=True):
            pid = point_id(r.fingerprint, model_id)
            ps = paths.get(r.fingerprint, [r.path])
            fields = sidecars.point_metadata(ctx, ps, metas.get(r.fingerprint, {}), sidecar_rows)
            payload = build_payload(r.fingerprint, model_id, ps, fields, known.get(r.fingerprint))
            points.append(Point(pid, vector, payload))
            stages.append(StageDone(r.fingerprint, Stage.EMBED, model_id, pid))
    metadata = tuple((r.fingerprint, r.metadata) for r in results if r.metadata is not None)
    stages += [StageDone(fp, Stage.METADATA, METADATA_VERSION) for fp, _ in metadata]
    return Batch(
        results=tuple(results),
        points=tuple(points),
        stages=tuple(stages),
        analyses=tuple(analyses),
        failures=tuple(plan.failed_file(f) for r in results for f in r.failures),
        metadata=metadata,
        embedded=frozenset(r.fingerprint for r in with_pixels),
    )


def commit(ctx: RunContext, tally: Tally, batch: Batch, plan: Plan) -> None:
    """Write one prepared batch: the store first, then ONE ledger transaction."""
    if batch.points and ctx.store is not None:
        with tally.timed("store"):
            ctx.store.upsert(list(batch.points))
    # Metadata read again for content whose vector was there before: its payload shows it (store first).
    reread = {
        r.fingerprint: r.metadata for r in batch.results if r.metadata and r.fingerprint not in batch.embedded
    }
    if reread:
        sidecars.rewrite_payloads(ctx, tally, reread, metadata=reread)
    # New results for content whose vector already exists: show them in its payload (store first).
    set_analysis_payloads(
        ctx, tally, [a for a in batch.analyses if a.fingerprint not in batch.embedded], plan.embedded
    )
    with tally.timed("ledger"):
        ctx.ledger.commit_batch(
            metadata=batch.metadata,
            metadata_version=METADATA_VERSION,
            stages=batch.stages,
            failures=batch.failures,
            cleared_failures=[r.path for r in batch.results if not r.failed],
            analyses=batch.analyses,
        )
    summary = tally.summary
    summary.embedded += len(batch.points)
    summary.analyzed += len({r.fingerprint for r in batch.results if r.analyses})
    summary.metadata_read += len(batch.metadata)
    counted = COUNTED_WITH_VECTORS if ctx.embedder is not None else COUNTED_METADATA_ONLY
    failed_files = {x.failure.path: x.failure for x in batch.failures if x.failure.stage in counted}
    tally.failed(failed_files.values())
    ctx.progress.advance(done=len(batch.results) - len(failed_files), failed=len(failed_files))
    if ctx.on_batch_committed:
        ctx.on_batch_committed(len(batch.results))


def embed(tally: Tally, embedder: Embedder, results: Sequence[FileResult]) -> np.ndarray:
    """The batch's vectors, in order: those a cluster's model actors made, the rest encoded here."""
    todo = [r.model_input for r in results if r.vector is None and r.model_input is not None]
    encoded: Iterator[np.ndarray] = iter(())
    if todo:
        with tally.timed("embed"):
            encoded = iter(embedder.encode_images(np.stack(todo)))
    return np.stack([r.vector if r.vector is not None else next(encoded) for r in results])


def prepare_vocabulary(ctx: RunContext, tally: Tally) -> None:
    """Embed the keyword vocabulary's prompts before the photos need them, as a phase of its own with
    progress (a new model or vocabulary: ~40 s on a CPU, which used to pass at "0/459 0%")."""
    keywords = ctx.keywords
    if keywords is None or ctx.vectors is None or keywords.ready():
        return
    ctx.progress.phase("embedding the keyword vocabulary", total=keywords.prompt_count)
    with tally.timed("vocabulary"):
        keywords.term_vectors(on_progress=lambda n: ctx.progress.advance(done=n))


def keyword_results(
    ctx: RunContext, tally: Tally, fingerprints: Iterable[str], vectors: np.ndarray
) -> list[AnalysisResult]:
    """Zero-shot keywords from the vectors just computed (or read back from the store)."""
    if ctx.keywords is None or ctx.vectors is None:
        return []
    fps = list(fingerprints)
    with tally.timed("keywords"):
        hits = ctx.keywords.assign(np.asarray(vectors, dtype=np.float32))
    tally.summary.keyworded += len(fps)
    version = ctx.keywords.version
    return [
        AnalysisResult(fp, Stage.KEYWORDS, version, keywords_data(h)) for fp, h in zip(fps, hits, strict=True)
    ]
