"""The indexing view, a photographer's progress page: what is happening in words ("312 of 459 photos —
about 2 min left"), the progress bar, a throughput chart (photos per second over the run, drawn with
QPainter), each library folder with its photos, indexed and failed counts, the photos that could not be
indexed with what went wrong and what to do (double-click reveals the file), and the recent runs.

Rates are measured here, one way for the chart, the ETA and the summary: photos counted in the "indexing"
phase per second of wall time. A finished run keeps its curve and says its average; the page never ends
on a zero rate.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPalette, QPen
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
from desktop.formatting import duration, home_path, rate, readable_date
from desktop.reveal import reveal

STAGE_ORDER = {"scan": 0, "decode": 1, "metadata": 2}  # a photo's first failing stage explains it
COUNTED_PHASE = "indexing"  # the phase whose photos the chart, the ETA and the summary count
PER_FOLDER_EVERY_S = 3.0  # the folder table reads the ledger at most this often while a run goes on

# What each failure reason means to a photographer, and what to do about it.
REASON_WORDS: dict[str, tuple[str, str]] = {
    "empty_file": ("The file is empty (0 bytes).", "Copy it again from the card or the backup."),
    "not_an_image": (
        "The file is not a photo, though its name says so.",
        "Check what the file really is; rename or remove it.",
    ),
    "truncated": (
        "The photo ends early: an interrupted copy or download.",
        "Copy it again from the card or the backup.",
    ),
    "corrupt": ("The photo's data is damaged.", "Open it in another program; restore it from a backup."),
    "too_large": (
        "The photo is larger than the safe limit for its format.",
        "Nothing to do unless it is a real photo; then export a smaller copy.",
    ),
    "unsupported_format": (
        "This kind of image cannot be read on this computer.",
        "Export a JPEG or TIFF copy, or install the missing decoder.",
    ),
    "unsupported_raw": (
        "This camera's RAW files cannot be read yet.",
        "Convert to DNG (Adobe DNG Converter) or let Lightroom make previews.",
    ),
    "raw_no_image_data": ("The RAW file has no image data.", "Copy it again from the card."),
    "io_error": ("The disk failed to read the file.", "Check the drive and its cable; try again."),
    "permission_denied": (
        "Pixel Detective may not read this file.",
        "Give your user read permission on it (or its folder).",
    ),
    "missing": ("The file was moved or deleted while indexing.", "Nothing to do: the next run finds it."),
    "decoder_crashed": (
        "Reading this file crashed the decoder.",
        "The file is probably damaged; open it in another program.",
    ),
    "metadata_error": (
        "Its metadata (EXIF/XMP) could not be read; the picture itself may be fine.",
        "Re-save the metadata in Lightroom (Metadata ▸ Save Metadata to File).",
    ),
    "not_a_regular_file": ("This is not a regular file (a pipe or a device).", "Remove it from the folder."),
}


def explain(reason: str) -> tuple[str, str]:
    return REASON_WORDS.get(reason, (reason.replace("_", " ").capitalize() + ".", "See the detail."))


@dataclass
class RunCurve:
    """One run's throughput, measured in the counted phase: (seconds since it began, photos/s) samples."""

    job: str
    started: float  # monotonic time of the first count
    samples: list[tuple[float, float]]
    done: int = 0
    total: int | None = None
    finished_s: float | None = None  # wall seconds of the counted phase once the run ended
    last_progress_s: float = 0.0  # when the count last grew (the counted phase's end for the average)
    # The run's one rate (`bridge.indexing.summary.throughput`: photos ÷ seconds since the run started), as the
    # host's job reports it while running and the summary's `files_per_second` once done: what the CLI's bar
    # and summary, `status` and the API say. None until known; then `average` is this rate.
    rate: float | None = None
    wall_s: float | None = None  # the run's wall seconds once done (its summary)

    def average(self) -> float:
        if self.rate is not None:
            return self.rate
        secs = (
            self.finished_s if self.finished_s is not None else (self.samples[-1][0] if self.samples else 0)
        )
        return self.done / secs if secs > 0 else 0.0

    def peak(self) -> float:
        return max((v for _, v in self.samples), default=0.0)

    def recent(self, seconds: float = 10.0) -> float:
        """Average rate over the last `seconds` (the ETA's basis)."""
        if not self.samples:
            return 0.0
        end = self.samples[-1][0]
        vals = [v for t, v in self.samples if t >= end - seconds]
        return sum(vals) / len(vals) if vals else 0.0


