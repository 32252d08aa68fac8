"""Timestamped backup next to the catalog: `<dir>/Pixel Detective Backups/<stem> <UTC time>/`.

Inside: `<name>.lrcat` made with SQLite's backup API while the writer holds the write
lock, through a second read-only connection (so it is exactly the state the transaction starts from, WAL
content included, and opens on its own);
`<name>.lrcat-wal.original`, a byte copy of the `-wal` at that moment (renamed so SQLite never pairs it with the
backup by accident); and a copy of the `<name>.lrcat-data` folder. What each write added is recorded
separately, in `writes/` beside the backups (record.py; versions before it wrote `applied.json` in here,
which `record.load_all` still reads).

Restore = close Lightroom, move the catalog's `.lrcat`, `-wal`, `-shm` away, copy the backup `.lrcat` back.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

BACKUP_DIR = "Pixel Detective Backups"
RECORD = "applied.json"  # legacy: written by versions before records/ (record.py)


def backup_root(catalog: Path) -> Path:
    return catalog.parent / BACKUP_DIR


def make_backup(conn: sqlite3.Connection, catalog: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H-%M-%S-%f")
    dest = backup_root(catalog) / f"{catalog.stem} {stamp}"
    dest.mkdir(parents=True, exist_ok=False)
    # A second, read-only connection: SQLite's backup cannot read through a connection in a write transaction.
    # Ours holds the write lock (BEGIN IMMEDIATE) and has not written yet, so this reads the starting state.
    del conn
    reader = sqlite3.connect(f"{catalog.as_uri()}?mode=ro", uri=True, timeout=10.0)
    target = sqlite3.connect(dest / catalog.name)
    try:
        reader.backup(target)  # pages=-1: one read transaction, one consistent snapshot
    finally:
        target.close()
        reader.close()
    wal = catalog.with_name(catalog.name + "-wal")
    if wal.is_file() and wal.stat().st_size:
        shutil.copyfile(wal, dest / (wal.name + ".original"))
    data = catalog.with_name(catalog.name + "-data")
    if data.is_dir():
        shutil.copytree(data, dest / data.name)
    return dest
