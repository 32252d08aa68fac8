"""The UI never blocks: the longest event-loop stall while indexing and searching, and the time to open
the window on an existing index. Figures are printed (-s); the asserts are generous (noisy CI machines);
the real targets (50 ms stall, 1 s open) are in bench/bench_desktop.py."""

from __future__ import annotations

import time

import pytest

from desktop.stall import drive_indexing_and_searching
from tests.bridge.conftest import make_photos

STALL_LIMIT_MS = 250.0


def _session(make_app, settings, folder, qtbot, n: int) -> None:
    make_photos(folder, n, size=(64, 48))
    s = settings.with_overrides(batch_size=32)
    app = make_app(s)
    app.window.limit.setValue(200)
    fig = drive_indexing_and_searching(app, [str(folder)], query_every_ms=250)
    print(f"\n[desktop] {n} photos: stall p50 {fig['p50_ms']:.1f} ms, p99 {fig['p99_ms']:.1f} ms, "
          f"max {fig['max_ms']:.1f} ms over {fig['ticks']} ticks; indexed in {fig['index_seconds']:.1f} s; "
          f"{fig['queries_shown']}/{fig['queries_sent']} queries shown")  # fmt: skip
    assert fig["job_status"] == "completed"
    assert fig["queries_shown"] >= 3
    print(f"[desktop] stalls over 50 ms (gap, engine phase): {fig['long_stalls']}")
    # The UI thread itself never blocks: 99% of 5 ms ticks arrive on time even while indexing + searching.
    assert fig["p99_ms"] < STALL_LIMIT_MS
    app.shutdown()
    app.window.close()

    # Window open on the index just built: construct + show until exposed, the host opens behind it.
    t0 = time.perf_counter()
    app2 = make_app(s, wait_ready=False)
    qtbot.waitExposed(app2.window, timeout=5000)
    opened = time.perf_counter() - t0
    with qtbot.waitSignal(app2.backend.ready, timeout=60_000) if app2.backend.host is None else _nothing():
        pass
    ready = time.perf_counter() - t0
    print(f"[desktop] window open {opened * 1000:.0f} ms; engine ready {ready * 1000:.0f} ms ({n} photos)")
    assert opened < 1.0
    assert fig["max_ms"] < STALL_LIMIT_MS


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None


def test_ui_never_blocks_while_indexing_2k_and_searching(make_app, settings, tmp_path, qtbot):
    _session(make_app, settings, tmp_path / "p", qtbot, 2000)


@pytest.mark.slow
def test_ui_never_blocks_while_indexing_10k_and_searching(make_app, settings, tmp_path, qtbot):
    _session(make_app, settings, tmp_path / "p", qtbot, 10_000)


@pytest.mark.slow
def test_window_opens_fast_on_a_100k_index(make_app, settings, tmp_path, qtbot):
    """Build a 100k-photo index (tens of minutes on 2 cores), then time the window opening on it and the
    first query's answer."""
    folder = tmp_path / "p"
    make_photos(folder, 100_000, size=(32, 24))
    s = settings.with_overrides(batch_size=64)
    app = make_app(s)
    job = app.backend.host.submit([str(folder)])
    qtbot.waitUntil(lambda: job.finished.is_set(), timeout=3 * 3600 * 1000)
    assert job.status == "completed", job.error
    app.shutdown()
    app.window.close()
    t0 = time.perf_counter()
    app2 = make_app(s, wait_ready=False)
    qtbot.waitExposed(app2.window, timeout=5000)
    opened = time.perf_counter() - t0
    qtbot.waitUntil(lambda: app2.backend.host is not None, timeout=120_000)
    app2.window.limit.setValue(100_000)
    app2.window.query.setText("red")
    with qtbot.waitSignal(app2.window.results_shown, timeout=120_000):
        app2.window.run_search()
    print(f"[desktop] 100k index: window open {opened * 1000:.0f} ms; {app2.window.model.rowCount()} results")
    assert opened < 1.0
