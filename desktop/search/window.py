"""The search window: wires the query field, the filter panel, the results area and the detail pane, runs
searches (only the latest query's results are shown) and the actions on the selection.

The results area is a stack of pages (`self.views`): the thumbnail grid, the loupe (one photo large) and
the empty state (no photos yet, no results, a filter not understood, an engine error — each with its
remedy). A search shows how many photos really match (desktop/search/relevance.py), not just the
`limit` nearest ones.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, Qt, QUrl, Signal
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
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QMainWindow,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from bridge.files.thumbs import thumbs_dir
from desktop.backend import Backend
from desktop.results_model import ICON, MAX_ICON, MIN_ICON, ResultRole, ResultsModel, cell_for, make_delegate
from desktop.reveal import reveal
from desktop.search.detail_pane import DetailPane
from desktop.search.drops import image_paths
from desktop.search.empty_state import EmptyState
from desktop.search.filter_panel import FilterPanel
from desktop.search.loupe import Loupe
from desktop.search.query_field import QueryField
from desktop.search.relevance import matches
from desktop.thumbnails import ThumbnailCache

GRID, LOUPE, EMPTY = 0, 1, 2  # pages of the results area


class SearchWindow(QMainWindow):
    results_shown = Signal(int)  # number of results now in the grid (tests, status)
    status_text = Signal(str)  # from worker threads
    add_folder_requested = Signal()  # the empty state's "Add folder…" (the app owns the library)
    setup_requested = Signal()  # the empty states' "Set up…" (welcome window: folders, model weights)

    def __init__(self, backend: Backend, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        self.setWindowTitle("Pixel Detective")
        self.resize(1200, 760)
        self.setAcceptDrops(True)
        cache = thumbs_dir(backend.settings.data_dir)
        self.thumbs = ThumbnailCache(cache, host=lambda: backend.host, parent=self)
        self.model = ResultsModel(self.thumbs, self)
        self._pending_gen = 0
        self._started = 0.0
        self._like: list[str] = []
        self._pending_query: str | None = None  # a query given before the engine was ready
        self._last_text: str | None = None
        self._nearest: list[Any] = []  # the engine's answer before the relevance cutoff

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
        self.only_matches = QCheckBox("Matches only")
        self.only_matches.setChecked(True)
        self.only_matches.setAccessibleName("Show only the photos that match")
        self.only_matches.setToolTip(
            "Show only the photos that match the query (close to the best hit, or with its words), "
            "not every one of the nearest photos looked at"
        )
        self.only_matches.toggled.connect(lambda _: self._show_results())
        top = QHBoxLayout()
        top.addWidget(self.query, 1)
        top.addWidget(self.only_matches)
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
        self.grid.setGridSize(cell_for(ICON))
        self.grid.setSpacing(0)
        self.grid.setWrapping(True)
        self.grid.setMouseTracking(True)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.grid.setAccessibleName("Results")
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.grid.activated.connect(self.open_loupe)  # Enter or double-click
        self.grid.installEventFilter(self)  # Space opens the loupe too
        self.loupe = Loupe(self.thumbs)
        self.loupe.closed.connect(self.close_loupe)
        self.loupe.step.connect(self.loupe_step)
        self.empty = EmptyState()
        self.views = QStackedWidget()
        self.views.addWidget(self.grid)  # GRID
        self.views.addWidget(self.loupe)  # LOUPE
        self.views.addWidget(self.empty)  # EMPTY

        self.filters = FilterPanel()
        self.filters.changed.connect(self.run_search)
        self.detail = DetailPane(self.thumbs)
        self.detail.show_result(None)

        split = QSplitter()
        split.addWidget(self.filters)
        split.addWidget(self.views)
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
        self.status.setWordWrap(True)  # an error is never clipped to one line
        self.statusBar().addWidget(self.status, 1)
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(MIN_ICON, MAX_ICON)
        self.size_slider.setValue(ICON)
        self.size_slider.setFixedWidth(140)
        self.size_slider.setAccessibleName("Thumbnail size")
        self.size_slider.setToolTip("Thumbnail size")
        self.size_slider.valueChanged.connect(self.set_thumbnail_size)
        self.statusBar().addPermanentWidget(QLabel("Size"))
        self.statusBar().addPermanentWidget(self.size_slider)
        self.setTabOrder(self.query, self.sort)
        self.setTabOrder(self.sort, self.limit)
        self.setTabOrder(self.limit, self.go)
        self.setTabOrder(self.go, self.grid)
        self.query.setFocus()

        backend.results.connect(self._on_results)
        self.status_text.connect(self.set_status)
        backend.ready.connect(self._engine_ready)
        backend.failed.connect(self._engine_failed)
        self._update_actions()
        self.show_empty(
            "starting", "Opening your library…", "", "Searching starts as soon as the index is open."
        )

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

        self.act_loupe = act("Loupe", self.open_loupe)
        self.act_loupe.setToolTip("Show the photo large (Space, Enter or double-click; Esc goes back)")
        self.act_open = act("Open", self.open_selected, QKeySequence("Ctrl+O"))
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
        for a in (self.act_open, self.act_reveal, self.act_copy, self.act_loupe):
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

    # -- thumbnails and loupe ----------------------------------------------------------------------------
    def set_thumbnail_size(self, icon: int) -> None:
        delegate = self.grid.itemDelegate()
        delegate.set_icon_size(icon)  # type: ignore[attr-defined]
        self.grid.setGridSize(cell_for(delegate.icon))  # type: ignore[attr-defined]
        self.grid.doItemsLayout()

    def open_loupe(self, index: QModelIndex | None = None) -> None:
        """Enter, Space or a double-click on a photo: show it large (Left/Right move, Esc goes back)."""
        idx = index if index is not None and index.isValid() else self.grid.currentIndex()
        if not idx.isValid():
            return
        self.views.setCurrentIndex(LOUPE)
        self._loupe_show(idx.row())
        self.loupe.setFocus()

    def _loupe_show(self, row: int) -> None:
        self.grid.setCurrentIndex(self.model.index(row))
        self.loupe.show_result(self.model.result(row), f"{row + 1} of {self.model.rowCount()}")

    def loupe_step(self, delta: int) -> None:
        row = self.grid.currentIndex().row() + delta
        if 0 <= row < self.model.rowCount():
            self._loupe_show(row)

    def close_loupe(self) -> None:
        self.views.setCurrentIndex(GRID)
        self.grid.setFocus()
        self.grid.scrollTo(self.grid.currentIndex())

    def in_loupe(self) -> bool:
        return self.views.currentIndex() == LOUPE

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

    def show_empty(
        self, kind: str, heading: str, body: str = "", remedy: str = "", actions: Any = ()
    ) -> None:
        self.empty.show_state(kind, heading, body, remedy, tuple(actions))
        self.views.setCurrentIndex(EMPTY)

    def where(self) -> str:
        return self.filters.expression()

    def _engine_ready(self) -> None:
        self.set_status("Ready — type a description and press Enter")
        if self._pending_query is not None:
            self.query.setText(self._pending_query)
            self._pending_query = None
            self.run_search()
        elif self.views.currentIndex() == EMPTY and self.empty.kind == "starting":
            self.show_library_state()

    def show_library_state(self) -> None:
        """Before the first search: "no photos yet" with the remedy, or an invitation to search."""
        host = self.backend.host
        try:
            files = int(host.reader().counts().get("files", 0)) if host is not None else 0
        except AttributeError:  # a remote engine (no local ledger to count): invite a search of it
            files = -1
        except Exception:
            files = 0
        busy = host is not None and any(j.status in ("queued", "running") for j in host.jobs())
        if files == 0 and not busy:
            self.show_empty(
                "no_photos",
                "No photos yet",
                "Pixel Detective has not indexed any photos on this computer yet.",
                "Add the folders your photos are in (or a Lightroom catalog): they are indexed in the "
                "background and searchable as they arrive.",
                (("Add folder…", self.add_folder_requested.emit), ("Set up…", self.setup_requested.emit)),
            )
        else:
            what = f"{files} photos indexed" if files > 0 else "Indexing your photos"
            if files < 0:
                what = f"Photos of the {self.backend.engine_name}"
            self.show_empty(
                "ready",
                "Search your photos",
                f"{what}. Describe what you are looking for — “dog on a beach at sunset” — or drop a "
                "photo on the search field to find similar ones.",
                "Filters on the left narrow the results by date, camera, rating, label, keyword or folder.",
            )

    def _engine_failed(self, msg: str) -> None:
        self.set_status("The index could not be opened")
        self.show_empty(
            "error",
            "The index could not be opened",
            msg,
            "If another Pixel Detective (the tray app or `pixel-detective serve`) is running, use that one "
            "or quit it. If the index is damaged, `pixel-detective doctor` says what to do. The log "
            "(Open log folder in the menu) has the details.",
        )

    def run_search(self) -> None:
        text = self.query.text().strip()
        if self._like and text.startswith("like: "):
            self.search_like(self._like)
            return
        self._like = []
        if self.backend.host is None and text:
            self._pending_query = text  # run once the engine is ready (a query given on the command line)
            self.set_status(f"“{text}” will be searched as soon as the index is open…")
            return
        if not text and not self.where():
            self.set_status("Type a description, drop a photo on the search field, or set a filter")
            return
        self._start(text=text)  # no text: the filters alone, on the photos' metadata (no model needed)

    def search_like(self, paths: list[str]) -> None:
        self._like = list(paths)
        names = ", ".join(os.path.basename(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        self.query.setText(f"like: {names}")
        self._start(like=paths)

    def _bad_filter(self, where: str) -> str | None:
        """The filter's error in words, checked before asking the engine (None when it parses)."""
        if not where.strip():
            return None
        from bridge.search.where import parse_where

        try:
            parse_where(where)
        except Exception as e:
            return str(e) or "the filter is not understood"
        return None

    def _clear_results(self) -> None:
        self._nearest = []
        self.thumbs.clear_queue()
        self.model.set_results([])
        self.detail.show_result(None)

    def _start(self, **kw: Any) -> None:
        where = self.where()
        problem = self._bad_filter(where)
        if problem:
            self._pending_gen = -1  # any answer still on its way is stale
            self._clear_results()
            self.set_status("Filter not understood")
            self.show_empty(
                "bad_filter",
                "That filter is not understood",
                problem,
                f"The filters make: --where {where}. Correct the field it names, or clear the filters.",
                (("Clear filters", self.clear_filters),),
            )
            self.results_shown.emit(0)
            return
        self._last_text = kw.get("text")
        self._started = time.perf_counter()
        self._pending_gen = self.backend.search(where=where, limit=self.limit.value(), **kw)
        self.set_status("Searching…")

    def clear_filters(self) -> None:
        self.filters.clear()
        self.run_search()

    def _on_results(self, gen: int, hits: list[Any], error: str) -> None:
        if gen != self._pending_gen or gen != self.backend.generation:
            return  # an older query: only the latest one is shown
        if error:
            self._clear_results()  # never leave the previous query's photos under a new error
            self.set_status("Search failed")
            self.show_empty(
                "error",
                "The search could not run",
                error,
                "If it names the model's weights, import them (Set up…); until then the filters alone work: "
                "clear the search text and set a filter. Otherwise the log has the details.",
                (("Set up…", self.setup_requested.emit),),
            )
            self.results_shown.emit(0)
            return
        self._nearest = list(hits)
        self._elapsed_ms = (time.perf_counter() - self._started) * 1000
        self._show_results()

    def match_list(self) -> list[Any]:
        """The photos that match the last search (all of them for a search by example with one photo)."""
        if not self._last_text and not self._like:
            return list(self._nearest)  # filters alone: every photo they return matches
        return matches(self._nearest, self._last_text)

    def _show_results(self) -> None:
        nearest = self._nearest
        found = self.match_list()
        shown = found if self.only_matches.isChecked() else nearest
        self.thumbs.clear_queue()
        self.model.set_results(shown)
        ms = getattr(self, "_elapsed_ms", 0.0)
        if nearest and not self._last_text and not self._like:
            self.set_status(f"{len(found)} photos pass the filters (newest first) · {ms:.0f} ms")
        elif nearest:
            self.set_status(
                f"{len(found)} {'match' if len(found) == 1 else 'matches'} · {len(nearest)} nearest photos "
                f"looked at · {ms:.0f} ms"
            )
        if shown:
            if self.views.currentIndex() != LOUPE:
                self.views.setCurrentIndex(GRID)
            first = self.model.index(0)
            self.grid.selectionModel().setCurrentIndex(
                first, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        else:
            self.detail.show_result(None)
            where = self.where()
            self.set_status("No matches")
            self.show_empty(
                "no_results",
                "No photos match",
                (
                    f"Nothing matches “{self.query.text().strip()}”"
                    if self.query.text().strip()
                    else "No photo"
                )
                + (f" with --where {where}" if where else "")
                + ".",
                "Try other words, or loosen the filters."
                + ("" if nearest or not where else " The filters alone leave no photos."),
                (("Clear filters", self.clear_filters),) if where else (),
            )
        self.results_shown.emit(len(shown))

    def eventFilter(self, obj: Any, event: Any) -> bool:
        if (
            obj is self.grid
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Space
            and not event.modifiers()
        ):
            self.open_loupe()
            return True
        return super().eventFilter(obj, event)

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
