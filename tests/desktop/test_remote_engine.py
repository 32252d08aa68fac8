"""The tray app on a remote engine: a real engine (another data dir, "the GPU box") behind the REST API over TLS on
127.0.0.1, advertised with zeroconf on loopback; the app opens no index of its own and searches, shows thumbnails
and says what needs a local engine. The settings dialog's Engine section finds the engine, checks the key and
writes the choice."""

from __future__ import annotations

import os
import shutil
import stat
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from bridge.api.keys import KeyStore
from bridge.api.server import ApiServer, ApiSettings
from bridge.discovery import Advertiser
from bridge.host import EngineHost
from bridge.settings import Settings
from tests.bridge.conftest import make_photos
from tests.conftest import SHARED_DATA
from tests.desktop.screenshots_driver import LIBRARY
from tests.model_factory import TINY_MODEL_ID

ROOT = Path(__file__).resolve().parents[2]
SHOT = "desktop-remote-engine.png"
UPDATE = os.environ.get("PIXEL_DETECTIVE_UPDATE_SCREENSHOTS") == "1"  # as test_screenshots.py
LOOPBACK = ["127.0.0.1"]


@dataclass
class Box:
    host: EngineHost
    server: ApiServer
    key: str  # an `index` key (read + index)
    fingerprint: str
    photos: Path  # its library (<root>/home/Pictures/Studio)

    @property
    def port(self) -> int:
        return int(self.server.url.rsplit(":", 1)[1])

    def laptop(self, data_dir: Path, **kw: object) -> Settings:
        values = {"remote_url": self.server.url, "remote_api_key": self.key,
                  "remote_tls_fingerprint": self.fingerprint, **kw}  # fmt: skip
        return Settings(data_dir=data_dir, model=TINY_MODEL_ID, **values)  # type: ignore[arg-type]


def _studio_photos(root: Path) -> Path:
    """The GPU box's library: 12 real photos of ../shared/data under <root>/home/Pictures/Studio (the README's
    screenshot shows ~/Pictures/Studio/…, no temporary path), or generated ones without the shared data."""
    folder = root / "home" / "Pictures" / "Studio"
    if not SHARED_DATA.is_dir():
        make_photos(folder, 12, size=(160, 120), seed=5)
        return folder
    files = [rel for rels in LIBRARY.values() for rel in rels if rel.startswith(("jpeg/", "png/"))][:12]
    folder.mkdir(parents=True)
    for rel in files:
        shutil.copy2(SHARED_DATA / rel, folder / Path(rel).name)
    return folder


@pytest.fixture(scope="module")
def gpu_box(tmp_path_factory: pytest.TempPathFactory, tiny_models_dir: Path) -> Iterator[Box]:
    root = tmp_path_factory.mktemp("gpu-box")
    data = root / "data"
    shutil.copytree(tiny_models_dir, data / "models")
    settings = Settings(data_dir=data, model=TINY_MODEL_ID, workers=2, batch_size=8)
    photos = _studio_photos(root)
    host = EngineHost(settings)
    try:
        host.submit([str(photos)])
        assert host.wait_idle(180)
        key = KeyStore(data).create("laptop", "index")[1]
        server = ApiServer(host, ApiSettings(port=0, tls=True), local_token=lambda: None).start()
        try:
            assert server.tls is not None
            yield Box(host, server, key, server.tls.fingerprint, photos)
        finally:
            server.stop()
    finally:
        host.close()


