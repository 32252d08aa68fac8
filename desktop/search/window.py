"""The search window: wires the query field, the filter panel, the thumbnail grid and the detail pane, runs
searches (only the latest query's results are shown) and the actions on the selection.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QMainWindow,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from bridge.files.thumbs import thumbs_dir
from desktop.backend import Backend
from desktop.results_model import CELL, ResultRole, ResultsModel, make_delegate
from desktop.reveal import reveal
from desktop.search.detail_pane import DetailPane
from desktop.search.drops import image_paths
from desktop.search.filter_panel import FilterPanel
from desktop.search.query_field import QueryField
from desktop.thumbnails import ThumbnailCache


class SearchWindow(QMainWindow):
    results_shown = Signal(int)  # number of results now in the grid (tests, status)
    status_text = Signal(str)  # from worker threads

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.setWindowTitle("Pixel Detective")
        self.resize(1200, 760)
        self.setAcceptDrops(True)
        cache = thumbs_dir(backend.settings.data_dir)
        self.thumbs = ThumbnailCache(cache, parent=self)
        self.model = ResultsModel(self.thumbs, self)
        self._pending_gen = 0
        self._started = 0.0
        self._like: list[str] = []

        # Top bar: query, sort, limit, search button.
        self.query = QueryField()
        self.query.returnPressed.connect(self.run_search)
        self.query.photos_given.connect(self.search_like)
        self.sort = QComboBox()
        self.sort.addItems(["Relevance", "Date (newest first)"])
        self.sort.setAccessibleName("Sort order")
        self.sort.currentIndexChanged.connect(
            lambda i: self.model.set_sort("date" if i == 1 else "relevance")
        )
        self.limit = QSpinBox()
        self.limit.setRange(10, 100_000)
        self.limit.setValue(500)
        self.limit.setSingleStep(100)
        self.limit.setPrefix("max ")
        self.limit.setAccessibleName("Maximum results")
        self.go = QPushButton("Search")
        self.go.setAccessibleName("Search")
        self.go.clicked.connect(self.run_search)
        top = QHBoxLayout()
        top.addWidget(self.query, 1)
        top.addWidget(self.sort)
        top.addWidget(self.limit)
        top.addWidget(self.go)

        # Grid.
        self.grid = QListView()
        self.grid.setModel(self.model)
        self.grid.setItemDelegate(make_delegate(self.grid))
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setUniformItemSizes(True)  # constant-time layout: 100k results stay smooth
        self.grid.setLayoutMode(QListView.LayoutMode.Batched)
        self.grid.setBatchSize(2000)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setGridSize(CELL)
        self.grid.setSpacing(0)
        self.grid.setWrapping(True)
        self.grid.setMouseTracking(True)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.grid.setAccessibleName("Results")
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.grid.activated.connect(lambda idx: self.open_selected())  # Enter or double-click

        self.filters = FilterPanel()
        self.filters.changed.connect(self.run_search)
        self.detail = DetailPane(self.thumbs)
        self.detail.show_result(None)

        split = QSplitter()
        split.addWidget(self.filters)
        split.addWidget(self.grid)
        split.addWidget(self.detail)
        split.setStretchFactor(1, 1)
        split.setSizes([240, 680, 300])

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.setCentralWidget(central)
        self._make_actions()
        self.status = QLabel("starting…")
        self.status.setAccessibleName("Status")
        self.statusBar().addWidget(self.status, 1)
        self.setTabOrder(self.query, self.sort)
        self.setTabOrder(self.sort, self.limit)
        self.setTabOrder(self.limit, self.go)
        self.setTabOrder(self.go, self.grid)
        self.query.setFocus()

        backend.results.connect(self._on_results)
        self.status_text.connect(self.set_status)
        backend.ready.connect(lambda: self.set_status("Ready — type a description and press Enter"))
        backend.failed.connect(lambda msg: self.set_status(f"Index unavailable: {msg}"))
        self._update_actions()

    # -- actions ---------------------------------------------------------------------------------------
    def _make_actions(self) -> None:
        bar = QToolBar("Actions")
        bar.setObjectName("actions")
        self.addToolBar(bar)

        def act(text: str, slot: Any, shortcut: Any = None) -> QAction:
            a = QAction(text, self)
            a.triggered.connect(slot)
            if shortcut is not None:
                a.setShortcut(shortcut)
            bar.addAction(a)
            self.grid.addAction(a)
            return a

        self.act_open = act("Open", self.open_selected)
        self.act_reveal = act("Reveal in folder", self.reveal_selected, QKeySequence("Ctrl+R"))
        self.act_similar = act("Find similar", self.find_similar, QKeySequence("Ctrl+L"))
        self.act_copy = act("Copy path", self.copy_path, QKeySequence("Ctrl+Shift+C"))
        bar.addSeparator()
        self.act_lr = act("Show in Lightroom", self.show_in_lightroom)
        self.act_keywords = act("Apply keywords…", self.apply_keywords)
        self.act_collection = act("Send to collection…", self.send_to_collection)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def selected(self) -> list[Any]:
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [self.model.result(r) for r in rows]

    def _update_actions(self) -> None:
        n = len(self.selected())
        for a in (self.act_open, self.act_reveal, self.act_copy):
            a.setEnabled(n == 1)
        self.act_similar.setEnabled(n >= 1)
        connected = self.backend.lightroom_connected()
        reason = "" if connected else (self.backend.service_problem or "Lightroom is not connected")
        for a, tip in (
            (self.act_lr, "Select the photo in Lightroom Classic"),
            (self.act_keywords, "Add keywords to the selected photos in Lightroom"),
            (self.act_collection, "Put the selected photos in a Lightroom collection"),
        ):
            a.setEnabled(connected and n >= 1)
            a.setToolTip(tip if connected else f"{tip} — unavailable: {reason}")

    def _selection_changed(self, *_: Any) -> None:
        sel = self.selected()
        current = self.grid.currentIndex()
        r = (
            current.data(ResultRole)
            if current.isValid() and self.grid.selectionModel().isSelected(current)
            else None
        )
        self.detail.show_result(r or (sel[0] if sel else None), len(sel))
        self._update_actions()

    def open_selected(self) -> None:
        for r in self.selected()[:1]:
            QDesktopServices.openUrl(QUrl.fromLocalFile(r.path))

    def reveal_selected(self) -> None:
        for r in self.selected()[:1]:
            reveal(r.path)

    def copy_path(self) -> None:
        sel = self.selected()
        if sel:
            QGuiApplication.clipboard().setText("\n".join(r.path for r in sel))

    def find_similar(self) -> None:
        sel = self.selected()
        if sel:
            self.search_like([r.path for r in sel])

    def show_in_lightroom(self) -> None:
        sel = self.selected()
        if sel:
            self._service_call("show_collection", "Pixel Detective: shown", [r.path for r in sel])

    def apply_keywords(self) -> None:
        sel = self.selected()
        if not sel:
            return
        text, ok = QInputDialog.getText(self, "Apply keywords", "Keywords (comma-separated):")
        kws = [k.strip() for k in text.split(",") if k.strip()] if ok else []
        if kws:
            self._service_call("push_apply", [{"path": r.path, "keywords": kws} for r in sel])

    def send_to_collection(self) -> None:
        sel = self.selected()
        if not sel:
            return
        name, ok = QInputDialog.getText(
            self, "Send to collection", "Collection name:", text="Pixel Detective"
        )
        if ok and name.strip():
            self._service_call("show_collection", name.strip(), [r.path for r in sel])

    def _service_call(self, method: str, *args: Any) -> None:
        """Lightroom pushes wait for the plug-in (seconds, up to its timeout): never on the UI thread."""
        svc = self.backend.service
        if svc is None:
            self.set_status(self.backend.service_problem or "Lightroom bridge unavailable")
            return

        def run() -> None:
            try:
                res = getattr(svc, method)(*args)
                brief = ", ".join(
                    f"{k} {v if not isinstance(v, list) else len(v)}" for k, v in dict(res).items()
                )
                self.status_text.emit(f"Lightroom: {brief}")
            except Exception as e:  # NotConnected, timeouts, plug-in errors: reported, never raised
                self.status_text.emit(f"Lightroom: {e}")

        self.set_status("Sending to Lightroom…")
        threading.Thread(target=run, name="pd-desktop-lightroom", daemon=True).start()

    # -- searching -------------------------------------------------------------------------------------
    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def where(self) -> str:
        return self.filters.expression()

    def run_search(self) -> None:
        text = self.query.text().strip()
        if self._like and text.startswith("like: "):
            self.search_like(self._like)
            return
        self._like = []
        if not text:
            self.set_status("Type a description, or drop a photo on the search field")
            return
        self._start(text=text)

    def search_like(self, paths: list[str]) -> None:
        self._like = list(paths)
        names = ", ".join(os.path.basename(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        self.query.setText(f"like: {names}")
        self._start(like=paths)

    def _start(self, **kw: Any) -> None:
        self._started = time.perf_counter()
        self._pending_gen = self.backend.search(where=self.where(), limit=self.limit.value(), **kw)
        self.set_status("Searching…")

    def _on_results(self, gen: int, hits: list[Any], error: str) -> None:
        if gen != self._pending_gen or gen != self.backend.generation:
            return  # an older query: only the latest one is shown
        if error:
            self.set_status(f"Search failed: {error}")
            return
        self.thumbs.clear_queue()
        self.model.set_results(hits)
        ms = (time.perf_counter() - self._started) * 1000
        self.set_status(f"{len(hits)} photos · {ms:.0f} ms")
        if hits:
            first = self.model.index(0)
            self.grid.selectionModel().setCurrentIndex(
                first, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        else:
            self.detail.show_result(None)
        self.results_shown.emit(len(hits))

    # -- window-level drops ----------------------------------------------------------------------------
    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if image_paths(e.mimeData()):
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:
        paths = image_paths(e.mimeData())
        if paths:
            e.acceptProposedAction()
            self.search_like(paths)

    def present(self) -> None:
        """Show, raise and focus (a second launch, the tray's Search…)."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        self.query.setFocus()
        self.query.selectAll()
