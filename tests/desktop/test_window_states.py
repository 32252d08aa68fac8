"""The window a photographer meets: welcome on first run → indexing, a query given before the engine is
ready runs once it is, empty states with their remedy, "N matches", a bad filter clears stale results and
shows its whole error, badges from the photo's own rating/label, the loupe with its keys, the size slider.
Plus the pure parts: readable dates, the relevance cutoff, badges, the theme, the cost estimate."""

from __future__ import annotations

from types import SimpleNamespace

import pyexiv2
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QApplication

from desktop import settings_file, theme
from desktop.formatting import duration, home_path, readable_date
from desktop.indexing_view import REASON_WORDS
from desktop.results_model import ICON, badges_of, cell_for
from desktop.search.relevance import matches
from desktop.search.window import EMPTY, GRID, LOUPE
from desktop.welcome import WelcomeWindow, cost_text, count_photos, welcome_needed
from tests.bridge.conftest import make_photos


def _mark(path, rating: str, label: str) -> None:
    img = pyexiv2.Image(str(path))
    try:
        img.modify_xmp({"Xmp.xmp.Rating": rating, "Xmp.xmp.Label": label})
    finally:
        img.close()


def test_first_run_to_search_loupe_and_errors(make_app, settings, tmp_path, qtbot):
    folder = tmp_path / "Library"
    photos = make_photos(folder, 10, size=(64, 48))
    _mark(photos[3], "4", "Red")
    (folder / "zero_bytes.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a photo")
    app = make_app(settings, wait_ready=False)
    win = app.window
    # A query given on the command line before the engine is open runs once it is (here: nothing indexed).
    app.on_second_launch(["red", "sky"])
    assert "as soon as the index is open" in win.status.text()
    with qtbot.waitSignal(win.results_shown, timeout=60_000):
        pass
    assert win.query.text() == "red sky" and win.empty.kind == "no_results"
    win.show_library_state()
    assert win.views.currentIndex() == EMPTY and win.empty.kind == "no_photos"
    assert win.empty.button_texts() == ["Add folder…", "Set up…"]

    # Welcome → Start indexing: the folder is configured and indexed, the indexing view opens.
    assert welcome_needed(settings_file.desktop_section())
    app.show_welcome()
    welcome = app.welcome
    welcome.add_folder(str(folder))
    qtbot.waitUntil(lambda: str(folder) in welcome.counts, timeout=10_000)
    assert "12 photos" in welcome.library.item(0).text()  # named like photos: counted, not read
    welcome.start_btn.click()
    assert str(folder) in settings_file.desktop_section()["folders"] and app.indexing.isVisible()
    assert settings_file.desktop_section()["welcomed"] is True and not welcome_needed(
        settings_file.desktop_section()
    )
    host = app.backend.host
    qtbot.waitUntil(lambda: host.jobs() and all(j.finished.is_set() for j in host.jobs()), timeout=120_000)
    check_indexing_view(app.indexing, qtbot)

    # A search: "N matches" of the nearest photos; the grid shows the matches only (or all, unticked).
    win.query.setText("red sky")
    with qtbot.waitSignal(win.results_shown, timeout=30_000):
        win.run_search()
    n = len(win.match_list())
    assert 1 <= n <= 10 and win.model.rowCount() == n and win.views.currentIndex() == GRID
    assert win.status.text().startswith(f"{n} match") and "10 nearest photos" in win.status.text()
    with qtbot.waitSignal(win.results_shown, timeout=5_000):
        win.only_matches.setChecked(False)
    assert win.model.rowCount() == 10
    marked = next(r for r in win.model.results() if r.path == str(photos[3]))
    assert badges_of(marked.fields) == {
        "stars": 4,
        "label": "Red",
        "label_colour": theme.LABEL_COLOURS["red"],
    }
    assert all(not badges_of(r.fields) for r in win.model.results() if r is not marked)

    # Filters alone (no text): the photos' metadata, no model needed — here the one rated photo.
    win.query.clear()
    win.filters.rating.setCurrentIndex(3)  # ★ 3+
    qtbot.waitUntil(lambda: win.model.rowCount() == 1, timeout=30_000)
    assert win.model.result(0).path == str(photos[3]) and win.status.text().startswith(
        "1 photos pass the filters"
    )
    win.filters.clear()
    win.query.setText("red sky")
    with qtbot.waitSignal(win.results_shown, timeout=30_000):
        win.run_search()

    # The loupe: Space opens, Right moves on, Esc goes back to the grid.
    win.grid.setCurrentIndex(win.model.index(0))
    win.grid.setFocus()
    qtbot.keyClick(win.grid, Qt.Key.Key_Space)
    assert win.views.currentIndex() == LOUPE and win.loupe.result is win.model.result(0)
    qtbot.keyClick(win.loupe, Qt.Key.Key_Right)
    assert win.grid.currentIndex().row() == 1 and win.loupe.position == "2 of 10"
    qtbot.waitUntil(win.loupe.has_large_image, timeout=10_000)
    qtbot.keyClick(win.loupe, Qt.Key.Key_Escape)
    assert win.views.currentIndex() == GRID

    # The size slider changes the grid's cells.
    win.size_slider.setValue(240)
    assert win.grid.gridSize() == cell_for(240) != cell_for(ICON)

    # A filter that is not understood: the old photos go, the whole error shows with its remedy.
    win.filters.extra.setText("ratingg>=3")
    win.run_search()
    assert win.model.rowCount() == 0 and win.detail.current is None
    assert win.views.currentIndex() == EMPTY and win.empty.kind == "bad_filter"
    assert "ratingg" in win.empty.body.text() and win.empty.body.wordWrap()
    win.empty._buttons[0].click()  # Clear filters: searches again
    qtbot.waitUntil(lambda: win.model.rowCount() == 10, timeout=30_000)
    assert win.where() == ""