def test_the_search_window_on_a_remote_engine(make_app, gpu_box: Box, tmp_path: Path, qtbot) -> None:
    laptop = gpu_box.laptop(tmp_path / "laptop")
    app = make_app(laptop)
    assert app.backend.remote and getattr(app.backend.host, "remote", False)
    assert not laptop.ledger_path.exists()  # no local index was opened
    assert f"remote engine 127.0.0.1:{gpu_box.port}" in app.current_tooltip
    assert app.engine_label.text().endswith(f"remote engine 127.0.0.1:{gpu_box.port}")  # in the status bar
    assert app.backend.service is None  # make_app runs no Lightroom bridge (with_service=False)
    win = app.window
    qtbot.waitUntil(lambda: win.empty.kind == "ready", timeout=10_000)  # not "no photos yet": it is elsewhere
    win.only_matches.setChecked(False)
    win.limit.setValue(12)
    win.query.clear()
    with qtbot.waitSignal(win.results_shown, timeout=30_000):
        qtbot.keyClicks(win.query, "a red sky")
        qtbot.keyClick(win.query, Qt.Key.Key_Return)
    shown = [r.path for r in win.model.results()]
    assert shown == [r.path for r in gpu_box.host.search_text("a red sky", limit=12)]
    # Thumbnails come from the engine (its paths are not files here) and land in this computer's cache.
    qtbot.waitUntil(
        lambda: all(
            win.model.data(win.model.index(i), Qt.ItemDataRole.DecorationRole) is not None for i in range(12)
        ),
        timeout=20_000,
    )
    assert len(list((laptop.data_dir / "thumbnails").rglob("*.jpg"))) == 12
    _screenshot(win, gpu_box, qtbot, ROOT / "docs" / "screenshots" if UPDATE else tmp_path)
    # What needs the local ledger says so instead of failing.
    with qtbot.waitSignal(app.notified, timeout=5_000) as said:
        app.show_cull()
    assert "Culling" in said.args[1] and "needs the engine on this computer" in said.args[1]
    assert getattr(app, "cull_view", None) is None
    app.show_indexing()  # live jobs only: folders, failures and runs are in the engine's ledger
    assert "kept by the remote engine 127.0.0.1" in app.indexing.failures_title.text()


def _screenshot(win, box: Box, qtbot, out: Path) -> None:
    """The README's picture: dark like the app, the newest photos first (the test model's relevance order and
    AI keywords mean nothing), the engine's paths as ~/… of its own home."""
    from PySide6.QtWidgets import QApplication

    from desktop import theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    saved = (app.style().name(), app.palette(), app.styleSheet())
    home = os.environ.get("HOME")
    os.environ["PIXEL_DETECTIVE_THEME"], os.environ["HOME"] = "dark", str(box.photos.parent.parent)
    try:
        theme.apply(app)
        win.detail.show_ai = False
        win.sort.setCurrentIndex(win.sort.findText("Date (newest first)"))
        win.grid.setCurrentIndex(win.model.index(0))
        win.resize(1100, 720)
        qtbot.wait(300)
        assert win.grab().save(str(out / SHOT))
    finally:
        os.environ.pop("PIXEL_DETECTIVE_THEME", None)
        if home is not None:
            os.environ["HOME"] = home
        app.setStyle(saved[0])
        app.setPalette(saved[1])
        app.setStyleSheet(saved[2])


def test_a_remote_engine_that_refuses_the_key_is_said_plainly(
    make_app, gpu_box: Box, tmp_path, qtbot
) -> None:
    app = make_app(gpu_box.laptop(tmp_path / "laptop", remote_api_key="pd_000000000000_" + "x" * 43),
                   wait_ready=False)  # fmt: skip
    qtbot.waitUntil(lambda: app.window.empty.kind == "error", timeout=20_000)
    assert "refused the API key" in app.current_tooltip and "Error" not in app.current_tooltip
    assert app.backend.host is None and not (tmp_path / "laptop").joinpath("ledger.db").exists()