class ThroughputChart(QWidget):
    """Photos per second over the run: the rate each second (3-second average), the run's average as a
    dashed line, axes labelled in photos/s and elapsed time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curve: RunCurve | None = None
        self._previous: RunCurve | None = None
        self.setMinimumHeight(150)
        self.setAccessibleName("Throughput chart, photos per second over the run")

    def sizeHint(self) -> QSize:
        return QSize(640, 170)

    def set_curve(self, curve: RunCurve | None) -> None:
        self.curve = curve
        self.update()

    def caption(self) -> str:
        c = self.curve
        if c is None or (not c.samples and not c.done):
            return "Throughput appears here while photos are being indexed."
        if c.finished_s is not None:
            return (
                f"Last run: {c.done:,} photos in {duration(c.wall_s or c.finished_s)} — "
                f"average {rate(c.average())}" + (f", peak {rate(c.peak())}" if c.peak() > 0 else "")
            )
        now = c.samples[-1][1] if c.samples else 0.0
        return f"Now {rate(now)} · average {rate(c.average())} · peak {rate(c.peak())}"

    def paintEvent(self, _: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        dim = QColor(text)
        dim.setAlpha(120)
        grid = QColor(text)
        grid.setAlpha(35)
        accent = pal.color(QPalette.ColorRole.Highlight)
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        fm = p.fontMetrics()
        p.setPen(text)
        p.drawText(
            QRectF(10, 4, self.width() - 20, fm.height() + 4), Qt.AlignmentFlag.AlignLeft, self.caption()
        )
        left, top = 10 + fm.horizontalAdvance("000.0"), 10 + fm.height() + 6
        plot = QRectF(left, top, self.width() - left - 14, self.height() - top - fm.height() - 10)
        c = self.curve
        vals = c.samples if c else []
        avg = c.average() if c else 0.0
        peak = max([v for _, v in vals] + [avg, 0.0])
        ymax = _nice(peak * 1.15) if peak > 0 else 1.0
        span = max(10.0, vals[-1][0] if vals else 10.0, c.finished_s or 0.0 if c else 0.0)
        small = QFont(p.font())
        small.setPointSizeF(max(7.0, p.font().pointSizeF() * 0.85))
        p.setFont(small)
        for i in range(5):  # horizontal grid with photos/s labels
            y = plot.bottom() - plot.height() * i / 4
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(dim)
            p.drawText(
                QRectF(0, y - 8, left - 4, 16),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{ymax * i / 4:g}",
            )
        for i in range(1, 5):  # elapsed time labels (0:00 would sit on the axis' 0)
            x = plot.left() + plot.width() * i / 4
            p.setPen(dim)
            p.drawText(
                QRectF(x - 40, plot.bottom() + 2, 80, fm.height()),
                Qt.AlignmentFlag.AlignHCenter,
                _clock(span * i / 4),
            )
        p.drawText(
            QRectF(plot.left() + 4, plot.top(), 200, fm.height()), Qt.AlignmentFlag.AlignLeft, "photos/s"
        )
        if len(vals) >= 2:

            def pt(t: float, v: float) -> QPointF:
                return QPointF(
                    plot.left() + plot.width() * t / span, plot.bottom() - plot.height() * v / ymax
                )

            line = QPainterPath()
            for i, (t, v) in enumerate(vals):
                line.moveTo(pt(t, v)) if i == 0 else line.lineTo(pt(t, v))
            area = QPainterPath(line)
            area.lineTo(pt(vals[-1][0], 0))
            area.lineTo(pt(vals[0][0], 0))
            area.closeSubpath()
            fill = QColor(accent)
            fill.setAlpha(60)
            p.fillPath(area, fill)
            p.setPen(QPen(accent, 2))
            p.drawPath(line)
        if avg > 0:
            y = plot.bottom() - plot.height() * avg / ymax
            p.setPen(QPen(dim, 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.drawText(QRectF(plot.right() - 160, y - fm.height() - 1, 156, fm.height()),
                       Qt.AlignmentFlag.AlignRight, f"average {avg:.1f}")  # fmt: skip


def _nice(v: float) -> float:
    for step in (1, 2, 4, 8, 12, 20, 40, 60, 80, 100, 200, 400, 600, 800, 1000, 2000, 4000):  # quarters
        if v <= step:
            return float(step)
    return float(int(v) + 1)


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


class IndexingView(QDialog):
    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.setWindowTitle("Pixel Detective — Indexing")
        self.resize(980, 760)
        lay = QVBoxLayout(self)
        self.headline = QLabel("Starting…")
        self.headline.setObjectName("heading")
        self.headline.setWordWrap(True)
        self.headline.setAccessibleName("Indexing state")
        self.detail = QLabel("")
        self.detail.setObjectName("dim")
        self.detail.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setAccessibleName("Progress of the current run")
        self.bar.setTextVisible(True)
        self.chart = ThroughputChart()
        self.folders = QTreeWidget()
        self.folders.setHeaderLabels(["Folder", "Photos", "Indexed", "Could not be read", "State"])
        self.folders.setRootIsDecorated(False)
        self.folders.setAccessibleName("Library folders")
        self.folders.setColumnWidth(0, 380)
        for col, width in ((1, 80), (2, 80), (3, 130)):
            self.folders.setColumnWidth(col, width)
        self.failures = QTreeWidget()
        self.failures.setHeaderLabels(["Photo", "What went wrong", "What to do"])
        self.failures.setRootIsDecorated(False)
        self.failures.setWordWrap(True)  # reasons and remedies are never cut to one line
        self.failures.setUniformRowHeights(False)
        self.failures.header().setStretchLastSection(True)
        self.failures.setAccessibleName("Photos that could not be indexed: double-click reveals the file")
        self.failures.setColumnWidth(0, 250)
        self.failures.setColumnWidth(1, 360)
        self.failures.itemActivated.connect(lambda item, _c: reveal(item.data(0, Qt.ItemDataRole.UserRole)))
        self.failures_title = QLabel("Nothing failed")
        self.runs = QTreeWidget()
        self.runs.setHeaderLabels(["Run", "When", "Result"])
        self.runs.setRootIsDecorated(False)
        self.runs.setAccessibleName("Recent activity")
        self.runs.setColumnWidth(0, 150)
        self.runs.setColumnWidth(1, 170)
        buttons = QHBoxLayout()
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setAccessibleName("Pause or resume indexing")
        self.pause_btn.clicked.connect(self.toggle_pause)
        self.refresh_btn = QPushButton("Refresh")
        self.refresh_btn.clicked.connect(self.refresh_lists)
        buttons.addWidget(self.pause_btn)
        buttons.addWidget(self.refresh_btn)
        buttons.addStretch(1)
        lay.addWidget(self.headline)
        lay.addWidget(self.detail)
        lay.addWidget(self.bar)
        lay.addWidget(self.chart)
        lay.addWidget(QLabel("Folders"))
        lay.addWidget(self.folders, 2)
        lay.addWidget(self.failures_title)
        lay.addWidget(self.failures, 2)
        lay.addWidget(QLabel("Recent activity"))
        lay.addWidget(self.runs, 1)
        lay.addLayout(buttons)
        self.curve: RunCurve | None = None
        self._previous: RunCurve | None = None
        self._last: tuple[float, int] | None = None  # (monotonic, done) of the previous sample
        self._window: list[float] = []  # the last raw per-second rates (3-second average)
        self._folders_at = 0.0
        self._roots: list[str] = []
        backend.host_event.connect(self.on_event)
        backend.ready.connect(self.refresh_lists)
        # One throughput sample a second while a run counts photos (nothing is drawn while idle).
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

    # -- events ----------------------------------------------------------------------------------------
    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        if "job" in data and kind in ("job_started", "phase", "progress", "job_finished"):
            self._show_job(data)
        if kind == "job_finished":
            self._finish_curve(data)
            self.refresh_lists()
        self.pause_btn.setText("Resume" if self.backend.state == "paused" else "Pause")

    def _show_job(self, d: dict[str, Any]) -> None:
        for r in d.get("roots") or []:
            if r not in self._roots:
                self._roots.append(r)
        status, phase = d.get("status", ""), d.get("phase", "")
        total, done, failed = d.get("total"), int(d.get("done") or 0), int(d.get("failed") or 0)
        label = d.get("label") or "your photos"
        if status == "running" and phase == COUNTED_PHASE and total:
            c = self.curve
            left = ""
            if c is not None and c.recent() > 0:
                left = f" — about {duration((total - done) / c.recent())} left"
            self.headline.setText(f"Indexing {label}: {done:,} of {total:,} photos{left}")
            self.detail.setText(
                f"{failed} could not be read so far (listed below)."
                if failed
                else "Searchable as they arrive."
            )
            self.bar.setRange(0, int(total))
            self.bar.setValue(done)
            self.bar.setFormat("%p%")
        elif status == "running":
            words = {
                "scanning": "Looking for photos in",
                "keywording": "Suggesting keywords for",
                "captioning": "Writing captions for",
            }.get(phase, f"{phase.capitalize() or 'Working'} —")
            count = f": {done:,} of {total:,}" if total else (f": {done:,} so far" if done else "")
            self.headline.setText(f"{words} {label}{count}")
            self.detail.setText("")
            if total:
                self.bar.setRange(0, int(total))
                self.bar.setValue(done)
            else:
                self.bar.setRange(0, 0)  # busy
        elif status == "queued":
            self.headline.setText(f"Waiting to index {label}")
        else:
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
            self.bar.setFormat(status)
            if status == "failed":
                self.headline.setText(f"Indexing {label} stopped with an error")
                self.detail.setText(str(d.get("error") or ""))
            elif status in ("stopped", "cancelled"):
                self.headline.setText(f"Indexing {label} {status}: it picks up where it stopped next time")

    def _sample(self) -> None:
        host = self.backend.host
        job = next((j for j in host.jobs() if j.status == "running"), None) if host else None
        if job is None or job.phase != COUNTED_PHASE:
            self._last = None
            return
        now = time.monotonic()
        if self.curve is None or self.curve.job != job.id or self.curve.finished_s is not None:
            if not job.total:
                return  # nothing to count (a run that finds nothing new): the last run's curve stays
            if self.curve is not None and self.curve.finished_s is not None and self.curve.done:
                self._previous = self.curve
            self.curve = RunCurve(job.id, now, [(0.0, 0.0)] if job.done == 0 else [], job.done, job.total)
            self._window = []
        c = self.curve
        if self._last is not None:
            t0, d0 = self._last
            self._window = [*self._window[-2:], max(0, job.done - d0) / max(1e-3, now - t0)]
            c.samples.append((now - c.started, sum(self._window) / len(self._window)))
        if job.done > c.done:
            c.last_progress_s = now - c.started
        c.done, c.total = job.done, job.total
        c.rate = _job_rate(job)
        self._last = (now, job.done)
        self.chart.set_curve(c)
        if time.monotonic() - self._folders_at > PER_FOLDER_EVERY_S:
            self.refresh_folders()

    def _finish_curve(self, d: dict[str, Any]) -> None:
        """The run's curve stays, with its measured average (done / seconds of the counted phase)."""
        c = self.curve
        host = self.backend.host
        job = host.job(d["job"]) if host is not None else None
        summary = (job.summary if job is not None else None) or d.get("summary") or {}
        if c is None or c.job != d["job"]:
            # A run too short to sample: one point from its own counts and time.
            secs = float(
                (summary.get("phase_seconds") or {}).get(COUNTED_PHASE) or summary.get("wall_seconds") or 0
            )
            done = int(summary.get("embedded") or summary.get("metadata_read") or d.get("done") or 0)
            if not done or secs <= 0:
                return
            c = RunCurve(d["job"], time.monotonic() - secs, [(0.0, done / secs), (secs, done / secs)], done)
        else:
            if d.get("phase") == COUNTED_PHASE and int(d.get("done") or 0) > c.done:
                c.done = int(d["done"])  # counted after the last sample
                c.last_progress_s = time.monotonic() - c.started
        if c.finished_s is None:
            c.finished_s = max(1e-3, c.last_progress_s or (time.monotonic() - c.started))
        if summary.get("files_per_second"):
            c.rate = float(summary["files_per_second"])  # the summary's rate, as the CLI prints it
        if summary.get("wall_seconds"):
            c.wall_s = float(summary["wall_seconds"])
        if not c.done and self._previous is not None:
            c = self._previous  # a run that indexed nothing new: the last real run's curve stays
        self.curve = c
        self._last = None
        self.chart.set_curve(c)

    # -- lists -----------------------------------------------------------------------------------------
    def refresh_folders(self) -> None:
        """Each library folder: photos found, indexed (in the search index), could not be read."""
        host = self.backend.host
        if host is None:
            return
        self._folders_at = time.monotonic()
        if not hasattr(host, "reader"):
            return  # a remote engine: its ledger is on its machine (refresh_lists says so)
        led = host.reader()
        model = self.backend.settings.model
        try:
            embedded = led.done_fingerprints("embed", model)
            failures = led.failures()
        except Exception:
            return
        running = {r for j in host.jobs() if j.status in ("running", "queued") for r in (j.roots or [])}
        self.folders.clear()
        for root in self._roots:
            rows = led.files_under(root)
            photos = len(rows)
            indexed = sum(1 for fr in rows.values() if fr.fingerprint in embedded)
            failed = len(
                {f.path for f in failures if f.path == root or f.path.startswith(root.rstrip("/") + "/")}
            )
            state = (
                "indexing…" if root in running else ("up to date" if indexed + failed >= photos else "partly")
            )
            if not embedded and photos:
                state = "metadata only (no model weights)"
            it = QTreeWidgetItem([home_path(root), f"{photos:,}", f"{indexed:,}", f"{failed:,}", state])
            it.setToolTip(0, root)
            for col in (1, 2, 3):
                it.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.folders.addTopLevelItem(it)

    def refresh_lists(self) -> None:
        host = self.backend.host
        if host is None:
            return
        for job in host.jobs():
            self._show_job(job.as_dict())
        if not hasattr(host, "reader"):  # a remote engine (bridge/api/remote_host.py): live jobs only
            self.failures_title.setText(
                f"Folders, failures and past runs are kept by the {self.backend.engine_name}: see them there "
                "(`pixel-detective status` / `failures` on that machine)"
            )
            return
        led = host.reader()
        runs = led.runs(20)
        for r in runs:
            for root in (r.get("summary") or {}).get("roots") or []:
                if root not in self._roots:
                    self._roots.append(root)
        self.refresh_folders()
        self.failures.clear()
        by_path: dict[str, list[Any]] = {}
        for f in led.failures():
            by_path.setdefault(f.path, []).append(f)
        for path, rows in list(by_path.items())[:2000]:  # the rest are in `pixel-detective failures`
            rows.sort(key=lambda f: STAGE_ORDER.get(str(f.stage), 9))  # what stopped it first
            what, todo = explain(rows[0].reason)
            it = QTreeWidgetItem([_name(path), what, todo])
            it.setData(0, Qt.ItemDataRole.UserRole, path)
            tip = "\n".join(
                [home_path(path)]
                + [f"{f.stage}: {f.reason} — {f.detail}" + (f" ({f.attempts} attempts)" if f.attempts > 1 else "")
                   for f in rows]
            )  # fmt: skip
            for col in range(3):
                it.setToolTip(col, tip)
            self.failures.addTopLevelItem(it)
        fails = list(by_path)
        n = len(fails)
        self.failures_title.setText(
            f"{n} photo{'s' if n != 1 else ''} could not be indexed — what went wrong and what to do "
            "(double-click shows the file)"
            if n
            else "Every photo could be read"
        )
        self.runs.clear()
        for r in runs:
            when = (
                readable_date(time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(r["started_at"])))
                if r["started_at"]
                else ""
            )
            self.runs.addTopLevelItem(
                QTreeWidgetItem([f"{str(r['kind']).capitalize()} #{r['id']}", when, _run_words(r)])
            )
        if not any(j.status in ("running", "queued") for j in host.jobs()):
            self._idle_headline(led)
        self.pause_btn.setText("Resume" if self.backend.state == "paused" else "Pause")

    def _idle_headline(self, led: Any) -> None:
        try:
            counts = led.counts()
        except Exception:
            return
        files, failed = int(counts.get("files", 0)), int(counts.get("failed", 0))
        if self.backend.state == "paused":
            self.headline.setText("Indexing is paused")
            self.detail.setText("Resume here or from the tray menu; nothing is lost.")
            return
        if not files:
            self.headline.setText("No photos indexed yet")
            self.detail.setText("Add a folder or a Lightroom catalog (tray menu ▸ Add folder…).")
            return
        self.headline.setText(f"Up to date: {files:,} photos")
        self.detail.setText(
            f"{failed} could not be read — listed below with what to do."
            if failed
            else "Every photo could be read."
        )


