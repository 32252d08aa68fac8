"""Ledger schema migrations: a ledger written before the sidecars table (schema 2) upgrades on open, once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bridge.state.ledger import Ledger, LedgerError, SidecarRow
from bridge.state.migrations import MIGRATIONS, SCHEMA_VERSION


def schema_2_ledger(path: Path) -> None:
    """A ledger as schema 2 left it: its own migrations, and content read with a sidecar merged in."""
    conn = sqlite3.connect(path)
    for _name, sql in MIGRATIONS[:2]:
        conn.executescript(sql)
    merged = {
        "rating": 1,
        "keywords": ["from sidecar"],
        "sidecar_file": "a.xmp",
        "metadata_sources": ["exif"],
    }
    plain = {"rating": 4, "metadata_sources": ["exif"]}
    conn.executemany(
        "INSERT INTO content (fingerprint, metadata, metadata_version, updated_at) VALUES (?, ?, 'meta1', 0)",
        [("fp1:merged", json.dumps(merged)), ("fp1:plain", json.dumps(plain))],
    )
    conn.execute(
        "INSERT INTO files (path, root, size, mtime_ns, fingerprint, added_at, updated_at) "
        "VALUES ('/p/a.jpg', '/p', 1, 1, 'fp1:merged', 0, 0)"
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()


def test_schema_2_ledger_upgrades_and_rereads_content_merged_with_a_sidecar(tmp_path):
    path = tmp_path / "ledger.sqlite"
    schema_2_ledger(path)
    reader = Ledger(path, readonly=True)  # only a writable open migrates
    assert reader.schema_version() == 2
    reader.close()
    led = Ledger(path)
    assert led.schema_version() == SCHEMA_VERSION == 3
    # Content read with a sidecar merged in is read again (its record becomes the embedded part only);
    # the rest stays done.
    assert led.content_versions() == {"fp1:merged": "", "fp1:plain": "meta1"}
    assert led.sidecar_stamps_under("/p") == {}
    led.record_sidecars([SidecarRow("/p/a.jpg", "a.xmp", 10, 20, {"rating": 1})])
    assert led.sidecar_stamps_under("/p") == {"/p/a.jpg": ("a.xmp", 10, 20)}
    led.close()

    again = Ledger(path)  # opening again migrates nothing, loses nothing
    assert again.schema_version() == 3
    assert again.sidecars_for(["/p/a.jpg"])["/p/a.jpg"].fields == {"rating": 1}
    assert again.content_versions()["fp1:merged"] == ""
    again.close()


def test_a_newer_ledger_is_refused(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="newer"):
        Ledger(path)


def test_a_photo_removed_takes_its_sidecar_row(tmp_path):
    led = Ledger(tmp_path / "ledger.sqlite")
    led.record_sidecars(
        [
            SidecarRow("/p/a.jpg", "a.xmp", 1, 1, {"rating": 2}),
            SidecarRow("/p/b.jpg", "b.jpg.xmp", 1, 1, {"rating": 3}),
        ]
    )
    led.remove_paths(["/p/a.jpg"])
    assert set(led.sidecar_stamps_under("/p")) == {"/p/b.jpg"}
    led.record_sidecars([], gone=["/p/b.jpg"])
    assert led.sidecar_stamps_under("/p") == {}
    led.close()
