"""Save docs/screenshots/{search,indexing,settings}.png from the real app on a real index.

    python -m tests.desktop.screenshots_driver --data-dir D --model M --photos DIR [--photos DIR2] --out docs/screenshots

Run under Xvfb (xvfb-run) or QT_QPA_PLATFORM=offscreen; tests/desktop/test_screenshots.py does this.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication


def _pump(until, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        if until():
            return True
        time.sleep(0.01)
    return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--photos", type=Path, action="append", required=True)
    p.add_argument("--query", default="a photo of a camera")
    p.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    ns = p.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Pixel Detective")

    from bridge.settings import Settings
    from desktop.app import TrayApp

    settings = Settings(data_dir=ns.data_dir, model=ns.model, workers=2, batch_size=8)
    tray = TrayApp(settings, use_tray=False, instance_name=f"pd-screens-{time.time_ns()}")
    ready: list[bool] = []
    tray.backend.ready.connect(lambda: ready.append(True))
    tray.start(show_window=True)
    assert _pump(lambda: ready, 120), "engine did not start"
    tray.show_indexing()
    tray.indexing.move(40, 40)
    job = tray.backend.host.submit([str(x) for x in ns.photos], label="Shared test photos")
    assert _pump(lambda: job.finished.is_set(), 300), "indexing did not finish"
    _pump(lambda: False, 1.2)  # one more sparkline sample
    tray.indexing.refresh_lists()
    ns.out.mkdir(parents=True, exist_ok=True)
    _pump(lambda: False, 0.2)
    tray.indexing.grab().save(str(ns.out / "indexing.png"))

    win = tray.window
    win.resize(1280, 800)
    win.present()
    win.query.setText(ns.query)
    shown: list[int] = []
    win.results_shown.connect(shown.append)
    win.run_search()
    assert _pump(lambda: shown, 60), "no results"
    # Let the visible thumbnails load (off the UI thread), then repaint.
    _pump(lambda: False, 0.5)
    win.thumbs.wait(60_000)
    _pump(lambda: False, 0.5)
    win.grid.setCurrentIndex(win.model.index(0))
    win.grid.viewport().update()
    _pump(lambda: False, 0.5)
    win.thumbs.wait(10_000)
    _pump(lambda: False, 0.3)
    win.grab().save(str(ns.out / "search.png"))

    from desktop.settings_dialog import SettingsDialog

    dlg = SettingsDialog(settings)
    dlg.folders.add(str(ns.photos[0]))
    dlg.tabs.setCurrentIndex(1)  # model and device: shows which weights are present
    dlg.show()
    _pump(lambda: False, 0.3)
    dlg.grab().save(str(ns.out / "settings.png"))
    dlg.close()
    tray.shutdown()
    win.close()
    tray.indexing.close()
    print("saved", *(str(ns.out / f) for f in ("search.png", "indexing.png", "settings.png")))
    return 0


if __name__ == "__main__":
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    sys.exit(main())
