"""`pixel-detective serve` in a subprocess: token file, a plugin session, clean stop; 75 when busy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from bridge.host import EngineHost
from bridge.lightroom.files import token_path, write_ports
from tests.bridge.lightroom.plugin_sim import PluginSim


def _serve(data_dir, bridge_dir) -> subprocess.Popen:
    env = {
        **os.environ,
        "PIXEL_DETECTIVE_DATA_DIR": str(data_dir),
        "PIXEL_DETECTIVE_BRIDGE_DIR": str(bridge_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_serve_answers_the_plugin_and_stops_on_sigint(settings, bridge_dir):
    proc = _serve(settings.data_dir, bridge_dir)
    try:
        deadline = time.monotonic() + 90
        while not token_path(bridge_dir).exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        bad = write_ports(bridge_dir, 1, 2)  # a port file others could have written: refused, and said
        bad.chmod(0o666)
        time.sleep(1.5)  # `serve` reports twice a second
        bad.unlink()
        with PluginSim(bridge_dir) as sim:
            assert sim.wait_connected(30)
            st = sim.request("status")
            assert st["type"] == "status.result" and st["body"]["indexed"] == 0
            time.sleep(1.5)  # `serve` reports the connection state twice a second
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "token file:" in err and "Lightroom connected" in err
    assert "not connected:" in err and "writable by group or others" in err
    assert not token_path(bridge_dir).exists()  # removed on stop: the next start writes a new one


def test_serve_exits_75_when_another_process_owns_the_index(settings, bridge_dir):
    with EngineHost(settings):
        proc = _serve(settings.data_dir, bridge_dir)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 75, err
