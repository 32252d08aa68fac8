"""The indexing view on a real run: headline in words, the throughput chart keeps the run's curve and its
average (never "0.0 photos/s"), folders with their counts, failures explained with what to do."""

from __future__ import annotations

from desktop.indexing_view import REASON_WORDS, RunCurve, ThroughputChart, explain
from tests.bridge.conftest import make_photos
from tests.desktop.conftest import index_now


def test_a_run_leaves_its_curve_average_folders_and_explained_failures(make_app, settings, tmp_path, qtbot):
    folder = tmp_path / "Library"
    make_photos(folder, 24, size=(64, 48))
    (folder / "zero_bytes.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a photo")
    app = make_app(settings.with_overrides(batch_size=4))
    app.show_indexing()
    view = app.indexing
    index_now(app, qtbot, [folder])
    qtbot.waitUntil(
        lambda: view.chart.curve is not None and view.chart.curve.finished_s is not None, timeout=10_000
    )
    curve = view.chart.curve
    assert curve.done >= 24 and curve.average() > 0
    caption = view.chart.caption()
    assert caption.startswith("Last run: ") and "0.0 photos/s" not in caption, caption
    view.refresh_lists()
    assert view.headline.text().startswith("Up to date"), view.headline.text()
    row = view.folders.topLevelItem(0)
    assert [row.text(i) for i in (1, 2, 3)] == ["26", "24", "2"]
    assert view.failures.topLevelItemCount() == 2  # one row a photo, explained by its first failing stage
    words = {view.failures.topLevelItem(i).text(1) for i in range(view.failures.topLevelItemCount())}
    assert REASON_WORDS["empty_file"][0] in words and REASON_WORDS["not_an_image"][0] in words
    assert "2 photos could not be indexed" in view.failures_title.text()
    assert view.runs.topLevelItem(0).text(2).startswith("24 photos indexed, 2 could not be read")
    view.grab()  # the chart paints with a real curve


def test_chart_caption_and_unknown_reasons(qtbot):
    chart = ThroughputChart()
    qtbot.addWidget(chart)
    assert "appears here" in chart.caption()
    c = RunCurve("j", 0.0, [(0.0, 0.0), (1.0, 8.0), (2.0, 12.0), (3.0, 10.0)], done=30)
    chart.set_curve(c)
    assert chart.caption().startswith("Now 10.0 photos/s · average 10.0")
    c.finished_s = 3.0
    assert chart.caption() == "Last run: 30 photos in 3 s — average 10.0 photos/s, peak 12.0 photos/s"
    chart.resize(600, 170)
    assert not chart.grab().isNull()
    assert explain("something_new")[0] == "Something new."
