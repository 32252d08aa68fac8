"""Indexing view: each job's progress, rate and ETA, a throughput sparkline, the ledger's failures with
their reasons (double-click reveals the file) and the recent runs ("Recent activity").
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from PySide6.QtCore import QPointF, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.backend import Backend
from desktop.reveal import reveal


def _eta(seconds: float | None) -> str:
    if not seconds:
        return ""
    s = int(seconds)
    return f"{s // 3600}h {s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


class Sparkline(QWidget):
    """Photos per second over the last few minutes."""

    def __init__(self, parent: QWidget | None = None, points: int = 120) -> None:
        super().__init__(parent)
        self.samples: deque[float] = deque(maxlen=points)
        self.setMinimumHeight(48)
        self.setAccessibleName("Throughput, photos per second")

    def sizeHint(self) -> QSize:
        return QSize(320, 56)

    def add(self, rate: float) -> None:
        self.samples.append(max(0.0, rate))
        self.update()

    def paintEvent(self, _: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        r = self.rect().adjusted(2, 2, -2, -14)
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        vals = list(self.samples)
        top = max(vals, default=0.0) or 1.0
        if len(vals) >= 2:
            step = r.width() / (self.samples.maxlen or len(vals) - 1)
            x0 = r.right() - step * (len(vals) - 1)
            path = QPainterPath()
            for i, v in enumerate(vals):
                pt = QPointF(x0 + i * step, r.bottom() - (v / top) * r.height())
                path.moveTo(pt) if i == 0 else path.lineTo(pt)
            p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
            p.drawPath(path)
        p.setPen(pal.color(QPalette.ColorRole.Text))
        last = vals[-1] if vals else 0.0
        p.drawText(
            self.rect().adjusted(4, 0, -4, 0),
            Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft,
            f"{last:.1f} photos/s (peak {max(vals, default=0.0):.1f})",
        )


class IndexingView(QDialog):
    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.setWindowTitle("Pixel Detective — Indexing")
        self.resize(860, 620)
        lay = QVBoxLayout(self)
        self.state = QLabel("starting…")
        self.state.setAccessibleName("Indexing state")
        self.bar = QProgressBar()
        self.bar.setAccessibleName("Current job progress")
        self.spark = Sparkline()
        self.jobs = QTreeWidget()
        self.jobs.setHeaderLabels(["Job", "Status", "Phase", "Done", "Rate", "ETA", "Failed"])
        self.jobs.setRootIsDecorated(False)
        self.jobs.setAccessibleName("Jobs")
        self.jobs.setColumnWidth(0, 280)
        self.failures = QTreeWidget()
        self.failures.setHeaderLabels(["File", "Stage", "Reason", "Detail", "Attempts"])
        self.failures.setRootIsDecorated(False)
        self.failures.setAccessibleName("Failures: double-click reveals the file")
        self.failures.setColumnWidth(0, 300)
        self.failures.itemActivated.connect(lambda item, _c: reveal(item.data(0, Qt.ItemDataRole.UserRole)))
        self.runs = QTreeWidget()
        self.runs.setHeaderLabels(["Run", "Started", "Status", "Summary"])
        self.runs.setRootIsDecorated(False)
        self.runs.setAccessibleName("Recent activity")
        buttons = QHBoxLayout()
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setAccessibleName("Pause or resume indexing")
        self.pause_btn.clicked.connect(self.toggle_pause)
        self.refresh_btn = QPushButton("Refresh")
        self.refresh_btn.clicked.connect(self.refresh_lists)
        buttons.addWidget(self.pause_btn)
        buttons.addWidget(self.refresh_btn)
        buttons.addStretch(1)
        lay.addWidget(self.state)
        lay.addWidget(self.bar)
        lay.addWidget(self.spark)
        lay.addWidget(QLabel("Jobs"))
        lay.addWidget(self.jobs, 2)
        lay.addWidget(QLabel("Failures (double-click to reveal the file)"))
        lay.addWidget(self.failures, 2)
        lay.addWidget(QLabel("Recent activity"))
        lay.addWidget(self.runs, 1)
        lay.addLayout(buttons)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._last_done: tuple[float, int, str] | None = None
        backend.host_event.connect(self.on_event)
        backend.ready.connect(self.refresh_lists)
        # One throughput sample a second, also while nothing moves (the line drops to zero).
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._sample)
        self._tick.start()

    def toggle_pause(self) -> None:
        host = self.backend.host
        if host is None:
            return
        if host.state == "paused":
            host.resume()
        else:
            host.pause()

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        if "job" in data and kind in ("job_started", "phase", "progress", "job_finished"):
            self._show_job(data)
        if kind == "job_finished":
            self.refresh_lists()
        state = self.backend.state
        self.pause_btn.setText("Resume" if state == "paused" else "Pause")
        self.state.setText(f"State: {state}")

    def _show_job(self, d: dict[str, Any]) -> None:
        item = self._items.get(d["job"])
        if item is None:
            item = QTreeWidgetItem(self.jobs)
            self._items[d["job"]] = item
        total = d.get("total")
        done = d.get("done") or 0
        cols = [
            d.get("label") or d["job"],
            d.get("status", ""),
            d.get("phase", ""),
            f"{done}/{total}" if total else str(done),
            f"{d['rate']:.1f}/s" if d.get("rate") else "",
            _eta(d.get("eta_seconds")),
            str(d.get("failed") or 0),
        ]
        for i, c in enumerate(cols):
            item.setText(i, str(c))
        if d.get("error"):
            item.setToolTip(1, d["error"])
        if d.get("status") == "running" and total:
            self.bar.setRange(0, int(total))
            self.bar.setValue(int(done))
            self.bar.setFormat(f"{d.get('phase', '')} %p%")
        elif d.get("status") not in ("running", "queued"):
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
            self.bar.setFormat(d.get("status", ""))

    def _sample(self) -> None:
        host = self.backend.host
        job = next((j for j in host.jobs() if j.status == "running"), None) if host else None
        now = time.monotonic()
        if job is None:
            self.spark.add(0.0)
            self._last_done = None
            return
        key = (job.id, job.phase)
        if self._last_done and self._last_done[2] == f"{key}":
            t0, d0, _ = self._last_done
            self.spark.add(max(0, job.done - d0) / max(1e-3, now - t0))
        self._last_done = (now, job.done, f"{key}")

    def refresh_lists(self) -> None:
        host = self.backend.host
        if host is None:
            return
        led = host.reader()
        self.failures.clear()
        for f in led.failures()[:2000]:  # the rest are in `pixel-detective failures`
            it = QTreeWidgetItem([f.path, f.stage, f.reason, f.detail, str(f.attempts)])
            it.setData(0, Qt.ItemDataRole.UserRole, f.path)
            it.setToolTip(3, f.detail)
            self.failures.addTopLevelItem(it)
        self.runs.clear()
        for r in led.runs(20):
            summ = r.get("summary") or {}
            brief = ", ".join(f"{k} {v}" for k, v in summ.items() if isinstance(v, int | float))[:160]
            started = (
                time.strftime("%Y-%m-%d %H:%M", time.localtime(r["started_at"])) if r["started_at"] else ""
            )
            self.runs.addTopLevelItem(
                QTreeWidgetItem([f"{r['kind']} #{r['id']}", started, r["status"], brief])
            )
        for job in host.jobs():
            self._show_job(job.as_dict())
        self.state.setText(f"State: {self.backend.state}")
