"""Ctrl-C stops after the current batch; R2: state files written atomically survive kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from bridge.engine import Engine
from tests.bridge.conftest import make_photos
from tests.reliability.ledger_peek import stage_count

pytestmark = pytest.mark.reliability


def test_ctrl_c_finishes_the_batch_then_exits_130_and_resumes(cli, settings, tmp_path):
    folder = tmp_path / "many"
    make_photos(folder, 1500, size=(64, 48))
    checkpoint = tmp_path / "checkpoint.json"
    args = ("index", str(folder), "--model", settings.model, "--batch-size", "16")
    proc = cli(*args, "--resume", "--checkpoint", str(checkpoint), wait=False)
    while stage_count(settings.ledger_path, "embed") < 100:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(60) == 130
    assert "stopping after the current batch" in proc.stderr.read()
    with Engine.open(settings) as engine:
        done = len(engine.ledger.done_fingerprints("embed", settings.model))
        assert engine.store().count() == done  # the batch in flight was finished and recorded, not dropped
        assert engine.ledger.runs(1)[0]["status"] == "stopped"
    assert json.loads(checkpoint.read_text())["processed"] >= done
    rest = cli(*args, "--json")
    assert rest.returncode == 0 and json.loads(rest.stdout)["embedded"] == 1500 - done


WRITER = """
import sys, itertools
from pathlib import Path
from bridge.cli.index_cmd import write_json_atomic
p = Path(sys.argv[1])
for i in itertools.count():
    write_json_atomic(p, {"i": i, "pad": "x" * 200_000})
"""


def test_checkpoint_file_always_parses_across_kill9(tmp_path):
    target = tmp_path / "state.json"
    for round_ in range(15):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
        started = time.monotonic()
        while not target.exists() and time.monotonic() - started < 30:
            time.sleep(0.01)
        time.sleep(0.05 + (round_ % 5) * 0.03)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = json.loads(target.read_text())  # the old or the new version, never a torn one
        assert set(data) == {"i", "pad"}
    from bridge.cli.index_cmd import write_json_atomic

    write_json_atomic(target, {"i": -1, "pad": ""})  # the next write clears temps left by killed writers
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
