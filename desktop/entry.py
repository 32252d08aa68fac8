"""The freedesktop.org desktop entry (Linux application menus) and the optional autostart entry, so the
tray app can be started from the menu and with the session. macOS and Windows get theirs from the
installer (installer/)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

ENTRY_NAME = "pixel-detective.desktop"


def tray_command() -> list[str]:
    """How to start the tray app: the frozen app's `PixelDetective` executable beside this one (installer/),
    or this Python with `-m bridge tray` from a source or pip install."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).with_name("PixelDetective"))]
    return [sys.executable, "-m", "bridge", "tray"]


def entry_text(command: list[str] | None = None) -> str:
    cmd = command or tray_command()
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.0\n"
        "Name=Pixel Detective\n"
        "GenericName=Photo search\n"
        "Comment=Find any photo by describing it; keywords, quality scores and duplicates for Lightroom\n"
        f"Exec={shlex.join(cmd)}\n"
        "Icon=image-x-generic\n"
        "Terminal=false\n"
        "Categories=Graphics;Photography;Viewer;\n"
        "Keywords=photo;search;lightroom;clip;duplicates;\n"
        "StartupNotify=false\n"
    )


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def install(*, autostart: bool = False, command: list[str] | None = None) -> list[Path]:
    """Write the menu entry (and the autostart entry when asked); returns the files written."""
    targets = [_data_home() / "applications" / ENTRY_NAME]
    if autostart:
        targets.append(_config_home() / "autostart" / ENTRY_NAME)
    text = entry_text(command)
    for t in targets:
        t.parent.mkdir(parents=True, exist_ok=True)
        tmp = t.with_name(f".{t.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, t)
    return targets
