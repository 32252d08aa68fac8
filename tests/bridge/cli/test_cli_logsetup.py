"""The CLI's logging: a warning logged with a traceback reaches the terminal as one line; the traceback goes to
the private log file (R49)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

_CODE = """
import logging
from bridge.cli import logsetup
logsetup.configure()
logsetup.configure()  # idempotent: still one line per record
logging.warning("a library warned through the root logger")  # would call basicConfig without ours
try:
    raise ValueError("internal-detail")
except ValueError:
    logging.getLogger("bridge.models.clip").warning("loading failed", exc_info=True)
print(logsetup.log_file())
"""


def test_warnings_are_one_line_and_tracebacks_stay_in_the_private_log(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.run(
        [sys.executable, "-c", _CODE], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "warning: a library warned through the root logger",
        "warning: loading failed",
    ]
    log = proc.stdout.strip()
    text = Path(log).read_text(encoding="utf-8")
    assert "Traceback" in text and "internal-detail" in text
    assert os.stat(log).st_mode & 0o777 == 0o600
