"""The People view: every person the faces stage found (faces grouped by `pixel-detective people`), as a tile
with a face crop, the name or "Unnamed person N" and how many faces and photos; Name… (F2), Merge selected,
Show photos (Enter: a `person='NAME'` search in the search window), and the selected person's photos listed.

Reads go through `LedgerPeopleSource` (short read-only SQLite connections to the data dir's ledger, like the
culling view), so the engine process that owns the index keeps running. Writes go through the owner
(`EngineHost.people`: the CLI's own `bridge.search.people` update / name / merge), because a name must reach
the vector store's payloads that `--where person=` filters on, and only the owner has the store open. They
run off the UI thread; the view refreshes when they are done.

Face crops are cut from the photo (the `faces` analysis keeps each face's box as fractions of the oriented
bitmap), cached under data_dir/faces/ and loaded off the UI thread, like the thumbnails.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QRectF, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from bridge.files.thumbs import thumbs_dir
from bridge.settings import Settings
from desktop.search.empty_state import EmptyState
from desktop.thumbnails import ImageCache, ThumbnailCache

log = logging.getLogger(__name__)

CROP_SIZE = 128  # face tiles on disk and on screen
FACES_LOOKED_AT = 50  # a person's faces considered for their tile
CROP_MARGIN = 1.7  # the square crop's side, in face-box sides: forehead, chin and a little hair
ID_ROLE = Qt.ItemDataRole.UserRole + 1
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
FP_ROLE = Qt.ItemDataRole.UserRole + 3
PHOTO_SIZE = 96  # the selected person's photos
SETTING_HELP = (
    "Turn it on with faces = true in settings.toml (or PIXEL_DETECTIVE_FACES=true) and restart Pixel "
    "Detective: the next indexing run looks for faces in your photos."
)


# -- reading ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FaceRef:
    """One face to show: its content, its index in that content's `faces` result, and where to cut it."""

    fingerprint: str
    index: int
    box: tuple[float, float, float, float]  # fractions of the oriented photo's width and height
    path: str


@dataclass(frozen=True, slots=True)
class PersonTile:
    id: int
    name: str | None
    faces: int
    photos: int
    face: FaceRef | None

    @property
    def title(self) -> str:
        return self.name or f"Unnamed person {self.id}"


@dataclass(frozen=True, slots=True)
class PeopleListing:
    """What the ledger holds: `faces` analysed contents and faces, and the people (most faces first)."""

    indexed: bool  # a ledger exists
    analysed: int  # contents whose faces were looked for
    faces: int  # faces found in them
    people: list[PersonTile]


class PeopleSource(Protocol):
    def listing(self) -> PeopleListing: ...

    def photos_of(self, pid: int) -> list[tuple[str, str]]: ...  # (path, fingerprint), by path


class LedgerPeopleSource:
    """The people tables of one ledger file, opened read-only per call (the engine process owns the index)."""

    def __init__(self, ledger_path: Path) -> None:
        self.ledger_path = Path(ledger_path)

    def _open(self) -> Any:
        from bridge.state.ledger import Ledger, LedgerError

        try:
            return Ledger(self.ledger_path, readonly=True)
        except LedgerError:
            return None

    def listing(self) -> PeopleListing:
        from bridge.records import Stage
        from bridge.state.people import People

        led = self._open()
        if led is None:
            return PeopleListing(False, 0, 0, [])
        try:
            conn = led.db.conn
            analysed, faces = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(json_array_length(data, '$.faces')), 0) FROM analyses "
                "WHERE kind = ? AND fingerprint IN (SELECT fingerprint FROM files)",
                (str(Stage.FACES),),
            ).fetchone()
            people = People(led)
            rows = [p for p in people.people() if p.faces > 0]
            # a tile's face is picked among a person's first faces: a big library's people stay quick to list
            refs = {p.id: people.faces_of(p.id)[:FACES_LOOKED_AT] for p in rows}
            fps = {fp for of in refs.values() for fp, _ in of}
            found = {
                fp: kinds.get(str(Stage.FACES)) or {}
                for fp, kinds in led.analyses_for(fps, [Stage.FACES]).items()
            }
            paths = led.paths_for(fps)
            tiles = [
                PersonTile(p.id, p.name, p.faces, p.photos, _best_face(refs[p.id], found, paths))
                for p in rows
            ]
            return PeopleListing(True, int(analysed), int(faces), tiles)
        finally:
            led.close()

    def photos_of(self, pid: int) -> list[tuple[str, str]]:
        from bridge.state.people import People

        led = self._open()
        if led is None:
            return []
        try:
            fps = {fp for fp, _ in People(led).faces_of(pid)}
            return sorted((p, fp) for fp, ps in led.paths_for(fps).items() for p in ps)
        finally:
            led.close()


