"""The guarded write session shared by `apply` and `remove_ours`.

lock check (CatalogLocked) → connect to the original → version gate (UnsupportedCatalog, R14) → `BEGIN
IMMEDIATE` (a busy database = locked) → schema gate: no view or trigger Lightroom does not create
(HostileCatalog, R47) and every column the write touches present and typed as Lightroom types it
(UnsupportedCatalog, `columns.py`); both checked under the write lock, before the backup, so a refusal leaves
nothing behind →
backup from this connection under the write lock → caller's writes → COMMIT → after-commit hooks (the write
record is marked committed) → `PRAGMA integrity_check` → `wal_checkpoint(TRUNCATE)` in WAL mode.
Everything up to COMMIT runs under a time budget (CatalogTooSlow, rolled back). Any error before COMMIT rolls
back; a kill -9 leaves SQLite's journal/WAL to restore the old state on the next open (R13). We never delete a
-wal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from catalog.budget import WRITE_BUDGET_S, time_budget
from catalog.errors import CatalogError, CatalogLocked, UnsupportedCatalog
from catalog.lock import ensure_closed
from catalog.lrschema import check_writable
from catalog.schema import table_info
from catalog.version import CatalogVersion, read_version
from catalog.write.backup import make_backup
from catalog.write.columns import refusal_reason, write_problems

WRITE_HINT = "Close Lightroom, or use the Lightroom plugin to write."


@dataclass
class Session:
    conn: sqlite3.Connection
    version: CatalogVersion
    backup: Path
    integrity: str = "not run"
    wal_checkpointed: bool = False
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _locked(reason: str, source: Path) -> CatalogLocked:
    return CatalogLocked(f"Lightroom has this catalog open ({reason}): {source}. {WRITE_HINT}")


@contextmanager
def _transaction(conn: sqlite3.Connection, source: Path, budget: float) -> Iterator[Session]:
    """Version gate, BEGIN IMMEDIATE, schema gate, backup; COMMIT when the body returns, else ROLLBACK."""
    with time_budget(conn, budget, f"writing {source.name}"):
        version = read_version(conn)  # before anything else: unknown layouts are never written (R14)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _locked(f"SQLite: {exc}", source) from exc
        try:
            check_writable(conn, source)
            problems = write_problems(lambda table: table_info(conn, table))
            if problems:
                raise UnsupportedCatalog(
                    version.raw, reason=refusal_reason(source.name, version.raw, problems)
                )
            session = Session(conn, version, _backup(conn, source))
            if version.warning:
                session.warnings.append(version.warning)
            yield session
            conn.execute("COMMIT")
        except BaseException:
            conn.set_progress_handler(None, 0)  # the ROLLBACK itself must not be interrupted
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _backup(conn: sqlite3.Connection, source: Path) -> Path:
    try:
        return make_backup(conn, source)
    except OSError as exc:  # disk full, read-only folder, a FIFO in .lrcat-data …
        raise CatalogError(
            f"could not back up {source.name} ({exc.strerror or exc}); nothing was written"
        ) from exc


def _after_commit(session: Session, source: Path) -> None:
    for hook in session.after_commit:
        try:
            hook()
        except OSError as exc:  # the write is committed; say what could not be recorded
            session.warnings.append(f"written, but {exc.strerror or exc} ({exc.filename or source.name})")
    result = [r[0] for r in session.conn.execute("PRAGMA integrity_check")]
    session.integrity = "ok" if result == ["ok"] else "; ".join(result[:5])
    if session.integrity != "ok":
        raise CatalogError(
            f"integrity_check failed after writing {source.name}: {session.integrity}. "
            f"Restore the backup in {session.backup}"
        )
    if session.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        session.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        session.wal_checkpointed = True


@contextmanager
def write_session(
    catalog_path: str | Path, lock_timeout: float = 5.0, budget: float = WRITE_BUDGET_S
) -> Iterator[Session]:
    source, _ = ensure_closed(catalog_path, lock_timeout, hint=WRITE_HINT)
    try:
        conn = sqlite3.connect(source, isolation_level=None, timeout=1.0)
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"cannot open {source.name} for writing: {exc}") from exc
    try:
        try:
            with _transaction(conn, source, budget) as session:
                yield session
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"writing {source.name} failed (nothing was changed): {exc}") from exc
        try:
            _after_commit(session, source)
        except sqlite3.DatabaseError as exc:
            raise CatalogError(
                f"{source.name} was written, but checking it afterwards failed ({exc}). "
                f"The backup is in {session.backup}"
            ) from exc
    finally:
        conn.close()