def check_indexing_view(view, qtbot) -> None:
    """The run's curve and average stay (never "0.0 photos/s"), folders with counts, failures explained."""
    qtbot.waitUntil(
        lambda: view.chart.curve is not None and view.chart.curve.finished_s is not None, timeout=10_000
    )
    assert view.chart.curve.done >= 10 and view.chart.curve.average() > 0
    caption = view.chart.caption()
    assert caption.startswith("Last run: ") and "0.0 photos/s" not in caption, caption
    summary = next(j.summary for j in view.backend.host.jobs() if j.summary)  # what the CLI prints
    assert f"average {summary['files_per_second']:.1f} photos/s" in caption, (caption, summary)
    view.refresh_lists()
    assert view.headline.text() == "Up to date: 12 photos", view.headline.text()
    row = view.folders.topLevelItem(0)
    assert [row.text(i) for i in (1, 2, 3)] == ["12", "10", "2"]
    assert view.failures.topLevelItemCount() == 2  # one row a photo, explained by its first failing stage
    words = {view.failures.topLevelItem(i).text(1) for i in range(2)}
    assert words == {REASON_WORDS["empty_file"][0], REASON_WORDS["not_an_image"][0]}
    assert "2 photos could not be indexed" in view.failures_title.text()
    assert view.runs.topLevelItem(0).text(2).startswith("10 photos indexed, 2 could not be read")


