"""Scale-out: a run's decode and embed work on a Ray cluster, while this process stays the head.

The head scans, plans, keeps the ledger and is the one writer to the ledger and the vector store, exactly as
on a laptop: this module only replaces *where* `FileResult`s are made (`lanes.results` on a laptop).

- The plan's jobs are cut into chunks balanced by bytes (`cluster_chunk_mb`, at most `CHUNK_FILES` files).
- Each chunk is a Ray task (`raytasks.decode_chunk`, one CPU) on any node; with model actors
  (`raytasks.EmbedActor`: one per GPU, `cluster_embed`) the chunk's result goes from the decode task to the
  least busy actor node-to-node, and only vectors and small results come back to the head.
- Results stream back chunk by chunk (at most `2 x CPUs` chunks in flight: memory stays flat) and are
  committed in batches by the caller, so progress, rate and ETA cover the whole cluster.

Faults (docs/cluster.md):
- a worker process or node dies: Ray re-runs its tasks elsewhere (`TASK_RETRIES`); actors restart
  (`ACTOR_RESTARTS`). A chunk that still fails is split and its files run one by one; a file whose task keeps
  killing its worker is recorded as `decoder_crashed` — never retried forever.
- a slow node: once nothing is left to hand out, a chunk running much longer than the usual chunk is
  dispatched again; the first answer wins, the other is cancelled and never committed (nothing twice).
- the head dies: nothing more is committed; the cluster drops the driver's tasks; the next run plans from the
  ledger and redoes at most the batch that was in flight (as on a laptop).
- Ctrl-C: in-flight chunks are cancelled, what was committed stays, the next run resumes.
"""

from __future__ import annotations

import logging
import socket
import statistics
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from bridge.indexing.context import RunContext
from bridge.indexing.worker import Job, WorkerSourceUnavailable
from bridge.models.clip import choose_precision
from bridge.records import Failure, FileResult, Reason, RunFailure, SourceOutage, Stage

CHUNK_FILES = 32  # at most this many files per decode task, however small they are
TASK_RETRIES = 2  # Ray re-runs a task whose worker or node died this often before we see the failure
ACTOR_RESTARTS = 2
ACTOR_REQUEUES = (
    4  # a chunk whose model actor was lost is sent again this often, then its files are tried alone
)
SLOW_FACTOR = 3.0  # a chunk in flight this many times longer than the median chunk is re-dispatched
MIN_SLOW_S = 2.0  # ...and never sooner than this
CONNECT_TIMEOUT_S = 5.0
WAIT_S = 0.2  # how often the head looks at the stop flag while waiting for chunks


@dataclass
class ClusterCounts:
    """What the cluster did in a run (the run's summary notes it)."""

    address: str = ""
    nodes: int = 0
    cpus: float = 0.0
    gpus: float = 0.0
    actors: int = 0  # model actors (0: embedded on the head)
    chunks: int = 0
    redispatched: int = 0  # chunks sent again because their node was slow
    actor_lost: int = 0  # chunks sent again because their model actor's node died
    split: int = 0  # chunks that kept failing and were run file by file
    crashed: int = 0  # files recorded as decoder_crashed
    connect_s: float = 0.0  # joining the cluster and starting the model actors
    notes: list[str] = field(default_factory=list)

    def note(self) -> str:
        where = f"{self.actors} model actor(s)" if self.actors else "the head"
        line = (
            f"cluster {self.address}: {self.nodes} node(s), {self.cpus:g} CPUs, {self.gpus:g} GPUs; "
            f"{self.chunks} chunks, embedded on {where}; joined in {self.connect_s:.2f} s"
        )
        if self.redispatched:
            line += f"; {self.redispatched} chunk(s) re-dispatched from a slow node"
        if self.actor_lost:
            line += f"; {self.actor_lost} chunk(s) sent again after a model actor was lost"
        if self.split:
            line += (
                f"; {self.split} failing chunk(s) run file by file ({self.crashed} file(s) crashed a worker)"
            )
        return line


@dataclass(frozen=True)
class Attempt:
    """One dispatch of a chunk (a chunk re-dispatched from a slow node has two)."""

    chunk: int
    started: float
    actor: int | None  # the model actor embedding it, if any
    decode: Any  # the decode task's ref


