"""R49: every CLI command with wrong, missing or hostile arguments gets a message and an exit code, never a
traceback, never a hang, never an anonymous "internal error".

The cases come from the command tree (cli_misuse_driver.py), so new commands and options are covered as they
are added. They run in one subprocess through the real entry point `bridge.cli.app.main`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.reliability

DOCUMENTED_CODES = {0, 1, 2, 4, 75, 130}
# Values a command cannot possibly accept: a path to nothing, a FIFO, a folder where a file is expected, …
MUST_FAIL = {"missing", "fifo", "fifo_jpg", "traversal", "where_junk"}  # where_junk: only as a --where


def _run_driver(tmp_path: Path, only: str = "") -> list[dict]:
    out = tmp_path / "cases.jsonl"
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),  # crash logs and per-user folders stay in the test's tree
        "XDG_STATE_HOME": str(tmp_path / "home" / "state"),
        "PIXEL_DETECTIVE_BRIDGE_DIR": str(tmp_path / "bridge-dir"),
        "HF_HUB_OFFLINE": "1",
        "QT_QPA_PLATFORM": "offscreen",
    }
    env.pop("PIXEL_DETECTIVE_DATA_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability.cli_misuse_driver", str(out), only],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return [json.loads(line) for line in out.read_text().splitlines()]


def _problems(records: list[dict]) -> list[str]:
    bad = []
    for r in records:
        text, code, case = r["output"], r["code"], r["case"]
        why = []
        if code == "hang":
            why.append("hung")
        elif code not in DOCUMENTED_CODES:
            why.append(f"exit {code}")
        if "Traceback (most recent call last)" in text or 'File "/' in text:
            why.append("traceback")
        if "internal error" in text:
            why.append("internal error")
        param, _, value = case.partition(": ")[2].rpartition("=")
        if value in MUST_FAIL and code == 0 and (value != "where_junk" or param == "where"):
            why.append("accepted an impossible value")
        if code not in (0, "hang") and not text.strip():
            why.append("failed silently")
        if why:
            bad.append(f"{case} [{', '.join(why)}]: {r['argv'][:4]} -> {text.strip()[-300:]!r}")
    return bad


def _judge(records: list[dict], at_least: int) -> None:
    commands = {r["case"].split(":")[0] for r in records}
    assert len(commands) >= 25, commands  # the walk really found the command tree
    assert len(records) >= at_least
    problems = _problems(records)
    assert not problems, f"{len(problems)} of {len(records)} cases:\n" + "\n".join(problems)


@pytest.mark.slow  # ~1-2 min; the default run keeps the sample below
def test_every_command_with_bad_arguments_answers_with_a_message(tmp_path):
    """Every hostile value in every parameter of every command (~1,100 cases, about a minute)."""
    _judge(_run_driver(tmp_path), at_least=1000)


@pytest.mark.parametrize("command", ["search", "catalog write"])
def test_a_sample_of_commands_with_bad_arguments_answers_with_a_message(tmp_path, command):
    """The same judge on the cases of a few commands (the whole walk is slow)."""
    records = _run_driver(tmp_path, only=f"{command}:")
    assert {r["case"].split(":")[0] for r in records} == {command}
    assert len(records) >= 20
    problems = _problems(records)
    assert not problems, f"{len(problems)} of {len(records)} cases:\n" + "\n".join(problems)


def test_an_unexpected_error_is_one_line_and_a_private_crash_log(tmp_path):
    """The last line of defence itself: an internal error prints one line naming a 0600 crash log."""
    home = tmp_path / "home"
    code = (
        "import sys\n"
        "from bridge.cli import app as a, info_cmd\n"
        "def boom(): raise KeyError('secret-internal-detail')\n"
        "a.app.registered_commands = [c for c in a.app.registered_commands if c.name != 'status']\n"
        "a.app.command('status')(boom)\n"
        "sys.argv = ['pixel-detective', 'status']\n"
        "a.main()\n"
    )
    env = {**os.environ, "HOME": str(home), "XDG_STATE_HOME": str(home / "state")}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "secret-internal-detail" not in proc.stderr
    assert "internal error (KeyError)" in proc.stderr
    logs = list((home / "state").rglob("crash-*.log"))
    assert len(logs) == 1
    assert logs[0].stat().st_mode & 0o777 == 0o600
    assert "secret-internal-detail" in logs[0].read_text()