def test_welcome_cost_and_model_status(settings, tmp_path, qtbot):
    folder = tmp_path / "p"
    make_photos(folder, 5, size=(32, 24))
    (folder / "notes.txt").write_text("x")
    assert count_photos(str(folder)).photos == 5
    assert (
        cost_text(1200, rate=4.0, on="the CPU")
        == "1,200 photos · about 5 min 00 s on the CPU · about 29 MB of index"
    )
    assert cost_text(0).startswith("no photos found here")
    w = WelcomeWindow(settings)
    qtbot.addWidget(w)
    assert w.model_ready and w.model_text.text().startswith("✓ Ready") and not w.import_btn.isVisibleTo(w)
    missing = WelcomeWindow(settings.with_overrides(data_dir=tmp_path / "fresh"))
    qtbot.addWidget(missing)
    assert not missing.model_ready and missing.import_btn.isVisibleTo(missing)
    bogus = tmp_path / "weights.safetensors"
    bogus.write_bytes(b"not weights")
    missing.import_weights(str(bogus))
    qtbot.waitUntil(lambda: missing.import_btn.isEnabled(), timeout=20_000)
    assert missing.model_text.text().startswith("weights.safetensors was not imported: ")
    assert missing.model_text.wordWrap() and not missing.model_ready


def test_dates_badges_relevance_and_theme(qtbot, monkeypatch):
    gb = QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom)
    assert readable_date("2024-05-03T14:02:11", gb) == "3 May 2024, 14:02"
    assert readable_date("2024-05-03", gb) == "3 May 2024"
    assert readable_date("sometime", gb) == "sometime" and readable_date(None) == ""
    assert duration(45) == "45 s" and duration(250) == "4 min 10 s" and duration(7500) == "2 h 05 min"
    monkeypatch.setenv("HOME", "/home/ann")
    assert (
        home_path("/home/ann/Pictures/a.jpg") == "~/Pictures/a.jpg"
        and home_path("/data/a.jpg") == "/data/a.jpg"
    )
    assert badges_of({}) == {} and badges_of({"rating": 0, "label": ""}) == {}
    assert badges_of({"rating": 5, "pick": 1}) == {"stars": 5, "flag": True}
    assert badges_of({"rating": -1, "label": "Approved"}) == {
        "rejected": True, "label": "Approved", "label_colour": "#9e9e9e",
    }  # fmt: skip

    def r(score, **fields):
        return SimpleNamespace(score=score, fields=fields)

    hits = [r(0.31), r(0.29), r(0.25), r(0.21, keywords=["Sunset"]), r(0.20), r(0.18)]
    assert matches(hits, "sunset over the sea") == [hits[0], hits[1], hits[3]]
    assert matches(hits, None, min_score=0.30) == [hits[0]]
    assert matches([], "x") == []

    app = QApplication.instance()
    old_palette, old_sheet = app.palette(), app.styleSheet()
    try:
        monkeypatch.setenv("PIXEL_DETECTIVE_THEME", "dark")
        assert theme.apply(app) == "dark" and app.palette().window().color().lightness() < 60
        monkeypatch.setenv("PIXEL_DETECTIVE_THEME", "light")
        assert theme.apply(app) == "light" and app.palette().window().color().lightness() > 180
    finally:
        app.setPalette(old_palette)
        app.setStyleSheet(old_sheet)


def test_welcome_estimate_uses_the_rate_measured_on_this_computer(settings) -> None:
    """No run yet: a guess that says so. After runs of 50+ photos with this model: their median rate."""
    from bridge.state.ledger import Ledger
    from desktop.welcome import guess_rate

    rate, on = guess_rate(settings)
    assert rate in (4.0, 40.0) and "rough guess" in on
    led = Ledger(settings.ledger_path)
    try:
        for photos, per_s, model in ((120, 9.0, settings.model), (400, 11.0, settings.model),
                                     (30, 99.0, settings.model), (500, 70.0, "another/model"), (80, 10.0, settings.model)):  # fmt: skip
            run = led.start_run("index", {"roots": ["/p"], "model": model}, 1)
            led.finish_run(run, "completed", {"embedded": photos, "files_per_second": per_s})
    finally:
        led.close()
    rate, on = guess_rate(settings)
    assert (
        rate == 10.0 and on == "this computer (measured on its last runs)"
    )  # 30-photo and other-model runs left out
