"""The indexing run: scan → plan → batches (decode workers → embed → store → ledger) → re-path and sweep →
keyword and caption passes → optimize. Each phase is a function of the run's frozen `RunContext` that
returns a frozen value for the next (`Scanned`, `Plan`) and adds its counts to the run's `Tally`.
Memory is bounded by the jobs in flight and one batch, never by the collection size.

| phase | module |
|---|---|
| scan, plan | `plan.py` |
| decode, embed, commit per batch | `batches.py` |
| keywords from stored vectors, captions | `passes.py` |
| payload upkeep, garbage, files gone, free space, optimize | `upkeep.py` |
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress

from bridge.analyses.faces import INSTALL_HINT
from bridge.analyses.keywording import KeywordAssigner
from bridge.analyses.kinds import face_versions, pixel_versions
from bridge.files.diskspace import disk_full_message, is_disk_full
from bridge.indexing import passes, people, upkeep
from bridge.indexing.batches import run_batches
from bridge.indexing.context import METADATA_VERSION, Rules, RunContext
from bridge.indexing.plan import plan, scan
from bridge.indexing.scan import normalize_root
from bridge.indexing.standins import StandIn
from bridge.indexing.summary import Progress, RunSummary, Tally
from bridge.models.blip import Captioner
from bridge.models.clip import Embedder
from bridge.records import RunFailure, Stage
from bridge.settings import Settings
from bridge.state.ledger import Ledger
from bridge.store.base import VectorStore

__all__ = ["METADATA_VERSION", "Indexer", "Progress", "RunSummary"]


class Indexer:
    """One data dir's indexing runs with fixed wiring; `run()` indexes roots, `forget()` drops deleted
    files, `reapply_rules()` rebuilds payloads. Hooks and the batch size may be set before a run."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        *,
        embedder: Embedder | None,
        store: VectorStore | None,
        rules: Rules | None = None,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        inline: bool = False,
        keywords: KeywordAssigner | None = None,
        captioner: Captioner | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.embedder = embedder
        self.store = store
        self.rules = rules
        self.progress = progress or Progress()
        self.stop = stop or threading.Event()
        self.inline = inline
        self.keywords = keywords if embedder is not None and store is not None else None
        self.captioner = captioner
        self.batch_size = settings.batch_size or 32
        self.on_batch_committed: Callable[[int], None] | None = None  # test hook for crash tests
        self.on_caption_committed: Callable[[int], None] | None = None  # test hook: in-pass captions
        self.summary = RunSummary(model=embedder.model_id if embedder else None)
        self.stand_ins: dict[str, StandIn] = {}  # set by run(stand_ins=…)

    @property
    def model_id(self) -> str | None:
        return self.embedder.model_id if self.embedder else None

    def context(self) -> RunContext:
        s = self.settings
        enabled = {Stage.QUALITY: s.quality, Stage.DUPSIG: s.duplicate_signatures, Stage.COMPOSITION: s.composition}
        with suppress(OSError):  # when it cannot be made, the pool says so in words (DecodePool._check_log)
            (s.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        return RunContext(
            settings=s,
            ledger=self.ledger,
            embedder=self.embedder,
            store=self.store,
            rules=self.rules,
            progress=self.progress,
            stop=self.stop,
            inline=self.inline,
            keywords=self.keywords,
            captioner=self.captioner,
            pixel_kinds=tuple((k, v) for k, v in pixel_versions().items() if enabled[k])
            + tuple(face_versions(s.faces, s.face_detector, s.face_upsample, s.eye_state_method).items()),
            batch_size=self.batch_size,
            decoder_log=str(s.data_dir / "logs" / "decoders.log"),
            on_batch_committed=self.on_batch_committed,
            on_caption_committed=self.on_caption_committed,
            stand_ins=self.stand_ins,
        )

    def run(
        self,
        roots: Sequence[str],
        *,
        rebuild: bool = False,
        retry_failed: bool = False,
        gone: Sequence[str] = (),
        stand_ins: Sequence[StandIn] = (),
    ) -> RunSummary:
        """Index `roots` (folders or files). `gone`: files or folders known to be deleted or moved away
        (the watcher's events), dropped after the new paths are recorded, so content that only moved is
        re-pathed, never re-embedded. `stand_ins`: offline originals indexed from Lightroom's previews
        (`standins.py`), each under its original's path. Raises RunFailure when the run cannot go on (no file
        is blamed)."""
        t0 = time.perf_counter()
        self.stand_ins = {s.original: s for s in stand_ins}
        roots = [*roots, *(s.original for s in stand_ins if s.original not in roots)]
        ctx, tally = self.context(), Tally(self.summary)
        roots = [normalize_root(r) for r in roots]
        self.summary.roots = roots
        upkeep.ensure_space(ctx.settings, 0, "start indexing")
        if ctx.settings.faces and Stage.FACES not in dict(ctx.pixel_kinds):
            self.summary.notes.append(f"faces: not installed ({INSTALL_HINT})")
        run_id = self.ledger.start_run("index", {"roots": roots, "model": self.model_id}, os.getpid())
        failing = False
        try:
            self._phases(ctx, tally, roots, run_id, rebuild=rebuild, retry_failed=retry_failed, gone=gone)
            self.summary.status = "stopped" if self.stop.is_set() else "completed"
        except BaseException as e:
            failing, self.summary.status = True, "failed"
            if isinstance(e, RunFailure) or not is_disk_full(e):
                raise
            # ENOSPC / "database or disk is full" from the store or the ledger: the batch in flight was not
            # recorded (store first, ledger last), so the next run redoes exactly that (R45).
            message = disk_full_message(ctx.settings.data_dir, "record the next batch")
            raise RunFailure(upkeep.disk_full(message)) from e
        finally:
            tally.close(time.perf_counter() - t0)
            self._finish(run_id, failing)
        return self.summary

    def _phases(
        self,
        ctx: RunContext,
        tally: Tally,
        roots: list[str],
        run_id: int,
        *,
        rebuild: bool,
        retry_failed: bool,
        gone: Sequence[str],
    ) -> None:
        if rebuild and ctx.model_id:
            ctx.ledger.clear_stage(Stage.EMBED, ctx.model_id)
        upkeep.collect_garbage(ctx)
        scanned = scan(ctx, tally, roots, run_id)
        work = plan(ctx, tally, scanned, retry_failed)
        run_batches(ctx, tally, work)
        repath = set(work.repath) | upkeep.drop_gone(ctx, tally, gone)
        if scanned.complete and not ctx.stop.is_set():
            for root in roots:
                swept = ctx.ledger.sweep(root, run_id)
                tally.summary.deleted += len(swept)
                repath |= {r.fingerprint for r in swept if r.fingerprint}  # content alive at another path
            upkeep.collect_garbage(ctx)
        if ctx.model_id:
            upkeep.repath(ctx, tally, repath & ctx.ledger.done_fingerprints(Stage.EMBED, ctx.model_id))
        if not ctx.stop.is_set():
            passes.keyword_pass(ctx, tally)
        if not ctx.stop.is_set():
            passes.caption_pass(ctx, tally, work, {f.fingerprint for f in scanned.files if f.fingerprint})
        if not ctx.stop.is_set() and tally.summary.analyzed and Stage.FACES in dict(ctx.pixel_kinds):
            with tally.timed("people"):
                people.after_run(ctx)  # new faces join their people (once people are in use)
        if ctx.store is not None:
            ctx.store.flush()
            if tally.summary.embedded and not ctx.stop.is_set():
                upkeep.optimize(ctx, tally)

    def _finish(self, run_id: int, failing: bool) -> None:
        try:
            self.ledger.finish_run(run_id, self.summary.status, self.summary.as_dict())
        except Exception as e:
            # Out of space even for the run's row: the next start marks the run interrupted. A run that
            # was failing already keeps its own message.
            if not is_disk_full(e):
                raise
            if not failing:
                message = disk_full_message(self.settings.data_dir, "record the run")
                raise RunFailure(upkeep.disk_full(message)) from e

    def forget(self, paths: Sequence[str]) -> int:
        """Files deleted on disk (seen by the watcher): drop them; vectors go once no path has the content."""
        ctx, tally = self.context(), Tally(self.summary)
        before = self.summary.deleted
        touched = upkeep.drop_gone(ctx, tally, paths)
        upkeep.repath(ctx, tally, touched & self.ledger.done_fingerprints(Stage.EMBED, self.model_id or ""))
        return self.summary.deleted - before

    def reapply_rules(self) -> int:
        """Rebuild every payload of the current model from stored metadata + current rules (no file reads)."""
        return upkeep.rebuild_payloads(self.context())
