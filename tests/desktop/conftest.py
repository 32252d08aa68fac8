"""Desktop fixtures: Qt offscreen, the engine fixtures of tests/bridge (tiny CLIP model through the real
import path), a private settings file, and a started TrayApp (no tray icon, no Lightroom service)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.bridge.conftest import settings, tiny_models_dir  # noqa: E402,F401  (fixtures)


@pytest.fixture(autouse=True)
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test writes its own settings file, never the user's or the shared placeholder."""
    p = tmp_path / "config" / "settings.toml"
    monkeypatch.setenv("PIXEL_DETECTIVE_CONFIG", str(p))
    return p


@pytest.fixture
def make_app(qtbot):
    """Start TrayApps and always shut them down (host closed, socket released) at the end."""
    from desktop.app import TrayApp

    apps = []

    def _make(s, *, wait_ready: bool = True, instance_name: str | None = None):
        app = TrayApp(
            s,
            use_tray=False,
            with_service=False,
            welcome=False,
            instance_name=instance_name or f"pd-test-{uuid.uuid4().hex}",
        )
        apps.append(app)
        if wait_ready:
            with qtbot.waitSignal(app.backend.ready, timeout=60_000):
                app.start(show_window=True)
        else:
            app.start(show_window=True)
        return app

    yield _make
    for app in apps:
        app.shutdown()
        app.window.close()


def index_now(app, qtbot, roots, timeout: float = 180) -> None:
    host = app.backend.host
    job = host.submit([str(r) for r in roots])
    qtbot.waitUntil(lambda: job.finished.is_set(), timeout=int(timeout * 1000))
    assert job.status == "completed", job.error
