"""R15: several processes writing the ledger at once → zero "database is locked" errors."""

from __future__ import annotations

import multiprocessing as mp
import traceback
from pathlib import Path

import pytest

from bridge.records import Failure, Reason, ScannedFile, Stage
from bridge.state.ledger import Ledger
from bridge.state.rows import FailedFile, StageDone

pytestmark = pytest.mark.reliability


def _writer(path: str, who: int, n: int, errors: mp.Queue) -> None:
    try:
        led = Ledger(Path(path))
        for i in range(n):
            fp = f"fp1:{who}-{i}"
            led.record_scanned([ScannedFile(f"/p/{who}/{i}.jpg", i, i, "/p", fp)], scan_id=who)
            led.commit_batch(
                metadata=[(fp, {"i": i})],
                metadata_version="m",
                stages=[StageDone(fp, Stage.EMBED, "M", f"id{who}-{i}")],
                failures=[FailedFile(Failure(f"/p/{who}/bad.jpg", Stage.DECODE, Reason.CORRUPT, "x"), 1, 1)],
            )
            if i % 10 == 0:
                led.runs()  # readers interleaved with writers
        led.close()
    except Exception:
        errors.put(traceback.format_exc())


def test_many_processes_write_without_lock_errors(tmp_path):
    path = str(tmp_path / "ledger.sqlite")
    Ledger(Path(path)).close()
    ctx = mp.get_context("spawn")
    errors = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, w, 150, errors)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    assert all(p.exitcode == 0 for p in procs)
    led = Ledger(Path(path))
    assert led.counts()["files"] == 6 * 150
    assert led.stage_counts() == {("embed", "M"): 900}
    assert {f.attempts for f in led.failures()} == {150}
    assert led.integrity_ok()
