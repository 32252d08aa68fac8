"""The guarded write session shared by `apply` and `remove_ours`.

lock check (CatalogLocked) → connect to the original → version gate (UnsupportedCatalog, R14) → `BEGIN
IMMEDIATE` (a busy database = locked) → backup from this connection under the write lock → caller's writes →
COMMIT → `PRAGMA integrity_check` → `wal_checkpoint(TRUNCATE)` in WAL mode. Any error before COMMIT rolls back;
a kill -9 leaves SQLite's journal/WAL to restore the old state on the next open (R13). We never delete a -wal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from catalog.errors import CatalogError, CatalogLocked
from catalog.lock import ensure_closed
from catalog.version import CatalogVersion, read_version
from catalog.write.backup import make_backup

WRITE_HINT = "Close Lightroom, or use the Lightroom plugin to write."


@dataclass
class Session:
    conn: sqlite3.Connection
    version: CatalogVersion
    backup: Path
    integrity: str = "not run"
    wal_checkpointed: bool = False


def _locked(reason: str, source: Path) -> CatalogLocked:
    return CatalogLocked(f"Lightroom has this catalog open ({reason}): {source}. {WRITE_HINT}")


@contextmanager
def write_session(catalog_path: str | Path, lock_timeout: float = 5.0) -> Iterator[Session]:
    source, _ = ensure_closed(catalog_path, lock_timeout, hint=WRITE_HINT)
    conn = sqlite3.connect(source, isolation_level=None, timeout=1.0)
    try:
        version = read_version(conn)  # before anything else: unknown layouts are never written (R14)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _locked(f"SQLite: {exc}", source) from exc
        try:
            session = Session(conn, version, make_backup(conn, source))
            yield session
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        session.integrity = "ok" if result == ["ok"] else "; ".join(result[:5])
        if session.integrity != "ok":
            raise CatalogError(
                f"integrity_check failed after writing {source.name}: {session.integrity}. "
                f"Restore the backup in {session.backup}"
            )
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            session.wal_checkpointed = True
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"writing {source.name} failed (nothing was changed): {exc}") from exc
    finally:
        conn.close()
