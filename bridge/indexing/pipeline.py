"""Wires the stages: scan → (worker processes: metadata + decode + model input) → batched embed →
store upsert → ledger commit, then re-path and sweep. Times each phase; memory is bounded by the
number of jobs in flight and one batch, never by the collection size.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bridge.analyses.kinds import keywords_data, payload_fields, pixel_versions
from bridge.files.diskspace import (
    DiskFullError,
    disk_full_message,
    ensure_free,
    free_bytes,
    human_bytes,
    is_disk_full,
    tree_size,
)
from bridge.files.formats import limits_for
from bridge.indexing import worker
from bridge.indexing.decodepool import DecodePool
from bridge.indexing.payload import build_payload, path_fields, point_id
from bridge.indexing.scan import PathFilter, normalize_root, scan_root
from bridge.models.clip import Embedder
from bridge.records import Failure, FileResult, RunFailure, ScannedFile
from bridge.settings import Settings
from bridge.state.ledger import Ledger
from bridge.store.base import Point, VectorStore

METADATA_VERSION = "meta1"  # bump when bridge.metadata.read changes what it extracts: files get re-read
# What one file adds on disk, generously: its vector and payload in the store (WAL + segment) and its rows
# in the ledger (+ WAL). Times the batch size, it is the room a batch needs on top of `min_free_mb`.
BYTES_PER_FILE = 64 * 1024


@dataclass
class RunSummary:
    status: str = "running"  # completed, stopped, failed
    roots: list[str] = field(default_factory=list)
    model: str | None = None
    files_seen: int = 0
    new_or_changed: int = 0
    unchanged: int = 0
    embedded: int = 0
    metadata_read: int = 0
    analyzed: int = 0  # photos given quality scores / duplicate signatures
    keyworded: int = 0
    captioned: int = 0
    repathed: int = 0  # moved/renamed/copied content whose vector was reused
    deleted: int = 0
    skipped_failed: int = 0  # known-bad files not retried (unchanged since they failed)
    failed: int = 0
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        done = self.embedded or self.metadata_read or self.analyzed or self.captioned
        d["files_per_second"] = round(done / self.wall_seconds, 2) if self.wall_seconds else None
        return d


class Progress:
    """Receives progress events; the CLI and the tray app subclass it."""

    def phase(self, name: str, total: int | None = None) -> None: ...
    def advance(self, done: int = 0, failed: int = 0) -> None: ...


class Indexer:
    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        *,
        embedder: Embedder | None,
        store: VectorStore | None,
        rules: Any = None,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        inline: bool = False,
        keywords: Any = None,
        captioner: Any = None,
    ) -> None:
        self.s = settings
        self.ledger = ledger
        self.embedder = embedder
        self.store = store
        self.rules = rules
        self.progress = progress or Progress()
        self.stop = stop or threading.Event()
        self.inline = inline  # run jobs in this process (debugging, tiny runs)
        self.model_id = embedder.model_id if embedder else None
        self.keywords = keywords if embedder is not None and store is not None else None  # KeywordAssigner
        self.captioner = captioner  # bridge.models.blip.Captioner, or None: no caption stage this run
        enabled = {"quality": settings.quality, "dupsig": settings.duplicate_signatures}
        self.pixel_kinds = tuple((k, v) for k, v in pixel_versions().items() if enabled[k])
        self._embedded: set[str] = set()  # content with a vector of this model (before this run's batches)
        self.summary = RunSummary(model=self.model_id)
        self._phase: Counter[str] = Counter()
        self.batch_size = settings.batch_size or 32
        self.on_batch_committed: Callable[[int], None] | None = None  # test hook for crash tests
        self._failures: Counter[str] = Counter()
        self._sizes: dict[str, tuple[int, int]] = {}
        with suppress(OSError):  # when it cannot be made, the pool says so in words (DecodePool._check_log)
            (settings.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self._log = str(settings.data_dir / "logs" / "decoders.log")  # native decoders' own messages

    # -- public ------------------------------------------------------------------------------------
    def run(
        self,
        roots: Sequence[str],
        *,
        rebuild: bool = False,
        retry_failed: bool = False,
        gone: Sequence[str] = (),
    ) -> RunSummary:
        """Index `roots` (folders or files). `gone`: files or folders known to be deleted or moved away
        (the watcher's events), dropped after the new paths are recorded, so content that only moved is
        re-pathed, never re-embedded. Raises RunFailure when the run cannot go on (no file is blamed)."""
        t0 = time.perf_counter()
        roots = [normalize_root(r) for r in roots]
        self.summary.roots = roots
        self._ensure_space(0, "start indexing")
        run_id = self.ledger.start_run("index", {"roots": roots, "model": self.model_id}, os.getpid())
        failing = False
        try:
            if rebuild and self.model_id:
                self.ledger.clear_stage("embed", self.model_id)
            self._gc_points()
            scanned, complete = self._scan(roots, run_id)
            jobs, repath = self._plan(scanned, retry_failed)
            self._process(jobs)
            repath |= self._drop_gone(gone)
            if complete and not self.stop.is_set():
                for root in roots:
                    gone = self.ledger.sweep(root, run_id)
                    self.summary.deleted += len(gone)
                    repath |= {fp for _, fp in gone if fp}  # content still alive at another path
                self._gc_points()
            if self.model_id:
                self._repath(repath & self.ledger.done_fingerprints("embed", self.model_id))
            if not self.stop.is_set():
                self._keyword_pass()
            if not self.stop.is_set():
                self._caption_pass({f.fingerprint for f in scanned if f.fingerprint})
            if self.store is not None:
                self.store.flush()
                if self.summary.embedded and not self.stop.is_set():
                    self._optimize()
            self.summary.status = "stopped" if self.stop.is_set() else "completed"
        except BaseException as e:
            failing = True
            self.summary.status = "failed"
            if isinstance(e, RunFailure) or not is_disk_full(e):
                raise
            # ENOSPC / "database or disk is full" from the store or the ledger: the batch in flight was not
            # recorded (store first, ledger last), so the next run redoes exactly that (R45).
            raise RunFailure(_disk_full(disk_full_message(self.s.data_dir, "record the next batch"))) from e
        finally:
            self.summary.wall_seconds = round(time.perf_counter() - t0, 3)
            self.summary.phase_seconds = {k: round(v, 3) for k, v in self._phase.items()}
            self.summary.failures_by_reason = dict(self._failures)
            self.summary.failed = sum(self._failures.values())
            try:
                self.ledger.finish_run(run_id, self.summary.status, self.summary.as_dict())
            except Exception as e:
                # Out of space even for the run's row: the next start marks the run interrupted. A run that
                # was failing already keeps its own message.
                if not is_disk_full(e):
                    raise
                if not failing:
                    raise RunFailure(_disk_full(disk_full_message(self.s.data_dir, "record the run"))) from e
        return self.summary

    # -- free space (R45) ------------------------------------------------------------------------------
    def _ensure_space(self, files: int, what: str) -> None:
        ensure_space(self.s, files, what)

    def _optimize(self) -> None:
        """Build the search index for what was added (Edge never does this on its own; it skips collections
        small enough to be searched exactly). Rewriting segments needs room the size of the collection:
        without it, skip (search stays exact, just slower) rather than risk the store."""
        assert self.store is not None
        need = tree_size(self.s.store_dir)
        if need + self.s.min_free_mb * 1024 * 1024 > (free := free_bytes(self.s.data_dir)):
            self.summary.notes.append(
                f"search index not optimized: it needs about {human_bytes(need)} free, the disk has "
                f"{human_bytes(free)}; search still works"
            )
            return
        t = time.perf_counter()
        self.store.optimize()
        self._phase["optimize"] += time.perf_counter() - t

    def _drop_gone(self, gone: Sequence[str]) -> set[str]:
        """Forget files, and every file under folders, that were deleted or moved out of the watched tree.
        Returns the fingerprints touched, whose payload paths must be refreshed (content alive elsewhere)."""
        paths = [
            p
            for g in gone
            if not os.path.lexists(g)  # re-created meanwhile: the scan of it decides
            for p in self.ledger.files_under(normalize_root(g))
        ]
        if not paths:
            return set()
        removed = self.ledger.remove_paths(paths)
        self.summary.deleted += len(removed)
        self._gc_points()
        return {fp for _, fp in removed if fp}

    def forget(self, paths: Sequence[str]) -> int:
        """Files deleted on disk (seen by the watcher): drop them; vectors go once no path has the content."""
        before = self.summary.deleted
        touched = self._drop_gone(paths)
        self._repath(touched & self.ledger.done_fingerprints("embed", self.model_id or ""))
        return self.summary.deleted - before

    def reapply_rules(self, chunk: int = 500) -> int:
        """Rebuild every payload of the current model from stored metadata + current rules (no file reads)."""
        if self.store is None or not self.model_id:
            return 0
        points = self.ledger.stage_points("embed", self.model_id)
        fps = sorted(points)
        for i in range(0, len(fps), chunk):
            part = fps[i : i + chunk]
            metas = self.ledger.metadata_for(part)
            paths = self.ledger.paths_for(part)
            analyses = self.ledger.analyses_for(part)
            for fp in part:
                if fp not in paths:
                    continue
                payload = build_payload(
                    fp,
                    self.model_id,
                    paths[fp],
                    self._apply_rules(paths[fp][0], metas.get(fp, {})),
                    analyses.get(fp),
                )
                self.store.set_payload([points[fp]], payload)
        self.store.flush()
        return len(fps)

    # -- phases ------------------------------------------------------------------------------------
    def _scan(self, roots: Sequence[str], run_id: int) -> tuple[list[ScannedFile], bool]:
        self._failures = Counter()
        flt = PathFilter(self.s.include, self.s.exclude)
        seen: list[ScannedFile] = []
        complete = True
        self.progress.phase("scanning")
        t = time.perf_counter()
        for root in roots:
            if not os.path.exists(root):
                self.summary.notes.append(f"not found: {root}")
                complete = False  # never sweep a root that is missing (an unmounted disk is not a deletion)
                continue
            res = scan_root(
                root,
                self.ledger.files_under(root),
                flt,
                follow_symlinks=self.s.follow_symlinks,
                should_stop=self.stop.is_set,
            )
            for i in range(0, len(res.seen), 2000):
                self.ledger.record_scanned(res.seen[i : i + 2000], run_id)
            if res.errors:
                self._record_failures([(f, 0, 0) for f in res.errors])
                # unreadable now is not deleted: keep their rows (and vectors) out of the sweep
                self.ledger.mark_seen([f.path for f in res.errors], run_id)
            for d in res.unreadable_dirs:
                self.summary.notes.append(f"could not list {d}: nothing under it was removed from the index")
            seen.extend(res.seen)
            self.summary.new_or_changed += len(res.changed)
            self.summary.unchanged += res.unchanged
            complete = complete and res.complete
        self.summary.files_seen = len(seen)
        self._phase["scan"] += time.perf_counter() - t
        return seen, complete

    def _plan(self, files: list[ScannedFile], retry_failed: bool) -> tuple[list[worker.Job], set[str]]:
        """Decide per content fingerprint what is left to do; returns jobs and fingerprints to re-path."""
        failed = self.ledger.failures_by_path()
        # An analysis that failed on a file (a bug or an odd bitmap) is not retried until the file changes.
        analysis_failed = {
            (f.path, f.stage): f for f in self.ledger.failures() if f.stage in dict(self.pixel_kinds)
        }
        meta_versions = self.ledger.content_versions()
        embedded = self.ledger.done_fingerprints("embed", self.model_id) if self.model_id else set()
        self._embedded = embedded
        analysed = {k: self.ledger.done_fingerprints(k, v) for k, v in self.pixel_kinds}
        image_size = self.embedder.weights.spec.image_size if self.embedder else 0
        jobs: dict[str, worker.Job] = {}
        repath: set[str] = set()
        limits = self.s.format_limits
        for f in files:
            assert f.fingerprint
            fail = failed.get(f.path)
            unchanged_since_failure = fail and fail.size == f.size and fail.mtime_ns == f.mtime_ns
            if unchanged_since_failure and not (retry_failed and fail.attempts < self.s.max_attempts):
                self.summary.skipped_failed += 1  # poison files wait until they change (R8)
                continue
            want_meta = meta_versions.get(f.fingerprint) != METADATA_VERSION
            want_pixels = self.embedder is not None and f.fingerprint not in embedded
            want_analyses = tuple(
                (k, v)
                for k, v in self.pixel_kinds
                if f.fingerprint not in analysed[k]
                and not self._gave_up(analysis_failed.get((f.path, k)), f, retry_failed)
            )
            if f.fingerprint in jobs:
                continue  # same content at another path: processed once
            if want_meta or want_pixels or want_analyses:
                lim = limits_for(f.path, limits, self.s.max_pixels)
                jobs[f.fingerprint] = worker.Job(
                    f.path,
                    f.fingerprint,
                    want_meta,
                    want_pixels,
                    image_size,
                    self.s.decode_size,
                    lim.max_pixels,
                    want_analyses,
                    size=f.size,
                    max_bytes=lim.max_bytes,
                )
            if self.model_id and not want_pixels and f.fingerprint in embedded:
                repath.add(f.fingerprint)  # a moved/renamed/copied file: update its payload, never re-embed
        self._sizes = {f.path: (f.size, f.mtime_ns) for f in files}
        return list(jobs.values()), repath

    def _process(self, jobs: list[worker.Job]) -> None:
        self.progress.phase("indexing", total=len(jobs))
        pending: list[FileResult] = []
        n_pixels = 0
        for result in self._results(jobs):
            pending.append(result)
            if result.model_input is not None:
                n_pixels += 1
            if n_pixels >= self.batch_size or len(pending) >= 4 * self.batch_size:
                self._flush(pending)
                pending, n_pixels = [], 0
        if pending:
            self._flush(pending)

    def _results(self, jobs: list[worker.Job]) -> Iterator[FileResult]:
        if self.inline or len(jobs) <= 2:  # a watcher's one or two files: not worth starting a pool (~1 s)
            for job in jobs:
                if self.stop.is_set():
                    return
                yield worker.process(job)
            return
        # Enough decoded photos in flight to fill the next batch while the model runs on this one; the
        # bound keeps memory flat (a 224 px model input is 150 KB).
        n = self.s.workers or os.cpu_count() or 2
        pool = DecodePool(n, self._log, self.stop, depth=max(4 * n, 2 * self.batch_size))
        yield from pool.results(jobs)

    def _flush(self, results: list[FileResult]) -> None:
        """Embed one batch, upsert its vectors, then record everything in ONE ledger transaction.
        Checks the free space first: a batch is written whole (store, then ledger) or not at all."""
        self._ensure_space(len(results), "write the next batch")
        for r in results:
            for k, v in r.timings.items():
                self._phase[f"{k}_cpu"] += v
        with_pixels = [r for r in results if r.model_input is not None]
        stages: list[tuple[str, str, str, str | None]] = []
        analyses = [(r.fingerprint, k, v, d) for r in results for k, (v, d) in r.analyses.items()]
        if with_pixels and self.embedder is not None and self.store is not None and self.model_id:
            t = time.perf_counter()
            vectors = self.embedder.encode_images(np.stack([r.model_input for r in with_pixels]))
            self._phase["embed"] += time.perf_counter() - t
            analyses += self._keyword_rows([r.fingerprint for r in with_pixels], vectors)
            metas = self._metadata_for(with_pixels)
            paths = self.ledger.paths_for(r.fingerprint for r in with_pixels)
            known = self.ledger.analyses_for(r.fingerprint for r in with_pixels)
            for fp, kind, _, data in analyses:
                known.setdefault(fp, {})[kind] = data
            points = []
            for r, vec in zip(with_pixels, vectors, strict=True):
                pid = point_id(r.fingerprint, self.model_id)
                payload = build_payload(
                    r.fingerprint,
                    self.model_id,
                    paths.get(r.fingerprint, [r.path]),
                    self._apply_rules(r.path, metas.get(r.fingerprint, {})),
                    known.get(r.fingerprint),
                )
                points.append(Point(pid, vec, payload))
                stages.append((r.fingerprint, "embed", self.model_id, pid))
            t = time.perf_counter()
            self.store.upsert(points)
            self._phase["store"] += time.perf_counter() - t
        # New results for content whose vector already exists: show them in its payload (store first).
        embedded_now = {r.fingerprint for r in with_pixels}
        self._add_to_payloads([a for a in analyses if a[0] not in embedded_now])
        failures = [(f, *self._sizes.get(f.path, (0, 0))) for r in results for f in r.failures]
        metadata = [(r.fingerprint, r.metadata) for r in results if r.metadata is not None]
        stages += [
            (r.fingerprint, "metadata", METADATA_VERSION, None) for r in results if r.metadata is not None
        ]
        ok_paths = [r.path for r in results if not r.failed]
        t = time.perf_counter()
        self.ledger.commit_batch(
            metadata=metadata,
            metadata_version=METADATA_VERSION,
            stages=stages,
            failures=failures,
            cleared_failures=ok_paths,
            analyses=analyses,
        )
        self._phase["ledger"] += time.perf_counter() - t
        self.summary.embedded += len(with_pixels)
        self.summary.analyzed += len({r.fingerprint for r in results if r.analyses})
        self.summary.metadata_read += len(metadata)
        # A file failed when the stage it was queued for failed: decoding, or metadata in a metadata-only run.
        counted = ("decode",) if self.embedder is not None else ("decode", "metadata")
        failed_files = {f.path: f for f, _, _ in failures if f.stage in counted}
        for f in failed_files.values():
            self._failures[str(f.reason)] += 1
        n_failed = len(failed_files)
        self.progress.advance(done=len(results) - n_failed, failed=n_failed)
        if self.on_batch_committed:
            self.on_batch_committed(len(results))

    def _gave_up(self, fail: Any, f: ScannedFile, retry_failed: bool) -> bool:
        if fail is None or fail.size != f.size or fail.mtime_ns != f.mtime_ns:
            return False
        return not (retry_failed and fail.attempts < self.s.max_attempts)

    # -- analysis stages ---------------------------------------------------------------------------
    def _keyword_rows(self, fingerprints: list[str], vectors: np.ndarray) -> list[tuple[str, str, str, Any]]:
        if self.keywords is None:
            return []
        t = time.perf_counter()
        hits = self.keywords.assign(np.asarray(vectors, dtype=np.float32))
        self._phase["keywords"] += time.perf_counter() - t
        self.summary.keyworded += len(fingerprints)
        version = self.keywords.version
        return [(fp, "keywords", version, keywords_data(h)) for fp, h in zip(fingerprints, hits, strict=True)]

    def _add_to_payloads(self, analyses: list[tuple[str, str, str, Any]]) -> None:
        """Set the payload fields of new analysis results on existing points of this model."""
        if self.store is None or not self.model_id or not analyses:
            return
        by_fp: dict[str, dict[str, Any]] = {}
        for fp, kind, _, data in analyses:
            if fp in self._embedded:
                by_fp.setdefault(fp, {})[kind] = data
        t = time.perf_counter()
        for fp, kinds in by_fp.items():
            fields = payload_fields(kinds)
            if fields:
                self.store.set_payload([point_id(fp, self.model_id)], fields)
        self._phase["store"] += time.perf_counter() - t

    def _keyword_pass(self, chunk: int = 512) -> None:
        """Keywords for content embedded earlier (a new vocabulary, or keywords just enabled): from the
        stored vectors, no file is read."""
        if self.keywords is None or self.store is None or not self.model_id:
            return
        points = self.ledger.stage_points("embed", self.model_id)
        todo = sorted(set(points) - self.ledger.done_fingerprints("keywords", self.keywords.version))
        if not todo:
            return
        self._embedded = set(points)
        self.progress.phase("keywording", total=len(todo))
        for i in range(0, len(todo), chunk):
            if self.stop.is_set():
                return
            part = todo[i : i + chunk]
            vectors = {
                pid: vec
                for pid, _, vec in self.store.retrieve([points[fp] for fp in part], with_vectors=True)
            }
            fps = [fp for fp in part if vectors.get(points[fp]) is not None]
            if not fps:
                continue
            rows = self._keyword_rows(fps, np.stack([vectors[points[fp]] for fp in fps]))
            self._add_to_payloads(rows)
            self.ledger.commit_batch(analyses=rows)
            self.progress.advance(done=len(rows))

    def _caption_pass(self, scanned: set[str]) -> None:
        """Captions for this run's photos that have none from the current caption model.

        Its own stage: a second decode (workers), then BLIP in batches, each batch committed, so a kill
        redoes at most one batch. On a CPU the process drops to a lower priority first: captions cost
        ~25x an embedding and the machine should stay usable meanwhile.
        """
        if self.captioner is None:
            return
        version = self.captioner.model_id
        done = self.ledger.done_fingerprints("caption", version)
        paths = self.ledger.paths_for(sorted(scanned - done))
        failed = self.ledger.failures_by_path()
        todo = [
            worker.Job(ps[0], fp, False, False, 0, self.s.decode_size, self.s.max_pixels, (), True)
            for fp, ps in sorted(paths.items())
            if ps[0] not in failed
        ]
        if not todo:
            return
        if self.captioner.device == "cpu" and hasattr(os, "nice"):
            os.nice(max(0, 10 - os.nice(0)))  # idempotent: at most niceness 10, never raised back
        if self.model_id:
            self._embedded = self.ledger.done_fingerprints("embed", self.model_id)
        self.progress.phase("captioning", total=len(todo))
        batch: list[FileResult] = []
        size = max(1, int(getattr(self.captioner, "batch_size", 0) or 8))
        for result in self._results(todo):
            if result.bitmap is None:
                fails = [(f, *self._sizes.get(f.path, (0, 0))) for f in result.failures]
                self.ledger.commit_batch(failures=fails)
                self.progress.advance(failed=1)
                continue
            batch.append(result)
            if len(batch) >= size:
                self._caption_flush(batch)
                batch = []
        if batch:
            self._caption_flush(batch)

    def _caption_flush(self, batch: list[FileResult]) -> None:
        assert self.captioner is not None
        t = time.perf_counter()
        texts = self.captioner.caption([r.bitmap for r in batch])
        self._phase["caption"] += time.perf_counter() - t
        version = self.captioner.model_id
        rows = [
            (r.fingerprint, "caption", version, {"text": txt}) for r, txt in zip(batch, texts, strict=True)
        ]
        self._add_to_payloads(rows)
        self.ledger.commit_batch(analyses=rows)
        self.summary.captioned += len(rows)
        self.progress.advance(done=len(rows))
        if self.on_batch_committed:
            self.on_batch_committed(len(rows))

    def _record_failures(self, failures: list[tuple[Failure, int, int]]) -> None:
        self.ledger.commit_batch(failures=failures)
        for f, _, _ in failures:
            self._failures[str(f.reason)] += 1

    def _metadata_for(self, results: list[FileResult]) -> dict[str, dict[str, Any]]:
        metas = {r.fingerprint: r.metadata for r in results if r.metadata is not None}
        missing = [r.fingerprint for r in results if r.fingerprint not in metas]
        metas.update(self.ledger.metadata_for(missing))
        return metas

    def _apply_rules(self, path: str, metadata: dict[str, Any]) -> dict[str, Any]:
        return self.rules.apply(path, metadata) if self.rules is not None else metadata

    def _repath(self, fingerprints: set[str]) -> None:
        """Moved, renamed or copied files: their vectors stay, their payload gets the current paths."""
        if not fingerprints or self.store is None or not self.model_id:
            return
        t = time.perf_counter()
        points = self.ledger.stage_points("embed", self.model_id)
        paths = self.ledger.paths_for(fingerprints)
        current = {
            pid: payload for pid, payload, _ in self.store.retrieve([points[fp] for fp in fingerprints])
        }
        for fp in fingerprints:
            pid = points[fp]
            new = path_fields(paths.get(fp, []) or ["/"])
            old = current.get(pid, {})
            if old.get("paths") != new["paths"]:
                self.store.set_payload([pid], new)
                self.summary.repathed += 1
        self._phase["repath"] += time.perf_counter() - t

    def _gc_points(self) -> None:
        """Delete vectors whose content no file refers to any more (after a sweep, or left by a crash)."""
        stale = self.ledger.stale_content(self.model_id)
        if not stale:
            return
        if self.store is not None and self.model_id:
            points = self.ledger.stage_points("embed", self.model_id)
            ids = [points[fp] for fp in stale if fp in points]
            if ids:
                self.store.delete(ids)
        # Vectors of other models stay recorded until that model's store is open to delete them.
        self.ledger.forget_content(stale, embed_version=self.model_id)


def ensure_space(settings: Settings, files: int, what: str) -> None:
    """Raise RunFailure below `min_free_mb` (+ room for `files`) on the data dir's disk. Qdrant Edge writes
    through memory maps, and a map that cannot grow kills the process with SIGBUS, without a word: callers
    check before the store is even opened (opening maps and extends its files), then before each batch."""
    try:
        ensure_free(
            settings.data_dir, files * BYTES_PER_FILE, what, margin=settings.min_free_mb * 1024 * 1024
        )
    except DiskFullError as e:
        raise RunFailure(
            _disk_full(
                f"not enough free space to {what}: the disk holding {e.path} has {human_bytes(e.free)} "
                f"free, below the {human_bytes(e.need)} kept free while indexing (setting min_free_mb)"
            )
        ) from None


def _disk_full(message: str) -> str:
    return (
        f"{message}. Indexing stopped before writing anything half-way: what was recorded so far is "
        "kept, and the next run finishes the rest once there is space."
    )
