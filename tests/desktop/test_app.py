"""The tray app: pause within one batch, Quit leaves the ledger consistent, settings persist, a second
launch hands over to the first."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bridge.settings import Settings
from bridge.state.ledger import Ledger
from desktop import settings_file
from desktop.settings_dialog import SettingsDialog
from desktop.single_instance import server_name
from tests.bridge.conftest import make_photos

ROOT = Path(__file__).resolve().parents[2]


def test_pause_stops_within_a_batch_and_quit_leaves_the_ledger_consistent(
    make_app, settings, tmp_path, qtbot
):
    folder = tmp_path / "p"
    make_photos(folder, 400, size=(64, 48))
    s = settings.with_overrides(batch_size=8)
    app = make_app(s)
    host = app.backend.host
    job = host.submit([folder])
    qtbot.waitUntil(
        lambda: (job.phase == "indexing" and job.done >= 8) or job.finished.is_set(), timeout=120_000
    )
    assert not job.finished.is_set(), job.error
    app.toggle_pause()  # the tray's "Pause indexing"
    assert host.state == "paused" and app.act_pause.text() == "Resume indexing"
    qtbot.waitUntil(lambda: job.status != "running", timeout=60_000)
    at_pause = len(host.reader().done_fingerprints("embed", s.model))
    qtbot.wait(800)
    assert len(host.reader().done_fingerprints("embed", s.model)) == at_pause < 400
    app.toggle_pause()
    qtbot.waitUntil(
        lambda: len(host.reader().done_fingerprints("embed", s.model)) > at_pause + 8, timeout=60_000
    )
    app.shutdown()  # Quit in the middle of a run
    assert host.state == "closed"
    led = Ledger(s.ledger_path, readonly=True)
    try:
        assert led.integrity_ok()
        done = led.done_fingerprints("embed", s.model)
    finally:
        led.close()
    from bridge.engine import Engine

    eng = Engine.open(s)
    try:
        assert eng.store().count() == len(done) > at_pause
    finally:
        eng.close()


def test_settings_persist_through_the_file(settings, config_file, qtbot, tmp_path):
    config_file.parent.mkdir(parents=True)
    config_file.write_text('unknown_tool_key = "kept"\nworkers = 3\n\n[other]\nx = 1\n')
    dlg = SettingsDialog(settings, config_file=config_file)
    qtbot.addWidget(dlg)
    dlg.folders.add(str(tmp_path / "Pictures"))
    dlg.catalogs.add(str(tmp_path / "Main.lrcat"))
    dlg.captions.setChecked(True)
    dlg.device.setCurrentText("cpu")
    dlg.workers.setValue(6)
    dlg.batch.setValue(48)
    dlg.keyword_parent.setText("PD|Auto")
    dlg.rules.setPlainText("sharpness < 0.2 -> pick -1\n\nquality >= 0.8 -> rating 4\n")
    dlg.sidecar.setCurrentText("name.ext")
    dlg.ac_only.setChecked(True)
    dlg.save()
    raw = settings_file.read(config_file)
    assert raw["unknown_tool_key"] == "kept" and raw["other"] == {"x": 1}
    assert raw["writeback_rules"] == ["sharpness < 0.2 -> pick -1", "quality >= 0.8 -> rating 4"]
    # The engine re-reads it on next start (the file is the settings source below env and flags), and
    # the write-back settings are engine settings: catalog/XMP write-back and the plugin's Apply use them.
    again = Settings(data_dir=settings.data_dir)
    assert (again.captions, again.device, again.workers, again.batch_size) == (True, "cpu", 6, 48)
    assert again.writeback_rules == ["sharpness < 0.2 -> pick -1", "quality >= 0.8 -> rating 4"]
    assert (again.keyword_parent, again.sidecar_naming, again.only_on_ac_power) == (
        "PD|Auto",
        "name.ext",
        True,
    )
    dlg2 = SettingsDialog(again, config_file=config_file)
    qtbot.addWidget(dlg2)
    assert dlg2.folders.values() == [str(tmp_path / "Pictures")]
    assert dlg2.catalogs.values() == [str(tmp_path / "Main.lrcat")]
    assert dlg2.keyword_parent.text() == "PD|Auto" and dlg2.sidecar.currentText() == "name.ext"
    assert dlg2.captions.isChecked() and dlg2.workers.value() == 6
    assert "weights present" in dlg2.weights.text()  # the tiny model was imported


def test_settings_installs_the_plugin_like_the_cli(qtbot, settings, tmp_path):
    """The dialog's button uses `bridge.lightroom.plugin_install` (staged copy, one backup), never a folder it
    would have to create."""
    dlg = SettingsDialog(settings, config_file=tmp_path / "config.toml")
    qtbot.addWidget(dlg)
    dlg.plugin_dest.setText(str(tmp_path / "missing"))
    dlg._install_plugin()
    assert "is not a folder" in dlg.plugin_result.text() and not (tmp_path / "missing").exists()
    (tmp_path / "Modules").mkdir()
    dlg.plugin_dest.setText(str(tmp_path / "Modules"))
    dlg._install_plugin()
    assert (tmp_path / "Modules" / "PixelDetective.lrplugin" / "Info.lua").is_file()
    assert dlg.plugin_result.text().startswith("Installed (installed)")
    dlg._install_plugin()
    assert dlg.plugin_result.text().startswith("Already installed, unchanged")


def test_a_second_launch_hands_over_to_the_first(make_app, settings, qtbot):
    name = server_name(settings.data_dir)
    app = make_app(settings, instance_name=name)
    app.window.hide()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PIXEL_DETECTIVE_DATA_DIR": str(settings.data_dir)}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "--data-dir", str(settings.data_dir), "tray", "sunset"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    with qtbot.waitSignal(app.instance.message, timeout=30_000) as got:
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30_000)
    assert proc.returncode == 0, proc.stdout.read().decode() if proc.stdout else ""
    assert got.args == [["sunset"]]
    assert app.window.isVisible() and app.window.query.text() == "sunset"
    assert time.monotonic() - started < 30


def test_tray_command_registers_with_typer():
    import typer
    from typer.testing import CliRunner

    from bridge.cli.tray_cmd import tray

    app = typer.Typer()
    app.command("tray")(tray)
    app.command("other")(lambda: None)  # two commands: `tray` is then a sub-command, as in bridge/cli/app.py
    res = CliRunner().invoke(app, ["tray", "--help"])
    assert res.exit_code == 0 and "--no-tray" in res.output


def test_lightroom_service_runs_with_the_host_and_actions_say_why_they_are_off(
    settings, tmp_path, monkeypatch, qtbot
):
    from bridge.lightroom.files import ENV_DIR
    from desktop.app import TrayApp

    monkeypatch.setenv(ENV_DIR, str(tmp_path / "bridge"))  # the child inherits it: never the user's dir
    app = TrayApp(settings, use_tray=False, with_service=True, instance_name=f"pd-test-svc-{os.getpid()}")
    try:
        with qtbot.waitSignal(app.backend.ready, timeout=60_000):
            app.start(show_window=True)
        assert app.backend.service is not None, app.backend.service_problem
        qtbot.waitUntil(lambda: "running" in app.backend.service.status(), timeout=10_000)
        assert app.backend.service.status()["running"] is True
        assert not app.backend.lightroom_connected()
        assert app.act_sync.isEnabled()
        win = app.window
        win._update_actions()
        assert not win.act_lr.isEnabled() and "unavailable" in win.act_lr.toolTip()
        # A push with Lightroom away is reported in the status bar, off the UI thread.
        with qtbot.waitSignal(win.status_text, timeout=30_000) as got:
            win._service_call("show_collection", "x", [str(tmp_path / "a.jpg")])
        assert "not connected" in got.args[0].lower()
    finally:
        app.shutdown()
        app.window.close()
