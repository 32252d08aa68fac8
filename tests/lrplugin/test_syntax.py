"""Every Lua file of the plugin (and of the SDK stand-in) compiles under Lua 5.1."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lupa.lua51 import LuaRuntime

from tests.lrplugin.harness import ROOT, SDK_DIR

LUA_FILES = sorted([*(ROOT / "lrplugin").rglob("*.lua"), *SDK_DIR.glob("*.lua")])


def test_there_are_plugin_files() -> None:
    names = {p.name for p in LUA_FILES}
    assert {"Info.lua", "Init.lua", "Shutdown.lua", "Bridge.lua", "Json.lua"} <= names


@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiles_under_lua51(path: Path) -> None:
    lua = LuaRuntime()
    check = lua.eval("function(src, name) local f, err = loadstring(src, name) return f ~= nil, err end")
    ok, err = check(path.read_text(encoding="utf-8"), "@" + path.name)
    assert ok, f"{path}: {err}"


@pytest.mark.skipif(shutil.which("luac5.1") is None, reason="luac5.1 not on PATH")
@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_luac_parses(path: Path) -> None:
    run = subprocess.run(["luac5.1", "-p", str(path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


def test_info_declares_only() -> None:
    """Info.lua is a declaration table: it runs without any SDK module and names files that exist."""
    lua = LuaRuntime()
    info = lua.execute((ROOT / "lrplugin" / "PixelDetective.lrplugin" / "Info.lua").read_text())
    plugin = ROOT / "lrplugin" / "PixelDetective.lrplugin"
    assert info.LrToolkitIdentifier == "com.pixeldetective.lightroom"
    assert info.LrSdkVersion == 13.0 and info.LrSdkMinimumVersion == 6.0
    files = [info.LrInitPlugin, info.LrShutdownPlugin, info.LrPluginInfoProvider, info.LrMetadataProvider]
    for menu in (info.LrLibraryMenuItems, info.LrExportMenuItems):
        files += [menu[i].file for i in range(1, len(menu) + 1)]
    for f in files:
        assert (plugin / f).is_file(), f
