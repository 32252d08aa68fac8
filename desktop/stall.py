"""Event-loop stall meter: a 5 ms timer records the gaps between its ticks; a gap much longer than 5 ms
means the UI thread was busy (a frozen window). Used by the tests and bench/bench_desktop.py.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer


class StallMeter(QObject):
    def __init__(self, interval_ms: int = 5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.gaps: list[float] = []  # milliseconds between ticks
        self.on_long: Any = None  # called with each gap over 50 ms (diagnosis)
        self._last: float | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append((now - self._last) * 1000)
            if self.gaps[-1] > 50 and self.on_long is not None:
                self.on_long(self.gaps[-1])
        self._last = now

    @property
    def max_ms(self) -> float:
        return max(self.gaps, default=0.0)

    def percentile(self, q: float) -> float:
        if not self.gaps:
            return 0.0
        s = sorted(self.gaps)
        return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]

    def summary(self) -> dict[str, float]:
        return {
            "ticks": len(self.gaps),
            "p50_ms": self.percentile(50),
            "p99_ms": self.percentile(99),
            "max_ms": self.max_ms,
        }


def drive_indexing_and_searching(
    app: Any, roots: list[str], *, query_every_ms: int = 250, timeout_s: float = 600.0
) -> dict[str, Any]:
    """Index `roots` with the app's host while the window searches every `query_every_ms`, all under a
    StallMeter; returns the stall figures, queries answered and indexing time. The Qt event loop runs
    normally meanwhile (a nested QEventLoop), as it does for a user."""
    from PySide6.QtCore import QEventLoop

    win, host = app.window, app.backend.host
    meter = StallMeter()
    long_stalls: list[tuple[float, str]] = []

    def on_long(gap: float) -> None:
        # What the engine was doing then (in-process hosts stall on Qdrant Edge writes).
        cur = next((j for j in host.jobs() if j.status == "running"), None)
        long_stalls.append((round(gap, 1), f"{cur.phase} {cur.done}/{cur.total}" if cur else "idle"))

    meter.on_long = on_long
    answered: list[int] = []
    win.results_shown.connect(answered.append)
    queries = ["red", "a blue sky", "green field at dusk", "portrait", "dark night"]
    n = [0]

    def query() -> None:
        win.query.setText(queries[n[0] % len(queries)])
        n[0] += 1
        win.run_search()

    qt = QTimer()
    qt.setInterval(query_every_ms)
    qt.timeout.connect(query)
    loop = QEventLoop()
    started = time.perf_counter()
    job = host.submit(roots)
    check = QTimer()
    check.setInterval(20)
    check.timeout.connect(
        lambda: loop.quit() if job.finished.is_set() or time.perf_counter() - started > timeout_s else None
    )
    meter.start()
    qt.start()
    check.start()
    loop.exec()
    took = time.perf_counter() - started
    qt.stop()
    check.stop()
    # A little more searching on the idle index (the thumbnails of the last results load meanwhile).
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:
        loop2 = QEventLoop()
        QTimer.singleShot(50, loop2.quit)
        loop2.exec()
    meter.stop()
    win.results_shown.disconnect(answered.append)
    return {
        **meter.summary(),
        "index_seconds": took,
        "job_status": job.status,
        "queries_sent": n[0],
        "queries_shown": len(answered),
        "long_stalls": long_stalls,
    }