def test_the_engine_section_finds_checks_and_stores_a_remote_engine(
    gpu_box: Box, config_file: Path, tmp_path: Path, qtbot
) -> None:
    from desktop.settings_dialog import SettingsDialog

    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text("workers = 3\n")
    local = Settings(data_dir=tmp_path / "laptop", model=TINY_MODEL_ID)
    with Advertiser(gpu_box.port, name="gpu-box", tls_fingerprint=gpu_box.fingerprint, addresses=LOOPBACK,
                    interfaces=LOOPBACK):  # fmt: skip
        dlg = SettingsDialog(local, config_file, discovery_interfaces=LOOPBACK)
        qtbot.addWidget(dlg)
        sec = dlg.engine
        assert "engine on this computer" in sec.current.text() and not sec.stop.isEnabled()
        assert sec.key.echoMode() == QLineEdit.EchoMode.Password
        with qtbot.waitSignal(sec.found, timeout=20_000):
            sec.find_button.click()
    rows = [sec.engines.topLevelItem(i) for i in range(sec.engines.topLevelItemCount())]
    row = next(r for r in rows if r is not None and r.text(0) == "gpu-box")
    assert row.text(1) == f"127.0.0.1 : {gpu_box.port}" and row.text(2) == gpu_box.fingerprint
    sec.engines.setCurrentItem(row)
    # A wrong key: checked against the engine first, refused, nothing written.
    sec.key.setText("pd_000000000000_" + "x" * 43)
    with qtbot.waitSignal(sec.done, timeout=20_000) as done:
        sec.use.click()
    assert done.args[0] is False and "refused the API key" in sec.result.text()
    assert tomllib.loads(config_file.read_text()) == {"workers": 3}
    # The right one: stored with the pin, this user only; the rest of the file kept.
    sec.key.setText(gpu_box.key)
    with qtbot.waitSignal(sec.done, timeout=20_000) as done:
        sec.use.click()
    assert done.args[0] is True and "start it again" in sec.result.text()
    assert tomllib.loads(config_file.read_text()) == {
        "workers": 3,
        "remote_url": gpu_box.server.url,
        "remote_api_key": gpu_box.key,
        "remote_tls_fingerprint": gpu_box.fingerprint,
    }
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert gpu_box.server.url in sec.current.text() and sec.stop.isEnabled() and not sec.key.text()
    dlg.save()  # the dialog's own Save keeps the choice
    assert tomllib.loads(config_file.read_text())["remote_url"] == gpu_box.server.url
    sec.stop.click()
    saved = tomllib.loads(config_file.read_text())
    assert (
        not {"remote_url", "remote_api_key", "remote_tls_fingerprint"} & set(saved) and saved["workers"] == 3
    )
    assert "engine on this computer" in sec.current.text()


def test_the_tray_serves_lightroom_from_the_remote_engine(
    gpu_box: Box, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot
) -> None:
    """Remote mode still runs the Lightroom service in the tray's process; the plug-in's answers are the engine's."""
    from bridge.api.plugin_remote import PluginRemote
    from desktop.backend import Backend
    from tests.bridge.lightroom.plugin_sim import PluginSim

    bridge_dir = tmp_path / "bridge"
    monkeypatch.setenv("PIXEL_DETECTIVE_BRIDGE_DIR", str(bridge_dir))  # never the user's ~/.pixel-detective
    laptop = gpu_box.laptop(tmp_path / "laptop")
    backend = Backend(laptop, with_service=True)
    try:
        with qtbot.waitSignal(backend.ready, timeout=30_000):
            backend.start()
        assert backend.service is not None and backend.service_problem is None
        assert isinstance(backend.service.host, PluginRemote) and backend.service.host.api is backend.host
        with PluginSim(bridge_dir) as sim:
            assert sim.wait_connected(20), backend.service.status()
            st = sim.request("status")["body"]
            assert st["indexed"] == 12 and st["engine"] == gpu_box.server.url
            got = sim.request("search", {"query": "a red sky", "limit": 3})["body"]["results"]
            assert [h["path"] for h in got] == [
                r.path for r in gpu_box.host.search_text("a red sky", limit=3)
            ]
            assert backend.lightroom_connected()
    finally:
        backend.close()
    assert backend.service.status()["running"] is False  # stopped with the app
    assert not laptop.ledger_path.exists()  # no local index was opened