def chunks(
    jobs: Sequence[Job], target_bytes: int, max_files: int = CHUNK_FILES, lanes: int = 0
) -> list[list[Job]]:
    """Consecutive jobs in chunks of about `target_bytes` (file sizes from the scan), at most `max_files`.

    With `lanes` (the cluster's CPUs): the first `lanes` chunks hold one file each, so every CPU starts at once
    and the first batch is committed early; and no chunk holds more than its share of what is left
    (remaining / 2 lanes), so the end of the run is spread over every CPU instead of waiting for a big chunk."""
    out: list[list[Job]] = []
    cur: list[Job] = []
    size = 0
    for i, job in enumerate(jobs):
        cur.append(job)
        size += max(job.size, 1)
        share = max(1, (len(jobs) - i + len(cur)) // (2 * lanes)) if lanes else max_files
        if size >= target_bytes or len(cur) >= min(max_files, share) or len(out) < lanes:
            out.append(cur)
            cur, size = [], 0
    if cur:
        out.append(cur)
    return out


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RunFailure(
            "this run names a cluster, but Ray is not installed: run scripts/setup.sh --cluster "
            "(or pip install 'pixel-detective[cluster]' with constraints.txt)"
        ) from None
    return ray


def connect(address: str, workers: int) -> tuple[Any, bool]:
    """Join the cluster (`auto`, `ray://HOST:PORT`, an address) or start a private one (`local`). Returns the
    ray module and whether this call started the connection (then the run ends it)."""
    ray = _ray()
    if ray.is_initialized():
        return ray, False
    kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    _check_reachable(address)
    try:
        if address == "local":
            ray.init(num_cpus=workers or None, include_dashboard=False, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except Exception as e:  # ConnectionError, RuntimeError, grpc errors: all mean "cannot join"
        reason = type(e).__name__
        raise RunFailure(
            f"cannot join the Ray cluster at {address!r} ({reason}); is it running (`ray status` on the head "
            "node) and reachable from here? Nothing was changed in the index"
        ) from None
    return ray, True


def _check_reachable(address: str) -> None:
    """An explicit HOST:PORT that does not answer is refused in seconds (Ray itself would retry for minutes)."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if address in ("auto", "local") or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise RunFailure(
            f"cannot join the Ray cluster at {address!r}: nothing answers there ({e.strerror or type(e).__name__}); "
            "is the head node running (`ray start --head`) and is the port open? Nothing was changed in the index"
        ) from None


class ClusterRun:
    """One run's chunks on the cluster; `results()` yields each file's result once."""

    def __init__(self, ctx: RunContext, ray: Any, counts: ClusterCounts) -> None:
        self.ctx = ctx
        self.ray = ray
        self.counts = counts
        s = ctx.settings
        self.target_bytes = int(s.cluster_chunk_mb * 1024 * 1024)
        resources = ray.cluster_resources()
        counts.nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
        counts.cpus = float(resources.get("CPU", 0))
        counts.gpus = float(resources.get("GPU", 0))
        self.decode = ray.remote(num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False)(_decode_fn())
        self.actors: list[Any] = []
        self._new_actor: Any = None
        self.weights_blob: Any = None
        self.load: dict[int, int] = {}  # actor index → chunks outstanding

    # -- model actors ----------------------------------------------------------------------------------
    def start_actors(self) -> None:
        s, emb = self.ctx.settings, self.ctx.embedder
        if emb is None:
            return
        gpus = int(self.counts.gpus)
        mode = s.cluster_embed
        if mode == "head" or (mode == "auto" and gpus == 0):
            return
        if gpus:
            n, options, device = max(1, gpus), {"num_gpus": 1, "num_cpus": 0}, "cuda"
        else:
            n, options, device = max(1, s.cluster_embed_actors or 1), {"num_cpus": 1}, "cpu"
        precision = choose_precision(s.precision, device, emb.model_id, emb.models_dir)
        weights = emb.weights
        blob = None
        if weights.weights_file is not None:  # nodes without the head's disk load the shipped bytes
            blob = self.ray.put(weights.weights_file.read_bytes())
        from bridge.indexing.raytasks import EmbedActor

        cls = self.ray.remote(max_restarts=ACTOR_RESTARTS, max_task_retries=TASK_RETRIES, **options)(
            EmbedActor
        )
        self.weights_blob = blob  # kept alive: a restarted actor (its node died) needs it again

        def new_actor() -> Any:
            return cls.remote(weights, blob, device, precision, self.ctx.batch_size or 32)

        self._new_actor = new_actor
        self.actors = [new_actor() for _ in range(n)]
        try:
            self.ray.get([a.node.remote() for a in self.actors])  # loaded (or failed) before any work
        except Exception as e:
            raise RunFailure(
                f"the cluster's model actors could not load {emb.model_id} ({_cause(e)}); see the Ray logs "
                "on the GPU nodes. Nothing was changed in the index"
            ) from None
        self.load = {i: 0 for i in range(n)}
        self.counts.actors = n

    # -- the chunks --------------------------------------------------------------------------------------
    def _submit(self, cid: int, chunk: list[Job]) -> tuple[Any, Attempt]:
        ref = self.decode.remote(chunk)
        if not self.actors:
            return ref, Attempt(cid, time.monotonic(), None, ref)
        i = min(self.load, key=lambda k: self.load[k])
        self.load[i] += 1
        # node to node: the head never sees the model inputs
        return self.actors[i].embed.remote(ref), Attempt(cid, time.monotonic(), i, ref)

    def _cancel(self, attempt: Attempt, ref: Any) -> None:
        """Stop an attempt whose answer will not be used (best effort: it may have finished already)."""
        with suppress(Exception):
            self.ray.cancel(attempt.decode, force=True)  # a plain task: its worker is killed
        if ref is not attempt.decode:
            with suppress(Exception):
                self.ray.cancel(ref)  # an actor task: only cancelled if it has not started

    def results(self, jobs: Sequence[Job]) -> Iterator[FileResult]:
        ray, stop = self.ray, self.ctx.stop
        pending: deque[tuple[int, list[Job]]] = deque(
            enumerate(chunks(jobs, self.target_bytes, lanes=int(self.counts.cpus)))
        )
        self.counts.chunks = len(pending)
        work = dict(pending)
        inflight: dict[Any, Attempt] = {}  # the ref whose answer is used → its attempt
        attempts: dict[int, int] = {}  # chunk id → attempts in flight
        requeued: dict[int, int] = {}  # chunk id → times sent again because its model actor was lost
        done: set[int] = set()
        durations: list[float] = []
        next_id = len(work)
        max_inflight = max(2, int(2 * max(self.counts.cpus, 1)))
        try:
            while pending or inflight:
                if stop.is_set():
                    return
                while pending and len(inflight) < max_inflight:
                    cid, chunk = pending.popleft()
                    ref, attempt = self._submit(cid, chunk)
                    inflight[ref] = attempt
                    attempts[cid] = attempts.get(cid, 0) + 1
                if not pending:
                    self._redispatch_slow(inflight, attempts, done, durations, work)
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=WAIT_S)
                for ref in ready:
                    attempt = inflight.pop(ref)
                    cid = attempt.chunk
                    attempts[cid] -= 1
                    if attempt.actor is not None:
                        self.load[attempt.actor] -= 1
                    if cid in done:
                        continue  # the other copy of a re-dispatched chunk answered first
                    try:
                        out: list[FileResult] = ray.get(ref)
                    except Exception as e:
                        if attempts[cid] > 0:
                            continue  # its other copy is still running
                        if self._actor_lost(e, attempt) and requeued.get(cid, 0) < ACTOR_REQUEUES:
                            requeued[cid] = requeued.get(cid, 0) + 1  # the model's node died, not the files
                            pending.appendleft((cid, work[cid]))
                            continue
                        for new in self._failed(e, work[cid]):
                            if isinstance(new, FileResult):
                                yield new
                            else:
                                work[next_id] = new
                                pending.appendleft((next_id, new))
                                next_id += 1
                        done.add(cid)
                        continue
                    done.add(cid)
                    durations.append(time.monotonic() - attempt.started)
                    for other, a in list(inflight.items()):
                        if a.chunk == cid:  # the slow copy: cancelled, its answer never used
                            self._cancel(a, other)
                    yield from out
        finally:
            for ref, a in inflight.items():
                self._cancel(a, ref)
            for actor in self.actors:
                with suppress(Exception):
                    ray.kill(actor)

    def _redispatch_slow(
        self,
        inflight: dict[Any, Attempt],
        attempts: dict[int, int],
        done: set[int],
        durations: list[float],
        work: dict[int, list[Job]],
    ) -> None:
        """The end of the run: a chunk far slower than the usual one is sent again (once)."""
        if not durations:
            return
        limit = max(MIN_SLOW_S, SLOW_FACTOR * statistics.median(durations))
        now = time.monotonic()
        for a in list(inflight.values()):
            if a.chunk not in done and attempts[a.chunk] == 1 and now - a.started > limit:
                ref, attempt = self._submit(a.chunk, work[a.chunk])
                inflight[ref] = attempt
                attempts[a.chunk] += 1
                self.counts.redispatched += 1

    def _actor_lost(self, error: Exception, attempt: Attempt) -> bool:
        """The chunk's model actor (not its decode task) died or is restarting: replace a dead one."""
        ray = self.ray
        lost = (ray.exceptions.ActorDiedError, ray.exceptions.ActorUnavailableError)
        if attempt.actor is None or not (
            isinstance(error, lost) or isinstance(getattr(error, "cause", None), lost)
        ):
            return False
        self.counts.actor_lost += 1
        if isinstance(error, ray.exceptions.ActorDiedError):  # out of restarts: a fresh one on a live node
            with suppress(Exception):
                ray.kill(self.actors[attempt.actor])
            self.actors[attempt.actor] = self._new_actor()
        return True

    def _failed(self, error: Exception, chunk: list[Job]) -> Iterator[FileResult | list[Job]]:
        """A chunk that failed after Ray's own retries: its files one by one, or the file blamed."""
        ray = self.ray
        if isinstance(error, ray.exceptions.RayTaskError) and not _is_system(ray, error):
            cause = getattr(error, "cause", None)
            if isinstance(
                cause, WorkerSourceUnavailable
            ):  # the bucket's store is down: the worker's sentence
                raise SourceOutage(
                    f"{cause} (on a cluster node). No file was marked failed; the next run redoes what was not "
                    "committed"
                ) from None
            # Our code raised on a node (a bug, or a node without the package): the run's problem, never the
            # files'. Nothing of this chunk was committed.
            raise RunFailure(
                f"a decode task failed on a cluster node ({_cause(error)}); see the Ray logs on that node. "
                "No file was marked failed; the next run redoes what was not committed"
            ) from None
        if len(chunk) > 1:
            self.counts.split += 1
            for job in chunk:
                yield [job]
            return
        job = chunk[0]
        self.counts.crashed += 1
        detail = "the decode task's worker died on this file on every try (a decoder crash)"
        yield FileResult(
            job.path,
            job.fingerprint,
            None,
            None,
            (Failure(job.path, Stage.DECODE, Reason.DECODER_CRASHED, detail),),
        )


def _decode_fn() -> Any:
    from bridge.indexing.raytasks import decode_chunk

    return decode_chunk


def _is_system(ray: Any, error: Exception) -> bool:
    """A worker, actor or node that died (Ray wraps them in task errors when they reach a dependent task)."""
    system = (
        ray.exceptions.WorkerCrashedError,
        ray.exceptions.NodeDiedError,
        ray.exceptions.ActorDiedError,
        ray.exceptions.ObjectLostError,
        ray.exceptions.OwnerDiedError,
        ray.exceptions.TaskCancelledError,
    )
    if isinstance(error, system):
        return True
    cause = getattr(error, "cause", None)
    return isinstance(cause, system)


def _cause(error: Exception) -> str:
    cause = getattr(error, "cause", None)
    return type(cause or error).__name__


def results(ctx: RunContext, jobs: Sequence[Job], notes: list[str] | None = None) -> Iterator[FileResult]:
    """Each job's result from the cluster named by `ctx.settings.cluster`."""
    counts = ClusterCounts(address=ctx.settings.cluster)
    t = time.perf_counter()
    ray, owned = connect(ctx.settings.cluster, ctx.settings.workers)
    try:
        run = ClusterRun(ctx, ray, counts)
        run.start_actors()
        counts.connect_s = time.perf_counter() - t
        yield from run.results(jobs)
    finally:
        if notes is not None and counts.nodes:
            notes.append(counts.note())
        if owned:
            ray.shutdown()
