"""The indexing view's chart and words (a real run's page is checked in test_window_states.py, which
indexes through the welcome window)."""

from __future__ import annotations

from desktop.indexing_view import RunCurve, ThroughputChart, explain


def test_chart_caption_and_unknown_reasons(qtbot):
    chart = ThroughputChart()
    qtbot.addWidget(chart)
    assert "appears here" in chart.caption()
    c = RunCurve("j", 0.0, [(0.0, 0.0), (1.0, 8.0), (2.0, 12.0), (3.0, 10.0)], done=30)
    chart.set_curve(c)
    assert chart.caption().startswith("Now 10.0 photos/s · average 10.0")
    c.finished_s = 3.0
    assert chart.caption() == "Last run: 30 photos in 3 s — average 10.0 photos/s, peak 12.0 photos/s"
    # the run's one rate (the summary's files_per_second, counted from the run's start) wins once known
    c.rate, c.wall_s = 6.0, 5.0
    assert chart.caption() == "Last run: 30 photos in 5 s — average 6.0 photos/s, peak 12.0 photos/s"
    chart.resize(600, 170)
    assert not chart.grab().isNull()
    assert explain("something_new")[0] == "Something new."
