"""The indexer's live progress on the terminal: one bar per phase, with the run's one rate.

Every phase that takes more than a second has its own bar (scanning, embedding the keyword vocabulary,
indexing, keywording, captioning; `duplicates` too). The rate shown is the one defined in
`bridge.indexing.summary.throughput`: photos the run finished ÷ wall seconds since the run started, the same
number the summary, `status`, the desktop and the API report. The ETA is the phase's remaining items at the
phase's own pace so far (items done ÷ seconds in this phase), so a slow start (model loading, vocabulary)
does not make the end of the run look further away than it is.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bridge.indexing.summary import Progress as PipelineProgress
from bridge.indexing.summary import rate_words, throughput

MAIN_PHASE = "indexing"  # the phase whose finished photos the rate counts


def eta_words(remaining: int, done: int, seconds: float) -> str:
    """h:mm:ss left at this phase's pace, or "" before there is a pace."""
    if done <= 0 or seconds <= 0 or remaining <= 0:
        return ""
    left = int(remaining * seconds / done)
    return f"ETA {left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d}"


class RichProgress(PipelineProgress):
    """Live progress: items done / total, the run's rate, ETA and failures so far."""

    def __init__(self, enabled: bool = True, console: Console | None = None) -> None:
        from bridge.cli.common import console as stderr_console

        self.enabled = enabled and sys.stderr.isatty() or os.environ.get("PIXEL_DETECTIVE_PROGRESS") == "1"
        self.failed = 0
        self.indexed = 0  # photos the main phase finished (the rate's numerator)
        self.started = time.monotonic()  # the run's start: the rate's clock
        self.phase_started = self.started
        self.phase_name = ""
        self.phase_done = 0
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            TextColumn("[red]{task.fields[failed]}"),
            console=console or stderr_console,
            disable=not self.enabled,
        )
        self.task: Any = None

    def __enter__(self) -> RichProgress:
        self.started = self.phase_started = time.monotonic()
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]

    @property
    def rate(self) -> float | None:
        """The run's rate now (`summary.throughput`)."""
        return throughput(self.indexed, time.monotonic() - self.started)

    def phase(self, name: str, total: int | None = None) -> None:
        if self.task is not None and not self.phase_done:
            self.bar.remove_task(self.task)  # a phase with nothing done leaves no line behind
        elif self.task is not None:
            self.bar.stop_task(self.task)  # finished phases stay on screen, each on its own line
        now = time.monotonic()
        if self.phase_name == "":
            self.started = now  # the run's first phase: the clock the summary's wall time also starts at
        self.phase_name, self.phase_done, self.phase_started = name, 0, now
        self.task = self.bar.add_task(name, total=total, rate="", eta="", failed="")

    def advance(self, done: int = 0, failed: int = 0) -> None:
        self.failed += failed
        self.phase_done += done + failed
        if self.phase_name == MAIN_PHASE:
            self.indexed += done
        total = self.bar.tasks[-1].total if self.bar.tasks else None
        remaining = int(total - self.phase_done) if total else 0
        self.bar.update(
            self.task,
            advance=done + failed,
            rate=rate_words(self.rate) if self.phase_name == MAIN_PHASE else "",
            eta=eta_words(remaining, self.phase_done, time.monotonic() - self.phase_started),
            failed=f"{self.failed} failed" if self.failed else "",
        )
