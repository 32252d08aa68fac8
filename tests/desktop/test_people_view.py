"""The People view on real faces: photos of three people from ../shared/data (a few variants each, as in
tests/bridge/search/test_people.py) indexed once with the real faces stage (dlib) and the tiny CLIP model;
the tray app (engine in its child process) opens the view, which groups the faces through the engine, shows
a face crop per person, names one with F2 (then `person='NAME'` finds exactly their photos in the search
window, opened with Enter), merges two, and says what to do where there are no people yet."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from bridge.analyses import faces
from bridge.settings import Settings
from desktop.people_view import (
    CROP_SIZE,
    LedgerPeopleSource,
    PeopleListing,
    PeopleView,
    PersonTile,
    crop_path,
)
from tests.bridge.search.test_people import SOURCES, catalog_for, variants
from tests.model_factory import TINY_MODEL_ID

ROOT = Path(__file__).resolve().parents[2]
SHOT = "desktop-people.png"
UPDATE = os.environ.get("PIXEL_DETECTIVE_UPDATE_SCREENSHOTS") == "1"  # as test_screenshots.py
# Three photos of each person (their own file names in the view): enough for a cluster, quick to index.
PHOTOS = {
    "astro": ("orig", "crop", "dark"),
    "curie": ("orig", "flip", "dark"),
    "dudley": ("orig", "crop", "dark"),
}
NAMES = {"astro": "portrait_astronaut", "curie": "curie_1900s", "dudley": "dudley_leavitt"}

needs_faces = pytest.mark.skipif(not faces.available(), reason="the faces extra (dlib) is not installed")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("people-view") / "Pictures"


@pytest.fixture(scope="module")
def face_index(photos, tiny_models_dir, shared_data) -> Settings:
    """Nine photos of three people and one without a face, indexed once with faces on (not yet grouped)."""
    from bridge.engine import Engine
    from bridge.indexing.decode import decode_image

    folder = photos
    root = folder.parent
    folder.mkdir()
    for who, keep in PHOTOS.items():
        made = variants(decode_image(shared_data / SOURCES[who]).pixels)
        for v in keep:
            name = NAMES[who] + ("" if v == "orig" else f"_{v}")
            Image.fromarray(np.ascontiguousarray(made[v])).save(folder / f"{name}.jpg", quality=92)
    shutil.copy(shared_data / "png/photo_animal_chelsea_cat.png", folder / "cat.png")
    data = root / "pd-data"
    shutil.copytree(tiny_models_dir, data / "models")
    s = Settings(data_dir=data, model=TINY_MODEL_ID, workers=2, batch_size=8, faces=True)
    with Engine.open(s) as engine:
        summary = engine.index([str(folder)])
        assert summary.failed == 0
    return s


@pytest.fixture
def fresh(face_index: Settings, tmp_path: Path) -> Settings:
    """This test's own copy of the indexed data dir (the view writes names and merges into it)."""
    data = tmp_path / "pd-data"
    shutil.copytree(face_index.data_dir, data)
    return face_index.with_overrides(data_dir=data)


def who_is(view: PeopleView, pid: int) -> set[str]:
    return {
        next(w for w, n in NAMES.items() if Path(p).stem.startswith(n)) for p, _ in view.source.photos_of(pid)
    }


def select(view: PeopleView, *pids: int) -> None:
    view.grid.clearSelection()
    for i in range(view.grid.count()):
        item = view.grid.item(i)
        if int(item.data(Qt.ItemDataRole.UserRole + 1)) in pids:
            item.setSelected(True)
            view.grid.setCurrentItem(item)
    view.grid.setFocus()


