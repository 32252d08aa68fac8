"""The run's decode jobs, shared by the two decoders: the CPU worker processes and the device lane.

Three queues under one lock:
- `metadata`: metadata-only jobs for photos the device lane decoded (short; they complete a result);
- `cpu`: files only the CPU workers can decode (RAW, HEIC, PNG, progressive JPEGs, metadata-only work…),
  and the JPEGs the device lane turned away;
- `device`: baseline JPEGs the device lane takes in batches from the front. An idle CPU worker steals from
  the back, so neither decoder waits while the other has work (the scheduler that keeps both busy).

While the device lane runs, the queue stays open: the CPU side may still receive jobs, so it waits instead of
finishing when it finds nothing to do.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from bridge.indexing.worker import Job


class JobQueue:
    def __init__(self, cpu: Iterable[Job] = (), device: Iterable[Job] = (), *, open_: bool = False) -> None:
        self._cond = threading.Condition()
        self._metadata: deque[Job] = deque()
        self._cpu: deque[Job] = deque(cpu)
        self._device: deque[Job] = deque(device)
        self._open = open_
        self.stolen = 0  # device-eligible jobs the CPU workers took (reported in the run's timings)

    def __len__(self) -> int:
        with self._cond:
            return len(self._metadata) + len(self._cpu) + len(self._device)

    @property
    def open(self) -> bool:
        return self._open

    def take_cpu(self, *, steal: bool) -> Job | None:
        """The next job for a CPU worker; `steal`: a worker is idle, so it may take a device-eligible job."""
        with self._cond:
            if self._metadata:
                return self._metadata.popleft()
            if self._cpu:
                return self._cpu.popleft()
            if steal and self._device:
                self.stolen += 1
                return self._device.pop()
            return None

    def take_device(self, n: int) -> list[Job]:
        with self._cond:
            return [self._device.popleft() for _ in range(min(n, len(self._device)))]

    def to_cpu(self, jobs: Iterable[Job], *, front: bool = False) -> None:
        with self._cond:
            if front:
                self._cpu.extendleft(reversed(list(jobs)))
            else:
                self._cpu.extend(jobs)
            self._cond.notify_all()

    def to_metadata(self, jobs: Iterable[Job]) -> None:
        with self._cond:
            self._metadata.extend(jobs)
            self._cond.notify_all()

    def close(self) -> None:
        """The device lane is done: nothing more will arrive."""
        with self._cond:
            self._open = False
            self._cond.notify_all()

    def finished(self) -> bool:
        """Nothing queued and nothing more will come."""
        with self._cond:
            return not self._open and not (self._metadata or self._cpu or self._device)

    def wait(self, timeout: float) -> None:
        """Block until work arrives, the queue closes, or `timeout` passes."""
        with self._cond:
            if self._open and not (self._metadata or self._cpu):
                self._cond.wait(timeout)
