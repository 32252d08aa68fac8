"""Installing the Lightroom plug-in into Lightroom's Modules folder: each OS branch with a fake home / APPDATA,
the atomic replace with one backup, idempotence, and `pixel-detective plugin install` as a real subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.lightroom.plugin_install import (
    PLUGIN_NAME,
    PluginInstallError,
    bundled_plugin,
    install_plugin,
    modules_dir,
)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_source_tree_ships_the_plugin():
    assert (bundled_plugin() / "Info.lua").is_file()


def test_macos_installs_into_lightrooms_modules_folder_under_the_home(tmp_path):
    home = tmp_path / "Users" / "ana"
    done = install_plugin(system="Darwin", home=home, env={})
    modules = home / "Library" / "Application Support" / "Adobe" / "Lightroom" / "Modules"
    assert done.target == modules / PLUGIN_NAME
    assert done.outcome == "installed" and done.backup is None
    assert tree(done.target) == tree(bundled_plugin())


def test_windows_installs_under_appdata(tmp_path):
    appdata = tmp_path / "AppData" / "Roaming"
    done = install_plugin(system="Windows", env={"APPDATA": str(appdata)}, home=tmp_path / "elsewhere")
    assert done.target == appdata / "Adobe" / "Lightroom" / "Modules" / PLUGIN_NAME
    assert (done.target / "Info.lua").is_file()
    # without APPDATA: the profile's AppData\Roaming
    assert modules_dir("Windows", {}, tmp_path) == tmp_path / "AppData" / "Roaming" / "Adobe" / "Lightroom" / "Modules"


def test_linux_has_no_lightroom_so_a_folder_must_be_named(tmp_path):
    assert modules_dir("Linux", {}, tmp_path) is None
    with pytest.raises(PluginInstallError) as e:
        install_plugin(system="Linux", home=tmp_path, env={})
    assert e.value.reason == "no_lightroom_here" and "--dest" in e.value.message
    done = install_plugin(tmp_path / "shared", system="Linux")
    assert done.target == tmp_path / "shared" / PLUGIN_NAME and done.outcome == "installed"


def test_reinstall_is_idempotent_and_an_update_keeps_one_backup_lightroom_does_not_load(tmp_path):
    source = tmp_path / "src" / PLUGIN_NAME
    source.parent.mkdir()
    shutil.copytree(bundled_plugin(), source)
    dest = tmp_path / "Modules"
    first = install_plugin(dest, source=source)
    again = install_plugin(dest, source=source)
    assert (first.outcome, again.outcome) == ("installed", "unchanged") and again.backup is None
    assert sorted(p.name for p in dest.iterdir()) == [PLUGIN_NAME]

    (first.target / "Stale.lua").write_text("-- left by an old version\n")
    (source / "Info.lua").write_text((source / "Info.lua").read_text() + "\n-- v2\n")
    updated = install_plugin(dest, source=source)
    assert updated.outcome == "updated" and updated.backup == dest / (PLUGIN_NAME + ".previous")
    assert tree(updated.target) == tree(source)  # the old version's extra file is gone, not merged
    assert (updated.backup / "Stale.lua").is_file()
    # Lightroom loads every *.lrplugin folder in Modules: only one may be there; no staging folder is left
    assert [p.name for p in dest.iterdir() if p.name.endswith(".lrplugin")] == [PLUGIN_NAME]
    assert sorted(p.name for p in dest.iterdir()) == [PLUGIN_NAME, PLUGIN_NAME + ".previous"]

    (source / "Info.lua").write_text((source / "Info.lua").read_text() + "\n-- v3\n")
    install_plugin(dest, source=source)
    assert "-- v2" in (dest / (PLUGIN_NAME + ".previous") / "Info.lua").read_text()  # one backup: the last


def test_a_missing_plugin_and_a_read_only_folder_are_named_reasons(tmp_path):
    with pytest.raises(PluginInstallError) as e:
        install_plugin(tmp_path / "Modules", source=tmp_path / "nowhere")
    assert e.value.reason == "plugin_missing"
    if os.geteuid() == 0:
        return  # root writes anywhere: the read-only case cannot be shown
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(PluginInstallError) as e:
            install_plugin(ro / "Modules")
        assert e.value.reason == "not_writable"
    finally:
        ro.chmod(0o700)


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "APPDATA": str(home / "AppData")}
    return subprocess.run(
        [sys.executable, "-m", "bridge", "plugin", "install", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.skipif(sys.platform != "linux", reason="the Linux branch of the command")
def test_cli_on_linux_asks_for_dest_then_installs(tmp_path):
    r = run_cli(tmp_path)
    assert r.returncode == 2 and "--dest" in r.stderr and "Traceback" not in r.stderr
    assert not list(tmp_path.rglob("*.lrplugin"))  # no plug-in written anywhere under the fake home
    dest = tmp_path / "lr" / "Modules"
    r = run_cli(tmp_path, "--dest", str(dest))  # a folder that does not exist is never created
    assert r.returncode == 2 and "not a folder" in r.stderr and not dest.exists()
    dest.mkdir(parents=True)
    r = run_cli(tmp_path, "--dest", str(dest))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"installed: {dest / PLUGIN_NAME}"
    assert "Plug-in Extras" in r.stderr  # (a second run says "already installed, unchanged": the function test)