@needs_faces
@pytest.mark.shared_data
def test_people_found_named_searched_and_merged_from_the_tray_app(
    make_app, fresh, photos, shared_data, qtbot, tmp_path
):
    app = make_app(fresh)
    app.show_people()
    view = app.people_view
    # grouped by the engine when the view opens
    qtbot.waitUntil(lambda: view.busy == 0 and view.grid.count() == 3, timeout=60_000)
    assert view.empty.isHidden() and not view.split.isHidden()
    ids = {next(iter(who_is(view, int(t)))): int(t) for t in view._tiles}
    assert sorted(ids) == ["astro", "curie", "dudley"]  # three people, each with only their own photos
    assert all(len(who_is(view, pid)) == 1 for pid in ids.values())
    assert sorted(view.titles()) == sorted(f"Unnamed person {pid}" for pid in ids.values())
    assert all((view.tile(pid).faces, view.tile(pid).photos) == (3, 3) for pid in ids.values())

    # a face crop per person, cut from its photo and cached on disk
    assert view.wait(60_000)
    qtbot.wait(50)
    for pid in ids.values():
        tile = view.tile(pid)
        assert tile.face is not None
        crop = crop_path(fresh.data_dir / "faces", tile.face)
        assert Image.open(crop).size == (CROP_SIZE, CROP_SIZE)
        pm = view.crops.get(tile.face)
        assert pm is not None and not pm.isNull()
    # the astronaut's crop is her face: skin-toned middle, not the dark background around the photo
    astro_crop = crop_path(fresh.data_dir / "faces", view.tile(ids["astro"]).face)
    mid = np.asarray(Image.open(astro_crop))[48:80, 48:80]
    assert mid.mean() > 90 and mid[..., 0].mean() > mid[..., 2].mean()

    # a Lightroom catalog whose person keyword "Eileen Collins" is on two of her photos names her
    cat = catalog_for(
        shared_data, photos, tmp_path, {63: "portrait_astronaut.jpg", 78: "portrait_astronaut_dark.jpg"}
    )
    assert view.catalog_button.isEnabled()
    view.names_from_catalog(str(cat))
    qtbot.waitUntil(
        lambda: view.busy == 0 and view.tile(ids["astro"]).name == "Eileen Collins", timeout=30_000
    )
    assert view.status.text().startswith("Named from the catalog: Eileen Collins.")

    # Delete removes nothing; F2 names the selected person (through the engine: payloads updated)
    select(view, ids["curie"])
    qtbot.keyClick(view.grid, Qt.Key.Key_Delete)
    assert view.grid.count() == 3 and "Nothing is deleted" in view.status.text()
    qtbot.keyClick(view.grid, Qt.Key.Key_F2)
    assert view.name_dialog is not None and view.name_dialog.isVisible()
    view.name_dialog.setTextValue("  Marie   Curie ")
    view.name_dialog.accept()
    qtbot.waitUntil(lambda: view.busy == 0 and view.tile(ids["curie"]).name == "Marie Curie", timeout=30_000)
    assert "person='Marie Curie'" in view.status.text()

    # Enter: the search window with person='Marie Curie' finds exactly her photos
    win = app.window
    select(view, ids["curie"])
    with qtbot.waitSignal(win.results_shown, timeout=30_000):
        qtbot.keyClick(view.grid, Qt.Key.Key_Return)
    assert win.where() == "person='Marie Curie'"
    assert sorted(Path(r.path).name for r in win.model.results()) == [
        "curie_1900s.jpg", "curie_1900s_dark.jpg", "curie_1900s_flip.jpg"
    ]  # fmt: skip
    assert not view.isHidden()  # Enter did not close the view

    # an empty name changes nothing; an unnamed person's photos are listed instead of searched
    view.rename(ids["curie"], "   ")
    assert "cannot be empty" in view.status.text() and view.busy == 0
    select(view, ids["dudley"])
    view.show_selected_photos()
    assert view.photos.count() == 3 and "Only named people" in view.status.text()
    # a person merged away meanwhile: the engine refuses, the view says it in words
    view.rename(4242, "Nobody")
    qtbot.waitUntil(lambda: view.busy == 0, timeout=30_000)
    assert "no longer in the index" in view.status.text() and "PeopleError" not in view.status.text()

    # the screenshot: two people named, one not, Eileen Collins selected
    select(view, ids["astro"])
    view.status.setText("Named from the catalog: Eileen Collins.")  # what naming her said
    _screenshot(view, qtbot, tmp_path)

    # merge: Marie Curie and the unnamed person become one (the named one is kept)
    select(view, ids["dudley"], ids["curie"])
    assert view.merge_button.isEnabled()
    qtbot.mouseClick(view.merge_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.busy == 0 and view.grid.count() == 2, timeout=30_000)
    merged = view.tile(ids["curie"])
    assert merged is not None and merged.name == "Marie Curie" and merged.faces == 6
    assert view.tile(ids["dudley"]) is None
    win.filters.extra.setText("person='marie curie'")
    with qtbot.waitSignal(win.results_shown, timeout=30_000):
        win.run_search()
    assert len(win.model.results()) == 6