def _best_face(
    refs: Sequence[tuple[str, int]], found: dict[str, dict[str, Any]], paths: dict[str, list[str]]
) -> FaceRef | None:
    """The face that shows the person best: the sharpest, then the largest (a face tile is small)."""
    best: tuple[tuple[float, float], FaceRef] | None = None
    for fp, i in refs:
        faces = found.get(fp, {}).get("faces") or []
        if i >= len(faces) or not paths.get(fp):
            continue
        box = tuple(float(v) for v in faces[i].get("box") or ())
        if len(box) != 4:
            continue
        area = (box[2] - box[0]) * (box[3] - box[1])
        key = (round(float(faces[i].get("sharpness") or 0.0), 1), area)
        if best is None or key > best[0]:
            best = (key, FaceRef(fp, i, (box[0], box[1], box[2], box[3]), paths[fp][0]))
    return None if best is None else best[1]


# -- face crops ------------------------------------------------------------------------------------------
def crop_path(cache_dir: Path, face: FaceRef) -> Path:
    """Keyed by content, face and box: faces analysed again (another detector) get new crops."""
    box = hashlib.sha1(repr(face.box).encode()).hexdigest()[:8]
    safe = "".join(c for c in f"{face.fingerprint}-{face.index}-{box}" if c.isalnum() or c in "-_")
    return cache_dir / safe[:2] / f"{safe}.jpg"


def make_face_crop(face: FaceRef, dest: Path, size: int = CROP_SIZE) -> None:
    """Cut the face out of its photo (decoded by the indexer's decoder: orientation applied, as when the
    faces were found), square, with some margin, and write it as a small JPEG. Raises DecodeError/OSError."""
    from PIL import Image

    from bridge.files.thumbs import write_thumbnail
    from bridge.indexing.decode import decode_image

    x0, y0, x1, y1 = face.box
    # decode big enough that the face covers about `size` px (never more than needed: a 24 MP file is slow)
    need = int(size / max(0.05, min(x1 - x0, y1 - y0)) / CROP_MARGIN)
    pixels = decode_image(face.path, target=max(256, min(1536, need))).pixels
    h, w = pixels.shape[:2]
    cx, cy = (x0 + x1) / 2 * w, (y0 + y1) / 2 * h
    side = min(max((x1 - x0) * w, (y1 - y0) * h) * CROP_MARGIN, w, h)
    left = min(max(0.0, cx - side / 2), w - side)
    top = min(max(0.0, cy - side / 2), h - side)
    img = Image.fromarray(pixels[int(top) : int(top + side), int(left) : int(left + side)])
    write_thumbnail(img.resize((size, size), Image.Resampling.LANCZOS), dest)


def _crop_image(face: FaceRef, dest: Path) -> QImage:
    make_face_crop(face, dest)
    return QImage(str(dest))


