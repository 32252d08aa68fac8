"""The decode worker processes: run jobs in a process pool, keep memory flat, find the file that crashed
a decoder, and tell a broken environment apart from a broken file (R44).

A pool that breaks could mean two very different things:
- one file crashed a native decoder (LibRaw, libheif): isolate the jobs in flight, one process each, and
  record the culprit as `decoder_crashed`;
- the workers cannot work at all (the log cannot be opened, processes cannot be spawned, the interpreter
  cannot import us): that is the run's failure, never the files'. Blaming them would mark every photo
  failed, and the next run would skip them all as "known bad".
A no-op job (`worker.ping`) in a fresh process tells the two apart; worker initializers report their own
problems through it instead of dying (see `worker.init_worker`).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from bridge.indexing import worker
from bridge.indexing.jobqueue import JobQueue
from bridge.records import Failure, FileResult, Reason, RunFailure, SourceOutage, Stage

_T = TypeVar("_T")

WAIT_FOR_WORK_S = 0.05  # how often an idle pool looks for work the device lane handed over
PING_TIMEOUT_S = 120.0  # a cold worker imports numpy/Pillow/pyexiv2: seconds on a slow disk, not minutes


class DecodePool:
    def __init__(self, workers: int, log_path: str, stop: threading.Event, depth: int) -> None:
        self.workers = max(1, workers)
        self.log_path = log_path
        self.stop = stop
        self.depth = depth  # jobs in flight: enough to fill the next batch, few enough to bound memory
        self.ctx = mp.get_context("spawn")  # fork after torch/threads is unsafe

    def results(self, jobs: list[worker.Job] | JobQueue) -> Iterator[FileResult]:
        """Results in completion order. Raises RunFailure when the workers cannot work. A `JobQueue` may
        be shared with the device lane: the pool takes from it until it is finished."""
        self._check_log()
        yield from self._pool_results(jobs if isinstance(jobs, JobQueue) else JobQueue(jobs))

    # -- the pool ------------------------------------------------------------------------------------
    def _executor(self, n: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            n,
            mp_context=self.ctx,
            initializer=worker.init_worker,
            initargs=(self.log_path, os.getpid()),  # workers die with us (R46)
        )

    def _pool_results(self, queue: JobQueue) -> Iterator[FileResult]:
        suspects: list[worker.Job] = []
        produced = 0
        broken = False
        with self._executor(self.workers) as pool:
            inflight: dict[Future[FileResult], worker.Job] = {}
            while not (suspects or broken):
                while len(inflight) < self.depth and not self.stop.is_set():
                    # Device-eligible work only when a worker would otherwise sit idle.
                    job = queue.take_cpu(steal=len(inflight) < self.workers)
                    if job is None:
                        break
                    try:
                        inflight[self._submit(pool, worker.process, job)] = job
                    except BrokenProcessPool:  # broke before we noticed: that job never ran
                        queue.to_cpu([job], front=True)
                        broken = True
                        break
                if not inflight:
                    if self.stop.is_set() or queue.finished() or broken:
                        break
                    queue.wait(WAIT_FOR_WORK_S)  # the device lane may still hand work over
                    continue
                timeout = WAIT_FOR_WORK_S if queue.open else None
                done, _ = wait(inflight, timeout=timeout, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = inflight.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        suspects.append(job)
                        continue
                    except worker.WorkerSourceUnavailable as e:
                        raise SourceOutage(str(e)) from None
                    except worker.WorkerEnvironmentError as e:
                        raise RunFailure(f"the decode workers cannot work: {e}") from None
                    produced += 1
                    yield result
            # A dead worker breaks the whole pool: every job still in flight is a suspect too.
            suspects.extend(inflight.values())
        if suspects or broken:
            if not produced:
                self._ensure_workers_start()  # a pool that never worked: the environment, not the files
            yield from self._isolate(suspects)
            if not self.stop.is_set() and not queue.finished():
                yield from self._pool_results(queue)

    def _isolate(self, suspects: list[worker.Job]) -> Iterator[FileResult]:
        """A worker died (a decoder crash): run each suspect alone to find and record the culprit."""
        for job in suspects:
            with self._executor(1) as pool:
                try:
                    yield self._submit(pool, worker.process, job).result()
                    continue
                except BrokenProcessPool:
                    pass
                except worker.WorkerSourceUnavailable as e:
                    raise SourceOutage(str(e)) from None
                except worker.WorkerEnvironmentError as e:
                    raise RunFailure(f"the decode workers cannot work: {e}") from None
            # Only blame the file once a fresh worker is shown to work on a no-op job.
            self._ensure_workers_start()
            fail = Failure(job.path, Stage.DECODE, Reason.DECODER_CRASHED, "the decoder crashed on this file")
            yield FileResult(job.path, job.fingerprint, None, None, (fail,))

    # -- environment checks ----------------------------------------------------------------------------
    def _check_log(self) -> None:
        """The workers' stderr goes to this log; if it cannot be opened no worker can start. Checked here,
        where the reason can still be told in words."""
        try:
            fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as e:
            raise RunFailure(
                f"cannot write the decode workers' log {self.log_path} ({e.strerror or e}); "
                "fix that path's permissions (or free space) and run again: no file was marked failed"
            ) from None
        os.close(fd)

    def _ensure_workers_start(self) -> None:
        """Raise RunFailure unless a fresh worker process can start and run a no-op job."""
        try:
            with self._executor(1) as pool:
                self._submit(pool, worker.ping).result(timeout=PING_TIMEOUT_S)
        except worker.WorkerEnvironmentError as e:
            raise RunFailure(f"the decode workers cannot work: {e}") from None
        except (BrokenProcessPool, TimeoutError) as e:
            why = "did not answer in time" if isinstance(e, TimeoutError) else "exited as soon as it started"
            raise RunFailure(
                f"the decode worker processes cannot start: a fresh worker {why} (see {self.log_path}); "
                "no file was marked failed"
            ) from None

    def _submit(self, pool: ProcessPoolExecutor, fn: Callable[..., _T], *args: object) -> Future[_T]:
        try:
            return pool.submit(fn, *args)
        except BrokenProcessPool:
            raise  # a worker died: the caller decides whom to blame
        except OSError as e:  # processes start on submit: fork/exec can fail (EAGAIN, ENOMEM)
            raise RunFailure(f"cannot start a decode worker process: {e.strerror or e}") from None
        except RuntimeError as e:  # "cannot schedule new futures after interpreter shutdown"
            raise RunFailure(f"cannot start a decode worker process: {e}") from None