def _screenshot(view: PeopleView, qtbot, tmp_path: Path) -> None:
    """docs/screenshots/desktop-people.png in the app's dark theme (rewritten only on request)."""
    from desktop import theme

    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    before = (qapp.style().name(), qapp.palette(), qapp.styleSheet())
    os.environ["PIXEL_DETECTIVE_THEME"] = "dark"
    try:
        theme.apply(qapp)
        view.resize(980, 560)
        view.split.setSizes([560, 420])
        assert view.wait(30_000)
        qtbot.wait(200)
        out = ROOT / "docs" / "screenshots" if UPDATE else tmp_path
        assert view.grab().save(str(out / SHOT))
    finally:
        os.environ.pop("PIXEL_DETECTIVE_THEME", None)
        qapp.setStyle(before[0])
        qapp.setPalette(before[1])
        qapp.setStyleSheet(before[2])


def test_empty_states_say_what_to_do(qtbot, tmp_path, monkeypatch):
    # no index at all, faces off: how to turn them on
    off = PeopleView(LedgerPeopleSource(tmp_path / "none.sqlite"), None, settings=Settings(data_dir=tmp_path))
    qtbot.addWidget(off)
    assert off.empty.kind == "faces_off" and "faces = true" in off.empty.remedy.text()
    assert off.split.isHidden() and "engine is not running" in off.status.text()

    class Fixed:
        def __init__(self, listing: PeopleListing) -> None:
            self.value = listing

        def listing(self) -> PeopleListing:
            return self.value

        def photos_of(self, pid: int) -> list[tuple[str, str]]:
            return []

    on = Settings(data_dir=tmp_path, faces=True)
    cases = {
        "no_faces": PeopleListing(True, 12, 0, []),
        "no_people": PeopleListing(True, 12, 4, []),
    }
    for kind, listing in cases.items():
        v = PeopleView(Fixed(listing), None, settings=on)
        qtbot.addWidget(v)
        assert v.empty.kind == kind and v.empty.body.text(), kind
    monkeypatch.setattr(faces, "available", lambda: False)
    v = PeopleView(Fixed(PeopleListing(True, 0, 0, [])), None, settings=on)
    qtbot.addWidget(v)
    assert v.empty.kind == "not_installed" and faces.INSTALL_HINT in v.empty.remedy.text()

    class Broken(Fixed):
        def listing(self) -> PeopleListing:
            raise OSError("disk I/O error at /secret/ledger.sqlite")

    v = PeopleView(Broken(PeopleListing(True, 0, 0, [])), None, settings=on)
    qtbot.addWidget(v)
    assert v.empty.kind == "error" and "/secret" not in v.empty.body.text() + v.empty.remedy.text()

    # a failing engine write is a sentence, never the exception's text
    class Failing:
        def people(self, action: str, *args: object) -> dict[str, object]:
            raise RuntimeError("sqlite3.OperationalError: database is locked at /secret")

    tile = PersonTile(7, None, 2, 2, None)
    v = PeopleView(Fixed(PeopleListing(True, 2, 2, [tile])), Failing(), settings=on)
    qtbot.addWidget(v)
    qtbot.waitUntil(lambda: v.busy == 0, timeout=5_000)
    assert v.titles() == ["Unnamed person 7"]
    assert "did not work" in v.status.text() and "/secret" not in v.status.text()
