"""EngineHost: the long-running owner of one index, shared by the plugin service and the tray app.

It owns the `Engine` (ledger writer, vector store, models) and runs indexing jobs one at a time on a
worker thread, so callers on other threads (the socket bridge, the Qt UI) never block on a run:

- `submit(roots, ...)` queues a job (folders or single photos; captions on/off) and returns its `Job`;
- `pause()` stops the running job after its current batch (nothing lost) and holds the queue;
  `resume()` re-queues what was interrupted; `cancel(job_id)` stops or drops one job;
- `subscribe(callback)` delivers `HostEvent`s (job started / phase / progress / finished, state changes)
  on the worker thread — UIs marshal them to their own thread;
- `search_text` / `search_like` answer queries concurrently with indexing: Qdrant Edge serves reads while
  a batch is upserted, and every calling thread gets its own read-only ledger connection;
- models unused for `model_idle_release_s` while no job runs are freed by a small watcher thread (the tray
  app runs all day) and load again on the next search or job;
- `close()` stops the running job after its batch, joins the worker and releases the data dir.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.engine import Engine, load_rules
from bridge.indexing.pipeline import Progress, RunSummary
from bridge.indexing.summary import throughput
from bridge.records import Stage
from bridge.settings import Settings
from bridge.state.ledger import Ledger

log = logging.getLogger(__name__)

IDLE, INDEXING, PAUSED, ERROR, CLOSED = "idle", "indexing", "paused", "error", "closed"


@dataclass(kw_only=True)
class Job:
    """One queued or running indexing job and its progress (what the tray, the plugin and `status` show)."""

    id: str
    roots: list[str]
    captions: bool | None = None
    label: str = ""
    status: str = "queued"  # queued, running, completed, stopped, cancelled, failed
    phase: str = ""
    done: int = 0
    failed: int = 0
    total: int | None = None
    indexed: int = 0  # photos the main phase finished: the rate's numerator
    started_at: float | None = None
    phase_started_at: float | None = None
    finished_at: float | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_dict(self) -> dict[str, Any]:
        # The run's one rate (`summary.throughput`): photos indexed ÷ seconds since the job started. The
        # ETA is this phase's remaining items at this phase's own pace.
        now = self.finished_at or time.time()
        rate = throughput(self.indexed, now - self.started_at) if self.started_at else None
        eta = None
        if self.status == "running" and self.total and self.done and self.phase_started_at:
            eta = (self.total - self.done) * (now - self.phase_started_at) / self.done
        return {
            "job": self.id,
            "label": self.label,
            "roots": self.roots,
            "status": self.status,
            "phase": self.phase,
            "done": self.done,
            "failed": self.failed,
            "total": self.total,
            "rate": round(rate, 2) if rate else None,
            "eta_seconds": round(eta, 1) if eta else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class HostEvent:
    kind: str  # "state", "job_started", "phase", "progress", "job_finished"
    data: dict[str, Any]


class _JobProgress(Progress):
    def __init__(self, host: EngineHost, job: Job) -> None:
        self.host, self.job = host, job
        self._last = 0.0

    def phase(self, name: str, total: int | None = None) -> None:
        self.job.phase, self.job.total, self.job.done, self.job.failed = name, total, 0, 0
        self.job.phase_started_at = time.time()
        self.host._emit("phase", self.job.as_dict())

    def advance(self, done: int = 0, failed: int = 0) -> None:
        self.job.done += done + failed
        self.job.failed += failed
        if self.job.phase == "indexing":
            self.job.indexed += done
        now = time.monotonic()
        if now - self._last >= 0.1 or (self.job.total and self.job.done >= self.job.total):
            self._last = now  # at most ~10 events a second: UIs and sockets need no more
            self.host._emit("progress", self.job.as_dict())


class EngineHost:
    def __init__(self, settings: Settings, *, purpose: str = "pixel-detective service") -> None:
        self.settings = settings
        self.engine = Engine.open(settings, purpose=purpose)  # raises OwnerBusy when another process owns it
        if self.engine.embedder is not None:
            self.engine.store()  # opened once here: the worker and query threads then share it
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._subs: list[Callable[[HostEvent], None]] = []
        self._lock = threading.RLock()
        self._swap = threading.Condition()  # searches (shared) against an import's switch (exclusive)
        self._queries, self._swapping = 0, False
        self._paused = threading.Event()
        self._stop = threading.Event()  # the running job's stop flag (pause / cancel / close)
        self._current: Job | None = None
        self._pending = 0  # jobs submitted and not finished (queued, waiting while paused, or running)
        self._local = threading.local()
        self._readers: list[Ledger] = []
        self._reader_generation = 0  # bumped by drop_readers: threads then open a fresh connection
        self.last_error: str | None = None
        self._worker = threading.Thread(target=self._run, name="pd-engine-host", daemon=True)
        self._worker.start()
        self._closed = threading.Event()
        self._idle_watch: threading.Thread | None = None
        if settings.model_idle_release_s > 0:
            self._idle_watch = threading.Thread(
                target=self._watch_idle_models,
                args=(settings.model_idle_release_s,),
                name="pd-model-idle",
                daemon=True,
            )
            self._idle_watch.start()

    # -- state ---------------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        if self._worker is None or not self._worker.is_alive():
            return CLOSED
        if self._paused.is_set():
            return PAUSED
        if self._current is not None:
            return INDEXING
        return ERROR if self.last_error else IDLE

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def subscribe(self, callback: Callable[[HostEvent], None]) -> Callable[[], None]:
        with self._lock:
            self._subs.append(callback)
        return lambda: self._unsubscribe(callback)

    def _unsubscribe(self, callback: Callable[[HostEvent], None]) -> None:
        with self._lock:
            if callback in self._subs:
                self._subs.remove(callback)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        for cb in list(self._subs):
            with contextlib.suppress(Exception):  # a broken listener must not stop indexing
                cb(HostEvent(kind, data))

    # -- jobs ----------------------------------------------------------------------------------------
    def submit(self, roots: Sequence[str | Path], *, captions: bool | None = None, label: str = "") -> Job:
        job = Job(
            id=f"job-{next(self._ids)}",
            roots=[str(r) for r in roots],
            captions=captions,
            label=label or ", ".join(map(str, roots))[:200],
        )
        with self._lock:
            self._jobs[job.id] = job
            self._pending += 1
        self._queue.put(job)
        self._emit("state", {"state": self.state, "queued": job.id})
        return job

    def pause(self) -> None:
        """Stop the running job after its current batch and hold the queue; `resume` continues it."""
        with self._lock:  # against _execute's start: a pause is never lost between its checks and run()
            self._paused.set()
            self._stop.set()
        self._emit("state", {"state": PAUSED})

    def resume(self) -> None:
        self._paused.clear()
        self._emit("state", {"state": self.state})

    def cancel(self, job_id: str) -> bool:
        job = self._jobs.get(job_id)
        if job is None or job.status not in ("queued", "running"):
            return False
        with self._lock:
            job._cancel.set()
            if self._current is job:
                self._stop.set()
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running (tests, `serve --once`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._pending:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            while self._paused.is_set() and not job._cancel.is_set():
                time.sleep(0.05)
                if self._closing:
                    return
            if job._cancel.is_set():
                self._finish(job, "cancelled", None)
                continue
            self._execute(job)

    _closing = False

    def _execute(self, job: Job) -> None:
        with self._lock:
            # A pause or cancel that came after _run's checks still counts: the run starts stopped.
            if self._paused.is_set() or job._cancel.is_set():
                self._stop.set()
            else:
                self._stop.clear()
            self._current = job
        job.status, job.started_at = "running", time.time()
        self._emit("job_started", job.as_dict())
        summary: RunSummary | None = None
        try:
            idx = self.engine.indexer(
                progress=_JobProgress(self, job),
                stop=self._stop,
                rules=load_rules(self.settings),
                captions=job.captions,
            )
            summary = idx.run(job.roots)
            self.last_error = None
            if summary.status == "stopped" and self._paused.is_set() and not job._cancel.is_set():
                # Paused: the same job runs again on resume and only does what is left.
                job.status = "queued"
                self._current = None
                self._queue.put(job)
                self._emit("state", {"state": PAUSED, "job": job.id})
                return
            status = "cancelled" if job._cancel.is_set() else summary.status
            self._finish(job, status, summary)
        except Exception as e:  # reported, not raised: the host keeps serving
            self.last_error = f"{type(e).__name__}: {e}"
            job.error = self.last_error
            self._finish(job, "failed", summary)

    def _finish(self, job: Job, status: str, summary: RunSummary | None) -> None:
        job.status, job.finished_at = status, time.time()
        job.summary = summary.as_dict() if summary else None
        with self._lock:
            self._current = None
            self._pending -= 1
        job.finished.set()
        self._emit("job_finished", {**job.as_dict(), "summary": job.summary})
        self._emit("state", {"state": self.state})

    # -- queries -------------------------------------------------------------------------------------
    def reader(self) -> Ledger:
        """This thread's read-only ledger connection (SQLite connections are per thread here)."""
        led = getattr(self._local, "ledger", None)
        if led is None or getattr(self._local, "generation", 0) != self._reader_generation:
            led = Ledger(self.settings.ledger_path, readonly=True)
            self._local.ledger, self._local.generation = led, self._reader_generation
            with self._lock:
                self._readers.append(led)
        return led

    def drop_readers(self) -> None:
        """Close every thread's read-only connection (an import switched a new ledger in); each thread opens
        a new one at its next query."""
        with self._lock:
            readers, self._readers = self._readers, []
            self._reader_generation += 1
        for led in readers:
            with contextlib.suppress(Exception):
                led.close()

    @contextlib.contextmanager
    def querying(self) -> Iterator[None]:
        """Held by every search while it runs: `swapping` waits for these and holds new ones back."""
        with self._swap:
            while self._swapping:
                self._swap.wait()
            self._queries += 1
        try:
            yield
        finally:
            with self._swap:
                self._queries -= 1
                self._swap.notify_all()

    @contextlib.contextmanager
    def swapping(self) -> Iterator[None]:
        """Exclusive use of the ledger and store (an import switching them): waits for running searches,
        holds new ones until done, then every thread's reader is reopened on the new ledger."""
        with self._swap:
            while self._swapping:
                self._swap.wait()
            self._swapping = True
            while self._queries:
                self._swap.wait()
        try:
            yield
        finally:
            self.drop_readers()
            with self._swap:
                self._swapping = False
                self._swap.notify_all()

    def counts(self) -> dict[str, Any]:
        """What a status view shows of this engine: `model`, `indexed` (photos embedded with it), `vectors`,
        `failed`, `weights_ok`, `captions` (the setting) — the plug-in's `status` and `GET /status`."""
        engine, led = self.engine, self.reader()
        return {
            "model": engine.model_id,
            "indexed": led.stage_counts().get((Stage.EMBED, engine.model_id), 0),
            "vectors": engine.store().count() if engine.embedder is not None else 0,
            "failed": int(led.counts()["failed"]),
            "weights_ok": engine.embedder is not None,
            "captions": bool(self.settings.captions),
        }

    def running(self) -> Job | None:
        """The job running now, if any."""
        return next((j for j in self.jobs() if j.status == "running"), None)

    def search_text(
        self, query: str, *, limit: int = 50, min_score: float | None = None, where: Any = None
    ) -> list[Any]:
        from bridge.search.query import search, text_vector

        with self.querying():
            vec = text_vector(self.engine, query)
            return search(
                self.engine, vec, limit=limit, min_score=min_score, where=where, text=query,
                ledger=self.reader(),
            )  # fmt: skip

    def search_metadata(self, *, limit: int = 50, where: Any = None) -> list[Any]:
        """Photos whose metadata pass `where`, newest first, without a query or the model (so it works while
        the weights are missing): what `search --where` alone does."""
        from bridge.search.query import metadata_search

        with self.querying():
            return metadata_search(self.engine, where, limit=limit, ledger=self.reader())

    def search_like(self, paths: Sequence[str], *, limit: int = 50, where: Any = None) -> list[Any]:
        """Photos similar to all of `paths` (the mean of their vectors); the query photos excluded."""
        import numpy as np

        from bridge.search.query import photo_vector, search

        vecs, fps = [], set()
        with self.querying():
            for p in paths:
                v, fp = photo_vector(self.engine, p, ledger=self.reader())
                vecs.append(v)
                fps.add(fp)
            mean = np.mean(vecs, axis=0)
            mean /= np.linalg.norm(mean) or 1.0
            hits = search(self.engine, mean, limit=limit + len(fps), where=where, ledger=self.reader())
        out = [h for h in hits if h.fingerprint not in fps][:limit]
        return [type(h)(i, h.score, h.path, h.paths, h.fingerprint, h.fields) for i, h in enumerate(out, 1)]

    # -- people --------------------------------------------------------------------------------------
    def people(self, action: str, *args: Any) -> dict[str, Any]:
        """`pixel-detective people list|name|merge` done by the owner (the tray's People view writes through
        this): the CLI's own functions (`bridge.search.people`), so a name reaches the payloads that
        `--where person=` reads. `update` groups new faces; `name` (id, name); `merge` (keep, [others]);
        `from_catalog` (catalog path: names from its Lightroom person keywords).
        A `PeopleError` (unknown person, empty name) is raised as it is."""
        from bridge.search import people

        with self.querying():  # not while an import switches the ledger and store
            if action == "update":
                r = people.update(self.engine)
                return {"faces": r.faces, "new_people": r.new_people, "unassigned": r.unassigned}
            if action == "name":
                return {"payloads": people.name(self.engine, int(args[0]), str(args[1]), source="app")}
            if action == "merge":
                return {"faces": people.merge(self.engine, int(args[0]), [int(o) for o in args[1]])}
            if action == "from_catalog":  # a catalog that cannot be read is a value: its message is for users
                from catalog.errors import CatalogError

                try:
                    r = people.from_catalog(self.engine, Path(args[0]))
                except CatalogError as e:
                    return {"named": [], "notes": [], "problem": str(e)}
                return {"named": sorted(r.named.items()), "notes": list(r.notes), "problem": ""}
        raise ValueError(f"unknown people action {action!r}")

    # -- lifecycle -----------------------------------------------------------------------------------
    def release_idle_models(self, idle_s: float) -> list[str]:
        """Free the models unused for `idle_s` seconds, unless a job is running (it uses them batch after
        batch); the next search or job loads them again. Returns the ids of the models freed."""
        with self._lock:  # a job cannot start between the check and the release (_execute takes the lock)
            if self._current is not None:
                return []
            return self.engine.release_idle_models(idle_s)

    def _watch_idle_models(self, idle_s: float) -> None:
        # Checked a few times per timeout (at most every 30 s): a model is freed within ~1.25 x idle_s.
        period = min(30.0, idle_s / 4)
        while not self._closed.wait(period):
            freed = self.release_idle_models(idle_s)
            if freed:
                log.info("freed idle models: %s", ", ".join(freed))

    def close(self, timeout: float = 120.0) -> None:
        """Stop after the current batch (the ledger stays consistent), then release everything."""
        self._closed.set()
        if self._idle_watch is not None:
            self._idle_watch.join()
        self._closing = True
        self._stop.set()
        for job in self.jobs():
            if job.status == "queued":
                job._cancel.set()
        self._queue.put(None)
        self._worker.join(timeout)
        if self._worker.is_alive():
            # Never close the ledger and store under a batch still being written: leave them to the
            # process exit (the ledger is consistent at every commit) and say so.
            self.last_error = f"the running job did not stop within {timeout:.0f} s; engine left open"
            self._emit("state", {"state": ERROR, "error": self.last_error})
            return
        for led in self._readers:
            with contextlib.suppress(Exception):
                led.close()
        self.engine.close()
        self._emit("state", {"state": CLOSED})

    def __enter__(self) -> EngineHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
