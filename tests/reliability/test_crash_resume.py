"""R1: kill -9 the indexer at a random batch, restart: every file indexed exactly once, rework ≤ one batch.
R4: a second process on the same data dir exits fast with a clear message; the first is unharmed.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time

import pytest

from bridge.engine import Engine
from bridge.indexing.payload import point_id
from tests.bridge.conftest import make_photos
from tests.reliability.ledger_peek import stage_count

pytestmark = pytest.mark.reliability
BATCH = 16


def kill_and_resume(cli, settings, folder, n_files: int, kill_after: int) -> None:
    args = ("index", str(folder), "--model", settings.model, "--batch-size", str(BATCH), "--workers", "2")
    proc = cli(*args, wait=False)
    deadline = time.monotonic() + 240
    while stage_count(settings.ledger_path, "embed") < kill_after:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "indexer made no progress"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with Engine.open(settings) as engine:
        in_ledger = len(engine.ledger.done_fingerprints("embed", settings.model))
        in_store = engine.store().count()
    assert in_ledger < n_files
    assert 0 <= in_store - in_ledger <= BATCH  # at most the batch in flight was upserted but not recorded
    done = cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    with Engine.open(settings) as engine:
        fps = {r.fingerprint for r in engine.ledger.files_under(str(folder)).values()}
        ids = [pid for pid, _, _ in engine.store().scroll()]
        assert len(fps) == n_files
        assert len(ids) == len(set(ids)) == n_files  # exactly once, no duplicates
        assert set(ids) == {point_id(fp, settings.model) for fp in fps}
        assert engine.ledger.done_fingerprints("embed", settings.model) == fps
        last = engine.ledger.runs(1)[0]["summary"]
        assert last["embedded"] == n_files - in_ledger  # rework: only what the ledger had not recorded


def test_kill9_during_indexing_then_resume(cli, settings, tmp_path):
    folder = tmp_path / "many"
    make_photos(folder, 2000, size=(64, 48))
    kill_and_resume(cli, settings, folder, 2000, kill_after=random.Random().randint(200, 1400))


@pytest.mark.slow
def test_kill9_repeatedly(cli, settings, tmp_path):
    folder = tmp_path / "many"
    make_photos(folder, 2000, size=(64, 48))
    for i in range(5):
        kill_and_resume(cli, settings, folder, 2000, kill_after=150 + i * 250)
        shutil.rmtree(settings.store_dir)  # start over for the next round
        for suffix in ("", "-wal", "-shm"):
            (settings.data_dir / f"ledger.sqlite{suffix}").unlink(missing_ok=True)


def test_second_process_is_refused_fast_and_first_unharmed(cli, settings, tmp_path):
    folder = tmp_path / "few"
    make_photos(folder, 20)
    first = cli("watch", str(folder), "--model", settings.model, wait=False)
    deadline = time.monotonic() + 60
    while not (settings.data_dir / "owner.json").exists():
        assert first.poll() is None, first.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    t = time.monotonic()
    second = cli("index", str(folder), "--model", settings.model, timeout=60)
    assert time.monotonic() - t < 15
    assert second.returncode == 75
    assert "another Pixel Detective process" in second.stderr and "watch" in second.stderr
    assert first.poll() is None  # still running
    os.killpg(first.pid, signal.SIGINT)
    assert first.wait(60) == 0
    again = cli("index", str(folder), "--model", settings.model)
    assert again.returncode == 0, again.stderr
