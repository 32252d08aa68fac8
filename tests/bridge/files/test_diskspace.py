"""bridge/files/diskspace.py on real failures: /dev/full's ENOSPC, SQLite's SQLITE_FULL, a need bigger than the disk."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from bridge.files.diskspace import (
    DiskFullError,
    ensure_free,
    free_bytes,
    human_bytes,
    is_disk_full,
    tree_size,
)


def test_ensure_free_refuses_with_a_human_message(tmp_path: Path):
    ensure_free(tmp_path, 1024, "do a small thing")  # fits: no error
    with pytest.raises(DiskFullError) as e:
        ensure_free(tmp_path / "not" / "yet", free_bytes(tmp_path) * 2, "import the index")
    msg = str(e.value)
    assert msg.startswith("not enough free space to import the index") and "nothing was changed" in msg
    assert e.value.need > e.value.free and e.value.path == tmp_path


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_recognises_enospc_and_what_is_raised_from_it():
    with pytest.raises(OSError) as e, open("/dev/full", "wb") as f:
        f.write(b"x")
        f.flush()
    assert is_disk_full(e.value)
    try:
        raise RuntimeError("store write failed") from e.value
    except RuntimeError as wrapped:
        assert is_disk_full(wrapped)
    assert not is_disk_full(ValueError("bad value")) and not is_disk_full(None)


def test_recognises_sqlite_full(tmp_path: Path):
    con = sqlite3.connect(tmp_path / "db.sqlite")
    con.execute("PRAGMA max_page_count = 2")  # a real SQLITE_FULL, as on a full disk
    con.execute("CREATE TABLE t (x BLOB)")
    with pytest.raises(sqlite3.OperationalError) as e:
        con.execute("INSERT INTO t VALUES (zeroblob(100000))")
    assert is_disk_full(e.value)


def test_tree_size_and_human_bytes(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"\0" * 1500)
    (tmp_path / "g").write_bytes(b"\0" * 500)
    assert tree_size(tmp_path) == 2000 and tree_size(tmp_path / "g") == 500 and tree_size(tmp_path / "x") == 0
    assert (
        human_bytes(999) == "999 bytes" and human_bytes(1500) == "1.5 KB" and human_bytes(2.5e9) == "2.5 GB"
    )
