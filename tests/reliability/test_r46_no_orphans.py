"""R46: the indexer (or anything that owns decode workers) killed with kill -9: no worker outlives it.

Linux kills the workers through PR_SET_PDEATHSIG; the watchdog thread every worker also runs (the only
guard on macOS/Windows) is tested on its own, with no prctl armed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.bridge.conftest import make_photos
from tests.reliability.ledger_peek import stage_count

pytestmark = pytest.mark.reliability
PROJECT = Path(__file__).resolve().parents[2]


def _group(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":  # state, ppid, pgrp
            out.append(int(entry))
    return out


def _wait_empty(pgid: int, seconds: float) -> list[int]:
    end = time.monotonic() + seconds
    while (left := _group(pgid)) and time.monotonic() < end:
        time.sleep(0.1)
    return left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")
def test_kill9_of_the_indexer_leaves_no_worker(cli, settings, tmp_path):
    folder = tmp_path / "photos"
    make_photos(folder, 600, size=(64, 48))
    args = ("index", str(folder), "--model", settings.model, "--workers", "2", "--batch-size", "8")
    proc = cli(*args, wait=False)  # its own session: the group is the indexer and what it started
    deadline = time.monotonic() + 120
    while stage_count(settings.ledger_path, "embed") < 8 or len(_group(proc.pid)) < 3:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the indexer made no progress"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # the indexer only, not its group: the workers must go on their own
    proc.wait()
    left = _wait_empty(proc.pid, 10)
    assert not left, f"orphaned processes: {left}"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")
def test_kill9_of_the_service_during_a_plugin_job_leaves_no_worker(cli, settings, tmp_path, monkeypatch):
    """`serve` runs the plugin's analyze jobs with the same decode workers: killed, it leaves none behind."""
    from tests.bridge.lightroom.plugin_sim import PluginSim

    bridge = tmp_path / "bridge-dir"
    monkeypatch.setenv("PIXEL_DETECTIVE_BRIDGE_DIR", str(bridge))  # the subprocess and the simulator agree
    folder = tmp_path / "photos"
    make_photos(folder / "first", 4, size=(64, 48))
    assert cli("index", str(folder), "--model", settings.model).returncode == 0  # `folder` is an indexed root
    make_photos(folder / "new", 600, size=(64, 48))
    new = sorted(str(p) for p in (folder / "new").iterdir())
    monkeypatch.setenv("PIXEL_DETECTIVE_WORKERS", "2")
    monkeypatch.setenv("PIXEL_DETECTIVE_BATCH_SIZE", "8")
    monkeypatch.setenv("PIXEL_DETECTIVE_MODEL", settings.model)
    proc = cli("serve", wait=False)
    try:
        with PluginSim(bridge) as sim:
            assert sim.wait_connected(120), proc.stderr.read() if proc.poll() is not None else "no connection"
            accepted = sim.wait_reply(sim.send_request("analyze", {"paths": new}), 60)[0]
            assert accepted["type"] == "analyze.accepted", accepted
            deadline = time.monotonic() + 120
            while stage_count(settings.ledger_path, "embed") < 4 + 8 or len(_group(proc.pid)) < 3:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "the job made no progress"
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)  # the service only, not its group
            proc.wait()
            left = _wait_empty(proc.pid, 10)
            assert not left, f"orphaned processes: {left}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


_OWNER = textwrap.dedent(
    """
    import sys, threading, time
    from bridge.indexing.decodepool import DecodePool
    from bridge.indexing import worker
    pool = DecodePool(1, sys.argv[1], threading.Event(), depth=1)
    ex = pool._executor(1)  # the same executor the isolation step uses, one worker
    print(ex.submit(worker.ping).result(timeout=120), flush=True)
    time.sleep(300)
    """
)

_WATCHDOG_ONLY = textwrap.dedent(
    """
    import os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
    print(child.pid, flush=True)
    time.sleep(300)
    """
)
_CHILD = "import os, time; from bridge.indexing import worker; worker._watch_parent(os.getppid())"


def _spawn(code: str, *argv: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), line
    return proc, int(line)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process state from /proc")
def test_isolation_pool_worker_dies_with_its_owner(tmp_path):
    owner, worker_pid = _spawn(_OWNER, str(tmp_path / "decoders.log"))
    assert _alive(worker_pid)
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait()
    assert not _wait_empty(owner.pid, 10)
    assert not _alive(worker_pid)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process state from /proc")
def test_parent_watchdog_alone_ends_an_orphan(tmp_path):
    """No prctl here: only the thread that notices the re-parenting (macOS, Windows)."""
    parent, child_pid = _spawn(_WATCHDOG_ONLY, _CHILD)
    time.sleep(0.5)  # the child is up and watching
    assert _alive(child_pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    end = time.monotonic() + 10
    while _alive(child_pid) and time.monotonic() < end:
        time.sleep(0.1)
    assert not _alive(child_pid)
