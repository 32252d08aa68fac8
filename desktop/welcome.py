"""The first-run window: what to index (folders or a Lightroom catalog), whether the search model's weights
are here (download them on a connected machine, or import a weights file), and what each step will cost —
photos counted, a rough time and the disk the index takes — before anything starts.

Counting, the connection check, downloads and imports all run off the UI thread; their answers come back
as signals. It is shown at the first launch (nothing configured yet) and from "Set up…" afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bridge.files.formats import is_supported
from bridge.settings import Settings
from desktop.formatting import duration, home_path

# Rough indexing rates for the estimate (decode + embed + metadata, ViT-B-32 class model), photos/s.
CPU_RATE = 4.0
GPU_RATE = 40.0
INDEX_BYTES_PER_PHOTO = 24_000  # vector + payload + thumbnail, measured on the shared photos (~20-28 kB)
COUNT_LIMIT = 500_000  # stop counting there (the estimate says "more than")
HUB_HOST = ("huggingface.co", 443)


@dataclass(frozen=True)
class Count:
    root: str
    photos: int
    complete: bool  # False: stopped at COUNT_LIMIT or a folder could not be read


def count_photos(root: str, limit: int = COUNT_LIMIT) -> Count:
    """Supported photo files under `root` (what `index` would look at), without reading any of them."""
    n, complete = 0, True
    for _dir, dirs, files in os.walk(root, onerror=lambda e: None):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        n += sum(1 for f in files if is_supported(f))
        if n >= limit:
            return Count(root, n, False)
    return Count(root, n, complete)


MEASURED_MIN_PHOTOS = 50  # a run this large measures the machine well enough for an estimate


def guess_rate(settings: Settings | None = None) -> tuple[float, str]:
    """Photos per second for the estimate, and on what: the median rate of this computer's recent runs
    (`files_per_second` of runs that indexed at least MEASURED_MIN_PHOTOS photos with the current model),
    else a rough guess — a GPU when one is visible (nvidia-smi), else the CPU."""
    measured = measured_rate(settings) if settings is not None else None
    if measured is not None:
        return measured, "this computer (measured on its last runs)"
    if shutil.which("nvidia-smi"):
        return GPU_RATE, "an NVIDIA GPU (a rough guess until a first run measures it)"
    return CPU_RATE, "this computer's processor (a rough guess until a first run measures it)"


def measured_rate(settings: Settings) -> float | None:
    """The median photos/s of the last runs that embedded enough photos, read from the ledger (read-only)."""
    from statistics import median

    from bridge.state.ledger import Ledger, LedgerError

    if not settings.ledger_path.exists():
        return None
    try:
        led = Ledger(settings.ledger_path, readonly=True)
    except (LedgerError, OSError, sqlite3.Error):
        return None
    try:
        runs = led.runs(20)
    except sqlite3.Error:
        return None
    finally:
        led.close()
    rates = [
        float(s["files_per_second"])
        for r in runs
        if (s := r.get("summary") or {}).get("files_per_second")
        and int(s.get("embedded") or 0) >= MEASURED_MIN_PHOTOS
        and (r.get("args") or {}).get("model", settings.model) == settings.model
    ]
    return median(rates[:5]) if rates else None


def cost_text(photos: int, complete: bool = True, rate: float | None = None, on: str = "") -> str:
    """ "1,234 photos · about 5 min on this computer's processor · about 30 MB of index"."""
    if rate is None:
        rate, on = guess_rate()
    if photos == 0:
        return "no photos found here (JPEG, PNG, TIFF, HEIC, WebP and RAW files are indexed)"
    more = "more than " if not complete else ""
    mb = max(1, round(photos * INDEX_BYTES_PER_PHOTO / 1_000_000))
    return (
        f"{more}{photos:,} photos · about {duration(max(1.0, photos / rate))} on {on} · "
        f"about {mb:,} MB of index"
    )


def model_status(settings: Settings) -> tuple[bool, str]:
    """(ready, words) for the configured model's weights."""
    from bridge.models.registry import ModelError, WeightsMissing, resolve

    try:
        rw = resolve(settings.model, settings.models_dir)
    except WeightsMissing:
        return False, (
            f"The search model ({settings.model}) is not on this computer yet. Photos are still indexed "
            "for their dates, cameras, ratings and keywords, and searchable by those filters; describing a "
            "photo in words needs the model."
        )
    except ModelError as e:
        return False, str(e)
    where = "imported" if rw.source == "imported" else "in the download cache"
    return True, f"Ready: {settings.model} ({where})."


