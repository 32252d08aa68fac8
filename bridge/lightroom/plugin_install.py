"""Put the Lightroom plug-in where Lightroom Classic loads it by itself: its Modules folder.

Lightroom Classic loads every `*.lrplugin` folder in its Modules folder at start, with no Plug-in Manager step:
macOS `~/Library/Application Support/Adobe/Lightroom/Modules/`, Windows `%APPDATA%\\Adobe\\Lightroom\\Modules\\`.
There is no Lightroom on Linux: the caller names a folder (`--dest`).

`install_plugin` copies the bundled plug-in next to the target under a temporary name, then swaps it in with two
renames (old copy → backup, new copy → target), so Lightroom never sees a half-copied plug-in; an identical copy
is left alone (idempotent), and the one backup kept (`PixelDetective.lrplugin.previous`) does not end in
`.lrplugin`, so Lightroom never loads it as a second plug-in. Used by `pixel-detective plugin install` and the
tray's menu.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import platform
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PLUGIN_NAME = "PixelDetective.lrplugin"
BACKUP_SUFFIX = ".previous"  # PixelDetective.lrplugin.previous: not a *.lrplugin, so Lightroom ignores it

Outcome = Literal["installed", "updated", "unchanged"]
Reason = Literal["no_lightroom_here", "plugin_missing", "not_writable", "in_use"]


@dataclass(frozen=True)
class Installed:
    """Where the plug-in now is, what happened, and where the replaced copy went (None: nothing replaced)."""

    target: Path
    outcome: Outcome
    backup: Path | None = None


class PluginInstallError(Exception):
    """A named reason and a sentence for the user (never an exception's own text)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def bundled_plugin() -> Path:
    """The plug-in shipped with this copy of Pixel Detective: inside the frozen app, or the source tree's."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "lrplugin" / PLUGIN_NAME
    return Path(__file__).resolve().parents[2] / "lrplugin" / PLUGIN_NAME


def modules_dir(
    system: str | None = None, env: Mapping[str, str] | None = None, home: Path | None = None
) -> Path | None:
    """Lightroom Classic's Modules folder for this user, or None where there is no Lightroom (Linux)."""
    system = system or platform.system()
    env = os.environ if env is None else env
    home = home or Path.home()
    if system == "Darwin":
        return home / "Library" / "Application Support" / "Adobe" / "Lightroom" / "Modules"
    if system == "Windows":
        appdata = env.get("APPDATA")
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
        return base / "Adobe" / "Lightroom" / "Modules"
    return None


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(a / d, b / d) for d in cmp.common_dirs)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def install_plugin(
    dest: Path | None = None,
    *,
    source: Path | None = None,
    system: str | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Installed:
    """Copy the plug-in into `dest` (default: Lightroom's Modules folder on macOS and Windows).

    Raises PluginInstallError: `no_lightroom_here` (Linux without `dest`), `plugin_missing`, `not_writable`,
    `in_use` (Windows: Lightroom holds a file of the old copy open).
    """
    source = source or bundled_plugin()
    if not (source / "Info.lua").is_file():
        raise PluginInstallError(
            "plugin_missing", f"the Lightroom plug-in is not in this copy of Pixel Detective (looked in {source})"
        )
    folder = dest if dest is not None else modules_dir(system, env, home)
    if folder is None:
        raise PluginInstallError(
            "no_lightroom_here",
            "Lightroom Classic runs on macOS and Windows only, so there is no Modules folder here: "
            "name a folder with --dest (e.g. one shared with a Mac or Windows machine)",
        )
    folder = folder.expanduser()
    target = folder / PLUGIN_NAME
    backup = folder / (PLUGIN_NAME + BACKUP_SUFFIX)
    staging = folder / f".{PLUGIN_NAME}.new-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and _same_tree(source, target):
            return Installed(target, "unchanged")
        _remove(staging)
        shutil.copytree(source, staging)
    except OSError:
        _remove_quietly(staging)
        raise PluginInstallError("not_writable", f"cannot write the plug-in into {folder}") from None
    existed = target.exists() or target.is_symlink()
    try:
        if existed:
            _remove(backup)
            os.replace(target, backup)
        try:
            os.replace(staging, target)
        except OSError:
            if existed:
                os.replace(backup, target)  # put the old copy back: never leave Lightroom without one
            raise
    except PermissionError:
        _remove_quietly(staging)
        raise PluginInstallError(
            "in_use", f"the plug-in in {folder} is in use: quit Lightroom Classic, then install again"
        ) from None
    except OSError:
        _remove_quietly(staging)
        raise PluginInstallError("not_writable", f"cannot replace the plug-in in {folder}") from None
    return Installed(target, "updated" if existed else "installed", backup if existed else None)


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        _remove(path)
