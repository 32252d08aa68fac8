"""The search window against a real EngineHost and index: query order, filters, find similar, sort."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop.filters import FilterValues, where_expression
from tests.bridge.conftest import make_photos
from tests.desktop.conftest import index_now


def _type_query(qtbot, win, text: str) -> None:
    win.query.clear()
    with qtbot.waitSignal(win.results_shown, timeout=30_000):
        qtbot.keyClicks(win.query, text)
        qtbot.keyClick(win.query, Qt.Key.Key_Return)


def test_typed_query_shows_photos_in_the_hosts_order(make_app, settings, tmp_path, qtbot):
    folder = tmp_path / "p"
    make_photos(folder, 40)
    app = make_app(settings)
    index_now(app, qtbot, [folder])
    win = app.window
    win.only_matches.setChecked(False)  # every one of the nearest photos, as the host returns them
    win.limit.setValue(25)
    _type_query(qtbot, win, "a red sky")
    shown = [r.path for r in win.model.results()]
    direct = [r.path for r in app.backend.host.search_text("a red sky", limit=25)]
    assert shown == direct and len(shown) == 25
    # The detail pane follows the selection; tooltips carry the score.
    assert win.detail.current is not None and win.detail.current.path == shown[0]
    assert "score" in win.model.data(win.model.index(0), Qt.ItemDataRole.ToolTipRole)
    # Thumbnails arrive off the UI thread and land in the disk cache, keyed by fingerprint.
    qtbot.waitUntil(
        lambda: win.model.data(win.model.index(0), Qt.ItemDataRole.DecorationRole) is not None, timeout=20_000
    )
    assert any((settings.data_dir / "thumbnails").rglob("*.jpg"))


def test_only_the_latest_query_is_shown(make_app, settings, tmp_path, qtbot):
    folder = tmp_path / "p"
    make_photos(folder, 20)
    app = make_app(settings)
    index_now(app, qtbot, [folder])
    win = app.window
    win.only_matches.setChecked(False)
    win.limit.setValue(10)
    with qtbot.waitSignal(win.results_shown, timeout=30_000):
        for q in ("first", "second", "third query"):
            win.query.setText(q)
            win.run_search()
    qtbot.wait(300)  # let any stale result arrive: it must be ignored
    assert [r.path for r in win.model.results()] == [
        r.path for r in app.backend.host.search_text("third query", limit=10)
    ]


@pytest.mark.shared_data
def test_filters_find_similar_and_sort_by_date(make_app, settings, copy_shared, qtbot):
    (photos,) = copy_shared("jpeg")
    app = make_app(settings)
    index_now(app, qtbot, [photos])
    win, host = app.window, app.backend.host
    win.only_matches.setChecked(False)
    win.limit.setValue(100)
    _type_query(qtbot, win, "camera photo")
    everything = win.model.results()
    assert len(everything) > 20

    # Camera filter → --where camera=canon: fewer photos, all Canon, same as the host with that filter.
    win.filters.camera.setText("canon")
    with qtbot.waitSignal(win.results_shown, timeout=30_000):
        qtbot.keyClick(win.filters.camera, Qt.Key.Key_Return)
    canon = win.model.results()
    assert 0 < len(canon) < len(everything)
    assert all("canon" in str(r.fields.get("camera", "")).lower() for r in canon)
    assert win.where() == "camera=canon"
    from bridge.search.where import parse_where

    assert [r.path for r in canon] == [
        r.path for r in host.search_text("camera photo", limit=100, where=parse_where("camera=canon"))
    ]
    win.filters.camera.clear()

    # Sort by date: newest first, undated last.
    with qtbot.waitSignal(win.results_shown, timeout=30_000):
        win.run_search()
    win.sort.setCurrentIndex(1)
    dates = [str(r.fields.get("captured_at") or "") for r in win.model.results()]
    dated = [d for d in dates if d]
    assert len(dated) > 5 and dated == sorted(dated, reverse=True)
    assert dates[: len(dated)] == dated
    win.sort.setCurrentIndex(0)

    # Find similar on the selected photo = host.search_like.
    first = win.model.results()[0]
    win.grid.setCurrentIndex(win.model.index(0))
    with qtbot.waitSignal(win.results_shown, timeout=30_000):
        win.act_similar.trigger()
    similar = [r.path for r in win.model.results()]
    assert similar == [r.path for r in host.search_like([first.path], limit=100)]
    assert first.path not in similar


def test_where_expression_from_filter_values():
    f = FilterValues(
        date_from="2024-05", camera="EOS R5", min_rating=3, label="Red", min_quality=0.5, folder="/a b"
    )
    assert (
        where_expression(f) == "date>=2024-05 camera='EOS R5' folder='/a b' rating>=3 label=Red quality>=0.5"
    )
