"""R45: the disk holding the index fills during a run: a clear message and a non-zero exit (never SIGBUS from
Qdrant Edge's memory maps), nothing half-written, and the index consistent once space returns (the next run
finishes the rest, every file exactly once).

The data dir is a small tmpfs mounted for the test (needs root and a container that allows mount).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bridge.engine import Engine
from bridge.indexing.payload import point_id
from tests.bridge.conftest import make_photos
from tests.reliability.ledger_peek import stage_count

pytestmark = pytest.mark.reliability
N = 400
BATCH = 8
MIN_FREE_MB = 450  # opening a Qdrant Edge shard preallocates ~330 MB (payload indexes)


@pytest.fixture
def small_data_dir(settings, tmp_path):
    """`settings.data_dir` on a 1.2 GB tmpfs, with the tiny model copied back in."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    keep = tmp_path / "models-aside"
    shutil.move(settings.data_dir, keep)
    settings.data_dir.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1200m", "tmpfs", str(settings.data_dir)], capture_output=True
    )
    if mounted.returncode != 0:
        shutil.rmtree(settings.data_dir)
        shutil.move(keep, settings.data_dir)
        pytest.skip(f"this container forbids mount: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        shutil.copytree(keep, settings.data_dir, dirs_exist_ok=True)
        yield settings.data_dir
    finally:
        subprocess.run(["umount", "-l", str(settings.data_dir)], check=False)


def _fill(folder: Path, leave_mb: int) -> Path:
    """A file that leaves `leave_mb` MB free on the disk holding `folder` (tmpfs: real pages, no holes)."""
    filler = folder / "filler.bin"
    free = shutil.disk_usage(folder).free - leave_mb * 1024 * 1024
    with open(filler, "wb") as f:
        chunk = b"\xff" * (1024 * 1024)
        for _ in range(max(0, free) // len(chunk)):
            f.write(chunk)
    return filler


@pytest.mark.slow  # CI time: the default run keeps test_disk_full_store.py's full-disk imports; `scripts/test.sh -m slow` runs this
def test_disk_fills_during_a_run_then_space_returns(cli, settings, small_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PIXEL_DETECTIVE_MIN_FREE_MB", str(MIN_FREE_MB))
    folder = tmp_path / "photos"  # the photos are elsewhere: only the index's disk fills
    make_photos(folder, N, size=(64, 48))
    args = ("index", str(folder), "--model", settings.model, "--workers", "2", "--batch-size", str(BATCH))
    proc = cli(*args, wait=False)
    deadline = time.monotonic() + 120
    while stage_count(settings.ledger_path, "embed") < 2 * BATCH:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the indexer made no progress"
        time.sleep(0.02)
    # Another program fills the disk. The indexer (and its workers, same process group) is paused meanwhile so a
    # fast machine cannot finish all N photos before the disk is full; the pause itself changes nothing it sees.
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        filler = _fill(small_data_dir, leave_mb=300)  # above what opening the store needs
    finally:
        os.killpg(proc.pid, signal.SIGCONT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode not in (-signal.SIGBUS, 128 + signal.SIGBUS), "died of SIGBUS"
    assert proc.returncode == 1, err
    assert "free space" in err and "min_free_mb" in err and "Traceback" not in err, err

    # Still full: the next run refuses at once, before it opens (and would grow) the store.
    refused = cli(*args)
    assert refused.returncode == 1 and "free space" in refused.stderr, refused.stderr
    # Search on the same nearly full disk: opening the store would take ~300 MB of it (measured on tmpfs), so it
    # is refused in words, not killed by SIGBUS.
    starved = cli("search", "a photo", "--model", settings.model)
    assert starved.returncode == 1, (starved.returncode, starved.stderr)
    assert (
        "not enough free space to open the search index" in starved.stderr
        and "Traceback" not in starved.stderr
    )

    filler.unlink()  # space returns
    # Nothing half-written: every recorded vector is in the store; the store is ahead by at most the batch
    # in flight (store first, ledger last), and no file was marked failed for the disk.
    with Engine.open(settings) as engine:
        done = engine.ledger.done_fingerprints("embed", settings.model)
        ids = {pid for pid, _, _ in engine.store().scroll()}
        assert engine.ledger.integrity_ok()
        assert {point_id(fp, settings.model) for fp in done} <= ids
        assert len(ids) - len(done) <= BATCH
        assert 2 * BATCH <= len(done) < N
        assert engine.ledger.failures() == []
        assert [r["status"] for r in engine.ledger.runs(5)] == ["failed"]  # the refusal started no run

    done_run = cli(*args, "--json")
    assert done_run.returncode == 0, done_run.stderr
    summary = json.loads(done_run.stdout)
    assert summary["embedded"] == N - len(done)  # only what was not recorded
    with Engine.open(settings) as engine:
        fps = {r.fingerprint for r in engine.ledger.files_under(str(folder)).values()}
        ids_list = [pid for pid, _, _ in engine.store().scroll()]
        assert len(fps) == N
        assert len(ids_list) == len(set(ids_list)) == N
        assert set(ids_list) == {point_id(fp, settings.model) for fp in fps}
        assert engine.ledger.done_fingerprints("embed", settings.model) == fps
