"""Verified copy: the only way this package reads a catalog (R12).

Why a copy: opening the original with SQLite, even read-only, can fail on a WAL catalog or, read-write,
checkpoint the WAL into the user's file when the last connection closes. So we copy `.lrcat` and `-wal` (the
`-shm` is only an index SQLite rebuilds), check that nothing changed while copying (size and mtime of both,
plus a hash of the WAL, whose appends may not move mtime within its granularity), retry a few times, and run
`PRAGMA quick_check` on the copy. The WAL is then folded into the copy, never into the original.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from catalog.errors import CatalogError

WAL_SUFFIX = "-wal"


@dataclass(frozen=True)
class _Stamp:
    size: int
    mtime_ns: int


def _stamp(path: Path) -> _Stamp | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return _Stamp(st.st_size, st.st_mtime_ns)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _wal(path: Path) -> Path:
    return path.with_name(path.name + WAL_SUFFIX)


def _copy_once(src: Path, dest_dir: Path) -> Path | None:
    """One attempt; None when the source changed during the copy."""
    wal = _wal(src)
    before = (_stamp(src), _stamp(wal))
    if before[0] is None:
        raise CatalogError(f"catalog not found: {src}")
    dest = dest_dir / src.name
    for stale in (dest, _wal(dest), dest.with_name(dest.name + "-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(src, dest)  # copyfile, not copy2: reads only, sets nothing on the source
    if before[1] is not None:
        shutil.copyfile(wal, _wal(dest))
    after = (_stamp(src), _stamp(wal))
    if after != before:
        return None
    if before[1] is not None and _sha256(wal) != _sha256(_wal(dest)):
        return None
    return dest


def verified_copy(src: Path, dest_dir: Path | None = None, attempts: int = 4, pause: float = 0.2) -> Path:
    """Copy the catalog (+ WAL) into `dest_dir` (a new temp dir by default) and check the copy."""
    src = Path(src)
    dest_dir = Path(dest_dir) if dest_dir else Path(tempfile.mkdtemp(prefix="pd-lrcat-"))
    dest_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(attempts):
        dest = _copy_once(src, dest_dir)
        if dest is not None:
            _check_and_fold(dest)
            return dest
        time.sleep(pause * (attempt + 1))
    raise CatalogError(f"{src} kept changing while it was copied ({attempts} tries): is Lightroom running?")


def _check_and_fold(copy: Path) -> None:
    """quick_check the copy, then checkpoint its WAL into it so later read-only opens need no -shm writes."""
    try:
        conn = sqlite3.connect(copy, isolation_level=None)
        try:
            result = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if result != ["ok"]:
                raise CatalogError(f"the catalog copy failed PRAGMA quick_check: {'; '.join(result[:5])}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"the catalog copy is not a readable SQLite database: {exc}") from exc