class FaceCrops(ImageCache):
    """Face crops on disk (made on first use) and in memory; `ready(key)` when one arrives (key: the crop's
    path)."""

    def __init__(self, cache_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(threads=2, parent=parent)
        self.cache_dir = cache_dir

    def get(self, face: FaceRef) -> QPixmap | None:
        dest = crop_path(self.cache_dir, face)
        return self.load(str(dest), dest, partial(_crop_image, face))


def placeholder(size: int = CROP_SIZE) -> QPixmap:
    """A grey head and shoulders while the crop loads (or when the photo cannot be read)."""
    pm = QPixmap(size, size)
    pm.fill(QColor("#333333"))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#555555"))
    p.drawEllipse(QRectF(size * 0.32, size * 0.16, size * 0.36, size * 0.4))
    p.drawEllipse(QRectF(size * 0.14, size * 0.62, size * 0.72, size * 0.6))
    p.end()
    return pm


# -- writing (through the owner) -------------------------------------------------------------------------
class PeopleWriter(Protocol):
    """`EngineHost.people` (in-process or in the engine process): update / name / merge."""

    def people(self, action: str, *args: Any) -> dict[str, Any]: ...


class _Done(QObject):
    done = Signal(str, object, str)  # action, result, problem (a sentence for the user; "" when it worked)


class _Act(QRunnable):
    def __init__(self, sig: _Done, writer: PeopleWriter, action: str, args: tuple[Any, ...]) -> None:
        super().__init__()
        self.sig, self.writer, self.action, self.args = sig, writer, action, args

    def run(self) -> None:
        try:
            result: Any = {**self.writer.people(self.action, *self.args), "args": self.args}
            problem = ""
        except Exception as e:  # the engine's own words stay in the log; the user gets a sentence
            log.warning("people %s failed", self.action, exc_info=True)
            result, problem = None, _problem_words(self.action, e)
        self.sig.done.emit(self.action, result, problem)


def _problem_words(action: str, e: Exception) -> str:
    text = str(e)
    if "PeopleError" in type(e).__name__ or "PeopleError" in text:
        return "That person is no longer in the index (merged or removed meanwhile); the list is refreshed."
    what = {"update": "Grouping new faces", "name": "Naming", "merge": "Merging",
            "from_catalog": "Naming from the catalog"}.get(action, "That")  # fmt: skip
    return f"{what} did not work: the engine did not answer. The log (Open log folder in the menu) has the details."


# -- the window ------------------------------------------------------------------------------------------
class PeopleView(QDialog):
    """`show_photos(name)` asks the search window for `person='NAME'` (the tray app connects it)."""

    show_photos = Signal(str)
    changed = Signal()  # the list was refreshed (after opening, a name, a merge): tests and the screenshot

    def __init__(
        self,
        source: PeopleSource,
        writer: PeopleWriter | None,
        *,
        settings: Settings,
        writer_problem: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.source, self.writer, self.settings = source, writer, settings
        self.writer_problem = (
            writer_problem or "The engine is not running yet; names can be given once it is."
        )
        self.setWindowTitle("People — Pixel Detective")
        self.resize(980, 640)
        self.crops = FaceCrops(settings.data_dir / "faces", self)
        self.crops.ready.connect(self._crop_arrived)
        self._placeholder = placeholder()
        self._blank = QPixmap(PHOTO_SIZE, PHOTO_SIZE)
        self._blank.fill(QColor("#333333"))
        self._tiles: dict[int, PersonTile] = {}
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one write at a time, in the order asked
        self._sig = _Done(self)
        self._sig.done.connect(self._action_done)
        self.busy = 0

        self.hint = QLabel("F2 name · Enter show photos · select several people and Merge when they are one")
        self.hint.setObjectName("dim")
        self.empty = EmptyState()
        self.empty.setAccessibleName("No people")
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(CROP_SIZE, CROP_SIZE))
        self.grid.setGridSize(QSize(CROP_SIZE + 44, CROP_SIZE + 58))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setWordWrap(True)
        self.grid.setUniformItemSizes(True)
        self.grid.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.grid.setAccessibleName("People")
        self.grid.setEditTriggers(QListWidget.EditTrigger.NoEditTriggers)  # F2 opens the name dialog
        self.grid.itemSelectionChanged.connect(self._selection_changed)
        self.grid.itemActivated.connect(lambda _item: self.show_selected_photos())

        self.who = QLabel()
        self.who.setObjectName("heading")
        self.who.setWordWrap(True)
        self.who.setAccessibleName("Selected person")
        self.counts = QLabel()
        self.counts.setObjectName("dim")
        self.counts.setWordWrap(True)
        self.photos = QListWidget()
        self.photos.setViewMode(QListView.ViewMode.IconMode)
        self.photos.setIconSize(QSize(PHOTO_SIZE, PHOTO_SIZE))
        self.photos.setGridSize(QSize(PHOTO_SIZE + 24, PHOTO_SIZE + 34))
        self.photos.setResizeMode(QListView.ResizeMode.Adjust)
        self.photos.setMovement(QListView.Movement.Static)
        self.photos.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.photos.setAccessibleName("Photos of the selected person")
        self.thumbs = ThumbnailCache(thumbs_dir(settings.data_dir), parent=self)  # the search window's cache
        self.thumbs.ready.connect(self._thumb_arrived)
        self.photos.itemActivated.connect(self._reveal)
        self.name_button = self._button("Name…", "Give the selected person a name (F2)", self.ask_name)
        self.merge_button = self._button(
            "Merge selected", "The selected people are one person: keep one, move the others' faces to it",
            self.merge_selected,
        )  # fmt: skip
        self.show_button = self._button(
            "Show photos",
            "Search this person's photos in the search window (Enter)",
            self.show_selected_photos,
        )
        self.catalog_button = self._button(
            "Names from Lightroom…",
            "Name people after the person keywords of a Lightroom catalog (the names given in its People view)",
            self.ask_catalog,
        )
        self.catalog_dialog: QFileDialog | None = None
        side = QWidget()
        side_lay = QVBoxLayout(side)
        side_lay.addWidget(self.who)
        side_lay.addWidget(self.counts)
        row = QHBoxLayout()
        for b in (self.name_button, self.merge_button, self.show_button):
            row.addWidget(b)
        side_lay.addLayout(row)
        side_lay.addWidget(QLabel("Photos (double-click shows the file)"))
        side_lay.addWidget(self.photos, 1)
        self.split = QSplitter()
        self.split.addWidget(self.grid)
        self.split.addWidget(side)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Status")
        top = QHBoxLayout()
        top.addWidget(self.hint, 1)
        top.addWidget(self.catalog_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.empty, 1)
        lay.addWidget(self.split, 1)
        lay.addWidget(self.status)
        self.name_dialog: QInputDialog | None = None
        self.refresh()
        if self.writer is not None:
            # faces found since the last grouping join their people, as `people list` does first
            self._run("update")
        else:
            self.status.setText(self.writer_problem)

    def _button(self, text: str, tip: str, slot: Callable[[], None]) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.setProperty("tip", tip)
        b.setAccessibleName(text.rstrip("…"))
        b.setAutoDefault(False)  # Enter shows photos, it never presses a button
        b.clicked.connect(slot)
        return b

    # -- listing -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        keep = set(self.selected_ids())
        try:
            listing = self.source.listing()
        except Exception:  # a damaged or newer ledger: said in words, the details in the log
            log.warning("people listing failed", exc_info=True)
            listing = None
        self.grid.clear()
        self._tiles = {}
        if listing is None or not listing.people:
            self._show_empty(listing)
            self.changed.emit()
            return
        self.empty.hide()
        self.split.show()
        for tile in listing.people:
            self._tiles[tile.id] = tile
            item = QListWidgetItem(self._icon(tile), f"{tile.title}\n{_counts(tile)}")
            item.setData(ID_ROLE, tile.id)
            item.setToolTip(f"{tile.title}: {_counts(tile)}")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{tile.title}, {_counts(tile)}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.grid.addItem(item)
            if tile.id in keep:
                item.setSelected(True)
        if not self.grid.selectedItems():
            self.grid.setCurrentRow(0)
        self._selection_changed()
        self.changed.emit()

    def _show_empty(self, listing: PeopleListing | None) -> None:
        from bridge.analyses import faces

        self.split.hide()
        self.empty.show()
        turned_on = self.settings.faces
        if listing is None:
            self.empty.show_state(
                "error", "The people could not be read", "The index could not be read.",
                "`pixel-detective doctor` says what to do; the log (Open log folder in the menu) has the details.",
            )  # fmt: skip
        elif not faces.available():
            self.empty.show_state(
                "not_installed",
                "Faces are not installed",
                "Finding people needs the faces extra (dlib and its face models), which is not installed.",
                f"Install it with {faces.INSTALL_HINT} (or scripts/setup.sh --faces), then restart Pixel Detective."
                + ("" if turned_on else " " + SETTING_HELP),
            )
        elif listing.faces == 0 and not turned_on and listing.analysed == 0:
            self.empty.show_state("faces_off", "Face detection is off", "No photo has been checked for faces yet.",
                                  SETTING_HELP)  # fmt: skip
        elif listing.faces == 0:
            self.empty.show_state(
                "no_faces",
                "No faces found yet",
                f"{listing.analysed} photo(s) checked for faces, none found." if listing.analysed else
                "No photo has been checked for faces yet.",
                "Faces are looked for while indexing: add folders (Add folder… in the menu) or wait for the "
                "current run to finish.",
            )  # fmt: skip
        else:
            self.empty.show_state(
                "no_people",
                "No people yet",
                f"{listing.faces} face(s) found, none seen in two photos yet.",
                "A person appears here once their face is in at least two photos.",
            )

    def _icon(self, tile: PersonTile) -> QIcon:
        pm = self.crops.get(tile.face) if tile.face is not None else None
        return QIcon(pm if pm is not None else self._placeholder)

    def _crop_arrived(self, key: str) -> None:
        for i in range(self.grid.count()):
            item = self.grid.item(i)
            tile = self._tiles.get(int(item.data(ID_ROLE)))
            if (
                tile is not None
                and tile.face is not None
                and str(crop_path(self.crops.cache_dir, tile.face)) == key
            ):
                item.setIcon(self._icon(tile))

    def selected_ids(self) -> list[int]:
        """The selected people, most faces first (the grid's order)."""
        items = sorted(self.grid.selectedItems(), key=self.grid.row)
        return [int(item.data(ID_ROLE)) for item in items]

    def tile(self, pid: int) -> PersonTile | None:
        return self._tiles.get(pid)

    def titles(self) -> list[str]:
        return [t.title for t in self._tiles.values()]

    def _selection_changed(self) -> None:
        ids = self.selected_ids()
        current = self._tiles.get(ids[0]) if len(ids) == 1 else None
        self.photos.clear()
        if current is not None:
            self.who.setText(current.title)
            self.counts.setText(_counts(current) + ("" if current.name else f" · person {current.id}"))
            for path, fp in self.source.photos_of(current.id):
                pm = self.thumbs.get(fp, path)
                item = QListWidgetItem(QIcon(pm if pm is not None else self._blank), os.path.basename(path))
                item.setToolTip(path)
                item.setData(PATH_ROLE, path)
                item.setData(FP_ROLE, fp)
                self.photos.addItem(item)
        elif ids:
            self.who.setText(f"{len(ids)} people selected")
            self.counts.setText("Merge them when they are one person.")
        else:
            self.who.setText("")
            self.counts.setText("")
        can_write = self.writer is not None and not self.busy
        self.catalog_button.setEnabled(can_write)
        for b in (self.name_button, self.merge_button, self.catalog_button):
            b.setToolTip(str(b.property("tip")) if self.writer is not None else self.writer_problem)
        self.name_button.setEnabled(can_write and current is not None)
        self.merge_button.setEnabled(can_write and len(ids) >= 2)
        self.show_button.setEnabled(current is not None)

    def _thumb_arrived(self, fp: str) -> None:
        for i in range(self.photos.count()):
            item = self.photos.item(i)
            if item.data(FP_ROLE) == fp:
                pm = self.thumbs.get(fp, str(item.data(PATH_ROLE)))
                if pm is not None:
                    item.setIcon(QIcon(pm))

    def _reveal(self, item: QListWidgetItem) -> None:
        from desktop.reveal import reveal

        with contextlib.suppress(OSError):
            reveal(str(item.data(PATH_ROLE)))

    # -- actions -------------------------------------------------------------------------------------
    def ask_name(self) -> None:
        """F2 / Name…: a small dialog, the current name filled in (not modal to the app: tests drive it)."""
        ids = self.selected_ids()
        if len(ids) != 1 or self.writer is None:
            return
        tile = self._tiles[ids[0]]
        dlg = QInputDialog(self)
        dlg.setWindowTitle("Name this person")
        dlg.setLabelText(f"Name for {tile.title} ({_counts(tile)}):")
        dlg.setTextValue(tile.name or "")
        dlg.setOkButtonText("Name")
        dlg.textValueSelected.connect(lambda text, pid=tile.id: self.rename(pid, text))
        self.name_dialog = dlg
        dlg.open()

    def rename(self, pid: int, name: str) -> None:
        name = " ".join(name.split())
        if not name:
            self.status.setText("A name cannot be empty; the person keeps their name.")
            return
        if self.writer is None:
            self.status.setText(self.writer_problem)
            return
        self.status.setText(f"Naming {name}…")
        self._run("name", pid, name)

    def merge_selected(self) -> None:
        """Keep the named person with the most faces (else the one with the most faces); the others' faces
        move to it. Names the others had are dropped only when the kept one has a name (said in the status)."""
        ids = self.selected_ids()
        if len(ids) < 2 or self.writer is None:
            return
        tiles = [self._tiles[i] for i in ids]
        keep = next((t for t in tiles if t.name), tiles[0])
        others = [t.id for t in tiles if t.id != keep.id]
        dropped = sorted({t.name for t in tiles if t.name and keep.name and t.name != keep.name})
        self.status.setText(
            f"Merging {len(ids)} people into {keep.title}…"
            + (f" (the name(s) {', '.join(dropped)} are not kept)" if dropped else "")
        )
        self._run("merge", keep.id, others)

    def ask_catalog(self) -> None:
        """Pick a catalog (the first one the app indexes, preselected); its person keywords name people."""
        from desktop import settings_file

        try:
            configured = [str(c) for c in settings_file.desktop_section().get("catalogs", [])]
        except Exception:  # an unreadable settings file: start in the home folder
            configured = []
        dlg = QFileDialog(self, "Lightroom catalog with person keywords", configured[0] if configured else
                          str(Path.home()), "Lightroom catalogs (*.lrcat)")  # fmt: skip
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.fileSelected.connect(self.names_from_catalog)
        self.catalog_dialog = dlg
        dlg.open()

    def names_from_catalog(self, path: str) -> None:
        """`pixel-detective people from-catalog`: unnamed people named after the keywords (in the engine)."""
        if not path or self.writer is None:
            return
        self.status.setText(f"Reading the person keywords of {os.path.basename(path)}…")
        self._run("from_catalog", path)

    def show_selected_photos(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        tile = self._tiles[ids[0]]
        if tile.name:
            self.show_photos.emit(tile.name)
            self.status.setText(f"Searching person={shlex.quote(tile.name)} in the search window")
        else:
            self.photos.setFocus()
            self.status.setText(
                "Only named people can be searched; this person's photos are listed on the right. Name them "
                "with F2 to search their photos."
            )

    def _run(self, action: str, *args: Any) -> None:
        if self.writer is None:
            return
        self.busy += 1
        self._selection_changed()
        self._pool.start(_Act(self._sig, self.writer, action, args))

    def _action_done(self, action: str, result: Any, problem: str) -> None:
        self.busy -= 1
        if problem:
            self.status.setText(problem)
        elif action == "name":
            name = str(result["args"][1])
            self.status.setText(f"Named {name}: search finds their photos with person={shlex.quote(name)}.")
        elif action == "from_catalog":
            self.status.setText(_catalog_words(result))
        elif action == "merge":
            self.status.setText(f"Merged: {result.get('faces', 0)} face(s) in one person now.")
        elif action == "update" and result and result.get("new_people"):
            self.status.setText(f"{result['new_people']} new people found among the new faces.")
        self.refresh()

    def wait(self, msecs: int = 60_000) -> bool:
        """Every queued write and crop done (tests, the screenshot)."""
        return self._pool.waitForDone(msecs) and self.crops.wait(msecs) and self.thumbs.wait(msecs)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        key = Qt.Key(event.key())
        if key == Qt.Key.Key_F2:
            self.ask_name()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            pass  # the lists act on Enter themselves (`itemActivated`); a dialog's Enter would close the view
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.status.setText(
                "Nothing is deleted here: name people, or merge the ones that are one person."
            )
        else:
            super().keyPressEvent(event)
            return
        event.accept()


def _catalog_words(result: dict[str, Any]) -> str:
    if result.get("problem"):
        return f"The catalog could not be read: {result['problem']}"
    named = ", ".join(str(n) for _, n in result.get("named") or [])
    text = f"Named from the catalog: {named}." if named else "No person was named from the catalog."
    notes = [str(n) for n in result.get("notes") or []]
    return " ".join([text, *notes[:4]]) + (f" (and {len(notes) - 4} more notes)" if len(notes) > 4 else "")


def _counts(tile: PersonTile) -> str:
    faces = f"{tile.faces} face" + ("" if tile.faces == 1 else "s")
    photos = f"{tile.photos} photo" + ("" if tile.photos == 1 else "s")
    return f"{faces} · {photos}"


def search_person(window: Any, name: str) -> None:
    """The search window with only `person='NAME'` as its filter (no text, the other filters cleared)."""
    window.filters.clear()
    window.filters.extra.setText(f"person={shlex.quote(name)}")
    window.filters.expression()
    window.query.clear()
    window.present()
    window.run_search()
