from __future__ import annotations

import sqlite3

import pytest

from bridge.records import Failure, Reason, ScannedFile, Stage
from bridge.state.ledger import SCHEMA_VERSION, Ledger, LedgerError
from bridge.state.rows import FailedFile, Removed, StageDone


def scanned(path: str, fp: str = "fp1:a", size: int = 10, mtime: int = 1) -> ScannedFile:
    return ScannedFile(path, size, mtime, "/photos", fp)


def test_migrates_and_records_schema_version(tmp_path):
    led = Ledger(tmp_path / "l.sqlite")
    assert led.schema_version() == SCHEMA_VERSION
    assert {"files", "content", "stages", "failures", "runs"} <= set(led.db.table_names())
    assert led.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused_with_an_instruction(tmp_path):
    p = tmp_path / "l.sqlite"
    Ledger(p).close()
    con = sqlite3.connect(p)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(LedgerError, match="newer Pixel Detective.*Upgrade"):
        Ledger(p)
    with pytest.raises(LedgerError, match="newer"):
        Ledger(p, readonly=True)


def test_record_scanned_is_an_upsert_and_sweep_removes_unseen(tmp_path):
    led = Ledger(tmp_path / "l.sqlite")
    led.record_scanned([scanned("/photos/a.jpg", "fp1:a"), scanned("/photos/b.jpg", "fp1:b")], scan_id=1)
    led.record_scanned([scanned("/photos/a.jpg", "fp1:a")], scan_id=2)
    assert set(led.files_under("/photos")) == {"/photos/a.jpg", "/photos/b.jpg"}
    gone = led.sweep("/photos", 2)
    assert gone == [Removed("/photos/b.jpg", "fp1:b")]
    assert set(led.files_under("/photos")) == {"/photos/a.jpg"}


def test_files_under_does_not_match_sibling_prefixes(tmp_path):
    led = Ledger(tmp_path / "l.sqlite")
    led.record_scanned([scanned("/photos/a.jpg"), scanned("/photos2/b.jpg", "fp1:b")], scan_id=1)
    assert set(led.files_under("/photos")) == {"/photos/a.jpg"}
    assert led.sweep("/photos", 99) == [Removed("/photos/a.jpg", "fp1:a")]
    assert led.file_by_path("/photos2/b.jpg") is not None


def test_commit_batch_is_one_transaction(tmp_path):
    led = Ledger(tmp_path / "l.sqlite")
    f = FailedFile(Failure("/photos/x.jpg", Stage.DECODE, Reason.TRUNCATED, "ends early"), 1, 2)
    with pytest.raises(RuntimeError), led.write():
        led.commit_batch(metadata=[("fp1:a", {"iso": 100})], metadata_version="m", failures=[f])
        raise RuntimeError("crash inside the batch")
    assert led.metadata_for(["fp1:a"]) == {}
    assert led.failures() == []
    led.commit_batch(
        metadata=[("fp1:a", {"iso": 100})],
        metadata_version="m",
        failures=[f],
        stages=[StageDone("fp1:a", Stage.EMBED, "M", "pid")],
    )
    led.commit_batch(failures=[f])
    assert led.metadata_for(["fp1:a"]) == {"fp1:a": {"iso": 100}}
    (row,) = led.failures()
    assert (row.reason, row.attempts, row.size, row.mtime_ns) == ("truncated", 2, 1, 2)
    assert led.done_fingerprints(Stage.EMBED, "M") == {"fp1:a"}


def test_stale_content_and_forget_keep_other_models(tmp_path):
    led = Ledger(tmp_path / "l.sqlite")
    led.commit_batch(
        metadata=[("fp1:a", {})],
        metadata_version="m",
        stages=[StageDone("fp1:a", Stage.EMBED, "A", "p1"), StageDone("fp1:a", Stage.EMBED, "B", "p2")],
    )
    assert led.stale_content("A") == ["fp1:a"]
    led.forget_content(["fp1:a"], embed_version="A")
    assert led.stage_counts() == {("embed", "B"): 1}
    assert led.stale_content("B") == ["fp1:a"]


def test_runs_interrupted_runs_are_marked(tmp_path):
    led = Ledger(tmp_path / "l.sqlite")
    first = led.start_run("index", {"roots": ["/p"]}, pid=1)
    second = led.start_run("index", {}, pid=2)
    led.finish_run(second, "completed", {"embedded": 3})
    runs = {r["id"]: r for r in led.runs()}
    assert runs[first]["status"] == "interrupted"
    assert runs[second]["summary"] == {"embedded": 3}


def test_readonly_open_of_missing_index_says_what_to_do(tmp_path):
    with pytest.raises(LedgerError, match="pixel-detective index"):
        Ledger(tmp_path / "none.sqlite", readonly=True)