def _job_rate(job: Any) -> float | None:
    """The host's rate of a running job (`Job.as_dict()["rate"]`), None before it has one."""
    try:
        value = job.as_dict().get("rate")
    except Exception:  # a job record without as_dict (an older engine process)
        return None
    return float(value) if value else None


def _name(path: str) -> str:
    return os.path.basename(path) or path


def _run_words(r: dict[str, Any]) -> str:
    """ "459 photos indexed, 3 could not be read, in 45 s (10.2 photos/s)" from a run's stored summary."""
    s = r.get("summary") or {}
    status = str(r.get("status") or "")
    parts = []
    done = int(s.get("embedded") or 0)
    if done:
        parts.append(f"{done:,} photos indexed")
    elif s.get("metadata_read"):
        parts.append(f"{int(s['metadata_read']):,} photos read (metadata)")
    elif s.get("files_seen") is not None:
        parts.append(f"{int(s.get('files_seen') or 0):,} photos checked, nothing new")
    if s.get("failed"):
        parts.append(f"{int(s['failed'])} could not be read")
    if s.get("deleted"):
        parts.append(f"{int(s['deleted'])} removed")
    secs = float(s.get("wall_seconds") or 0)
    if secs:
        parts.append(f"in {duration(secs)}")
    text = ", ".join(parts) or "no details"
    return text if status == "completed" else f"{status}: {text}"
