"""What an indexing run reports: the summary it returns and stores, the progress events it sends, and the
`Tally` its phases add to as they go (the one mutable value they share, passed to them explicitly)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bridge.records import Failure


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
        rate = throughput(self.indexed, self.wall_seconds)
        d["files_per_second"] = round(rate, 2) if rate is not None else None
        return d

    @property
    def indexed(self) -> int:
        """Photos the main phase finished (embedded, or their metadata read when there is no model)."""
        return self.embedded or self.metadata_read or self.analyzed or self.captioned


# The one rate every view shows (the CLI's bar and summary, `status`, the desktop, the API, the Lightroom
# bridge): photos the run finished ÷ wall-clock seconds since the run started. Scanning, model loading and
# the vocabulary count in the seconds, so the bar starts low and reaches what the summary says; a moving
# window (what the bar showed before: 15.8 photos/s against the summary's 6.27 for the same run) would say
# more than the run delivers.
def throughput(done: int, seconds: float | None) -> float | None:
    """Photos per second of the run's wall time, or None before there is anything to divide."""
    if not done or not seconds or seconds <= 0:
        return None
    return done / seconds


def rate_words(rate: float | None) -> str:
    """The rate as every text view prints it."""
    return f"{rate:.1f} photos/s" if rate else ""


class Progress:
    """Receives progress events; the CLI and the tray app subclass it."""

    def phase(self, name: str, total: int | None = None) -> None: ...
    def advance(self, done: int = 0, failed: int = 0) -> None: ...


@dataclass
class Tally:
    """The run's counts as its phases go: summary numbers, seconds per phase (wall time in this process,
    `<step>_cpu` for CPU time the decode workers report), and failed files per reason."""

    summary: RunSummary
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    failures: Counter[str] = field(default_factory=Counter)

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - t

    def failed(self, failures: Iterable[Failure]) -> None:
        for f in failures:
            self.failures[str(f.reason)] += 1

    def close(self, wall_seconds: float) -> RunSummary:
        s = self.summary
        s.wall_seconds = round(wall_seconds, 3)
        s.phase_seconds = {k: round(v, 3) for k, v in self.seconds.items()}
        s.failures_by_reason = dict(self.failures)
        s.failed = sum(self.failures.values())
        return s
