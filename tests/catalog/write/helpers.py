"""Direct sqlite3 checks used by the write tests (independent of catalog.write)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

TOUCHED = {
    "AgLibraryKeyword": "id_local, genealogy, imageCountCache, includeOnExport, includeParents, includeSynonyms,"
    " keywordType, lastApplied, lc_name, name, parent",
    "AgLibraryKeywordImage": "id_local, image, tag",
    "AgLibraryIPTC": "id_local, image, caption",
    "Adobe_images": "id_local, rating, typeof(rating), pick, typeof(pick), colorLabels, touchCount",
    "Adobe_variablesTable": "name, value, typeof(value)",
}


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def snapshot(path: Path, dest_dir: Path) -> sqlite3.Connection:
    """A connection to a copy of `.lrcat` + `-wal`: reading the original would checkpoint and delete its WAL."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            shutil.copyfile(src, dest_dir / (path.name + suffix))
    return connect(dest_dir / path.name)


def digest(path: Path) -> str:
    """Content of the tables a write touches (volatile id_global/dateCreated/touchTime left out)."""
    h = hashlib.sha256()
    conn = connect(path)
    try:
        for table, cols in TOUCHED.items():
            for row in conn.execute(f"SELECT {cols} FROM {table} ORDER BY 1"):
                h.update(repr(row).encode())
    finally:
        conn.close()
    return h.hexdigest()


def integrity(path: Path) -> str:
    conn = connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def counter(conn: sqlite3.Connection) -> tuple[float, str]:
    return conn.execute(
        "SELECT value, typeof(value) FROM Adobe_variablesTable WHERE name = 'Adobe_entityIDCounter'"
    ).fetchone()
