"""The desktop entry is a valid freedesktop file that starts the tray app; autostart is optional."""

from __future__ import annotations

import configparser
import shlex

from typer.testing import CliRunner

from bridge.cli.app import app


def test_install_desktop_entry_and_autostart(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    res = CliRunner().invoke(app, ["tray", "--install-desktop-entry", "--autostart"])
    assert res.exit_code == 0, res.output
    menu = tmp_path / "data" / "applications" / "pixel-detective.desktop"
    auto = tmp_path / "config" / "autostart" / "pixel-detective.desktop"
    assert menu.exists() and auto.read_text() == menu.read_text()
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(menu)
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Name"] == "Pixel Detective" and d["Terminal"] == "false"
    assert shlex.split(d["Exec"])[-3:] == ["-m", "bridge", "tray"]


def test_a_frozen_app_starts_its_own_tray_executable(monkeypatch, tmp_path):
    """In the PyInstaller build there is no `python -m bridge`: the entry runs `PixelDetective` beside the CLI."""
    import shlex
    import sys

    from desktop.entry import entry_text

    app = tmp_path / "Pixel Detective"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app / "pixel-detective"))
    assert f"Exec={shlex.quote(str(app / 'PixelDetective'))}\n" in entry_text()