def online(timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection(HUB_HOST, timeout=timeout):
            return True
    except OSError:
        return False


class WelcomeWindow(QDialog):
    """First run: folders/catalogs, model status with download or import, the cost of each step."""

    start_requested = Signal(list, list)  # folders, catalogs: index them now
    _counted = Signal(object)  # Count, from the counting thread
    _model_done = Signal(bool, str)  # ok, message (download / import threads)
    _online = Signal(bool)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Welcome to Pixel Detective")
        self.setObjectName("welcome")
        self.resize(760, 640)
        self.folders: list[str] = []
        self.catalogs: list[str] = []
        self.counts: dict[str, Count] = {}
        self.rate, self.rate_on = guess_rate(settings)
        self.connection_checked = False
        lay = QVBoxLayout(self)
        head = QLabel("Welcome to Pixel Detective")
        head.setObjectName("heading")
        intro = QLabel(
            "Find any photo by describing it — “kids on a red bike”, “foggy harbour at dawn” — or by showing "
            "one like it. Everything runs on this computer: your photos never leave it."
        )
        intro.setWordWrap(True)
        lay.addWidget(head)
        lay.addWidget(intro)

        # 1. Library.
        lib = QGroupBox("1  Your photos")
        ll = QVBoxLayout(lib)
        self.library = QListWidget()
        self.library.setAccessibleName("Folders and catalogs to index")
        self.library.setMinimumHeight(110)
        row = QHBoxLayout()
        self.add_folder_btn = QPushButton("Add folder…")
        self.add_folder_btn.clicked.connect(lambda: self.add_folder())
        self.add_catalog_btn = QPushButton("Add Lightroom catalog…")
        self.add_catalog_btn.clicked.connect(lambda: self.add_catalog())
        row.addWidget(self.add_folder_btn)
        row.addWidget(self.add_catalog_btn)
        row.addStretch(1)
        ll.addWidget(self.library)
        ll.addLayout(row)
        lay.addWidget(lib)

        # 2. Model.
        mod = QGroupBox("2  Search model")
        ml = QVBoxLayout(mod)
        self.model_text = QLabel()
        self.model_text.setWordWrap(True)
        self.model_text.setAccessibleName("Model status")
        self.model_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mrow = QHBoxLayout()
        self.download_btn = QPushButton("Download")
        self.download_btn.setEnabled(False)
        self.download_btn.setToolTip("Checking the connection…")
        self.download_btn.clicked.connect(self.download)
        self.import_btn = QPushButton("Import a weights file…")
        self.import_btn.clicked.connect(lambda: self.import_weights())
        mrow.addWidget(self.download_btn)
        mrow.addWidget(self.import_btn)
        mrow.addStretch(1)
        ml.addWidget(self.model_text)
        ml.addLayout(mrow)
        lay.addWidget(mod)

        # 3. Cost.
        cost = QGroupBox("3  What it will take")
        cl = QVBoxLayout(cost)
        self.cost = QLabel()
        self.cost.setWordWrap(True)
        self.cost.setAccessibleName("What indexing will take")
        cl.addWidget(self.cost)
        lay.addWidget(cost)
        lay.addStretch(1)

        buttons = QHBoxLayout()
        self.later_btn = QPushButton("Later")
        self.later_btn.clicked.connect(self.reject)
        self.start_btn = QPushButton("Start indexing")
        self.start_btn.setDefault(True)
        self.start_btn.clicked.connect(self._start)
        buttons.addStretch(1)
        buttons.addWidget(self.later_btn)
        buttons.addWidget(self.start_btn)
        lay.addLayout(buttons)

        self._counted.connect(self._on_counted)
        self._model_done.connect(self._on_model_done)
        self._online.connect(self._on_online)
        self.refresh_model()
        self._update_cost()
        threading.Thread(
            target=lambda: self._online.emit(online()), name="pd-welcome-net", daemon=True
        ).start()

    # -- library ---------------------------------------------------------------------------------------
    def add_folder(self, folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if not folder or folder in self.folders:
            return
        self.folders.append(folder)
        item = QListWidgetItem(f"{home_path(folder)} — counting photos…")
        item.setData(Qt.ItemDataRole.UserRole, folder)
        self.library.addItem(item)
        threading.Thread(
            target=lambda: self._counted.emit(count_photos(folder)), name="pd-welcome-count", daemon=True
        ).start()
        self._update_cost()

    def add_catalog(self, catalog: str | None = None) -> None:
        catalog = (
            catalog
            or QFileDialog.getOpenFileName(
                self, "Add a Lightroom catalog", "", "Lightroom catalogs (*.lrcat)"
            )[0]
        )
        if not catalog or catalog in self.catalogs:
            return
        self.catalogs.append(catalog)
        item = QListWidgetItem(
            f"{home_path(catalog)} — Lightroom catalog: its photos' folders are indexed; the catalog is only read"
        )
        item.setData(Qt.ItemDataRole.UserRole, catalog)
        self.library.addItem(item)
        self._update_cost()

    def _on_counted(self, c: Count) -> None:
        self.counts[c.root] = c
        for i in range(self.library.count()):
            item = self.library.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == c.root:
                item.setText(
                    f"{home_path(c.root)} — {cost_text(c.photos, c.complete, self.rate, self.rate_on)}"
                )
        self._update_cost()

    def _update_cost(self) -> None:
        total = sum(c.photos for c in self.counts.values())
        pending = [f for f in self.folders if f not in self.counts]
        model_ready = self.model_ready
        lines = []
        if not self.folders and not self.catalogs:
            lines.append("Add a folder or a catalog to see how many photos there are and how long it takes.")
        else:
            what = cost_text(total, all(c.complete for c in self.counts.values()), self.rate, self.rate_on)
            if pending:
                what += f" (still counting {len(pending)} folder{'s' if len(pending) > 1 else ''})"
            if self.catalogs:
                what += "; plus the photos of the catalog's folders"
            lines.append(f"<b>Indexing:</b> {what}.")
        lines.append(
            "<b>Model:</b> "
            + (
                "ready, nothing to download."
                if model_ready
                else "one download of the model's weights (about 600 MB for the default model), "
                "or import a file you already have."
            )
        )
        lines.append(
            "Indexing runs in the background at low priority: photos are searchable as they arrive, you "
            "can pause it from the tray, and it picks up where it stopped after a restart."
        )
        self.cost.setText("<br>".join(lines))
        self.start_btn.setEnabled(bool(self.folders or self.catalogs))

    # -- model -----------------------------------------------------------------------------------------
    def refresh_model(self) -> None:
        self.model_ready, words = model_status(self.settings)
        self.model_text.setText(("✓ " if self.model_ready else "") + words)
        self.import_btn.setVisible(not self.model_ready)
        self.download_btn.setVisible(not self.model_ready)

    def _on_online(self, ok: bool) -> None:
        self.connection_checked = True
        self.download_btn.setEnabled(ok and not self.model_ready)
        self.download_btn.setToolTip(
            "Download the weights from the Hugging Face hub"
            if ok
            else "This computer is offline: import a weights file copied from a connected machine "
            "(`pixel-detective models download` there)"
        )
        if not ok:
            self.download_btn.setText("Download (offline)")

    def download(self) -> None:
        model = self.settings.model
        self._busy(f"Downloading {model}…")

        def run() -> None:
            try:
                from bridge.models.registry import download

                download(model)
                self._model_done.emit(True, "")
            except Exception as e:
                self._model_done.emit(False, f"The download failed: {e}")

        threading.Thread(target=run, name="pd-welcome-download", daemon=True).start()

    def import_weights(self, file: str | None = None) -> None:
        file = (
            file
            or QFileDialog.getOpenFileName(
                self,
                "Import model weights",
                "",
                "Model weights (*.safetensors *.bin *.pt *.pth);;All files (*)",
            )[0]
        )
        if not file:
            return
        model, models_dir = self.settings.model, self.settings.models_dir
        self._busy(f"Checking and importing {Path(file).name}…")

        def run() -> None:
            try:
                from bridge.models.clip import import_checked

                import_checked(Path(file), model, models_dir)
                self._model_done.emit(True, "")
            except Exception as e:  # ModelError says what is wrong in words
                self._model_done.emit(False, f"{Path(file).name} was not imported: {e}")

        threading.Thread(target=run, name="pd-welcome-import", daemon=True).start()

    def _busy(self, text: str) -> None:
        self.model_text.setText(text)
        self.download_btn.setEnabled(False)
        self.import_btn.setEnabled(False)

    def _on_model_done(self, ok: bool, message: str) -> None:
        self.import_btn.setEnabled(True)
        self.refresh_model()
        if not ok:
            self.model_text.setText(message)
        self.download_btn.setEnabled(not self.model_ready and "offline" not in self.download_btn.text())
        self._update_cost()

    # -- finish ----------------------------------------------------------------------------------------
    def _start(self) -> None:
        self.start_requested.emit(list(self.folders), list(self.catalogs))
        self.accept()


def welcome_needed(configured: dict[str, Any]) -> bool:
    """First launch: no folders or catalogs configured and the welcome not dismissed before."""
    return not configured.get("folders") and not configured.get("catalogs") and not configured.get("welcomed")
