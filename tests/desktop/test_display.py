"""`pixel-detective tray` where no window can be opened: a one-line reason and exit 1, never Qt's SIGABRT (R49)."""

from __future__ import annotations

import contextlib
import ctypes.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.display import display_problem
from tests.conftest import PROJECT_ROOT

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland checks are Linux-only")
has_xcb = pytest.mark.skipif(
    any(ctypes.util.find_library(n) is None for n in ("xcb", "xcb-cursor", "xcb-icccm", "xcb-keysyms")),
    reason="Qt's X11 libraries are not installed (scripts/test.sh installs them as root)",
)


@linux
def test_no_display_at_all_is_said_plainly():
    why = display_problem({})
    assert why is not None and "no display" in why and "pixel-detective serve" in why


@linux
def test_a_platform_chosen_on_purpose_needs_no_display():
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


@linux
@has_xcb
def test_a_display_nobody_serves_is_named():
    why = display_problem({"DISPLAY": ":197"})
    assert why is not None and "cannot connect to the X display ':197'" in why


@linux
@has_xcb
@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (apt-get install xvfb)")
def test_a_real_x_server_is_accepted(tmp_path: Path):
    server = subprocess.Popen(["Xvfb", ":196", "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while display_problem({"DISPLAY": ":196"}) is not None:
            assert server.poll() is None and time.monotonic() < deadline, "Xvfb did not come up"
            time.sleep(0.1)
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)


@linux
def test_tray_without_a_display_exits_with_the_reason(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "bridge", "--data-dir", str(tmp_path / "data"), "tray"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "no display" in proc.stderr and "qt.qpa" not in proc.stderr and "Traceback" not in proc.stderr
