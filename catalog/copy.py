"""Verified copy: the only way this package reads a catalog (R12, R47).

Why a copy: opening the original with SQLite, even read-only, can fail on a WAL catalog or, read-write,
checkpoint the WAL into the user's file when the last connection closes. So we copy `.lrcat` with its `-wal`
(LrC 7+) or its `-journal` (LR 3–6, rollback mode), check that nothing changed while copying (size and mtime of
each, plus a hash of the WAL/journal, whose appends may not move mtime within its granularity), retry a few
times, and run `PRAGMA quick_check` on the copy.

The `-journal` matters: after a write that crashed (kill -9, power cut) in rollback mode, the `.lrcat` holds
half-written pages and the *hot* journal holds the originals. SQLite rolls such a journal back the next time it
opens the database, so a copy taken together with its journal reads as the state before the crashed write; a
copy without it reads half-written pages ("database disk image is malformed", or worse, wrong data). The `-shm`
is not copied: it is only an index of the WAL that SQLite rebuilds from the WAL when the first connection opens,
and a copied one could be out of step with the copied WAL. The WAL (or journal) is then folded into the copy,
never into the original.

Everything is bounded: only regular files are opened (a FIFO named `-wal` cannot block us), the byte copy and
every SQLite statement on the copy run under a deadline (`budget.py`).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from catalog.budget import READ_BUDGET_S, time_budget, too_slow
from catalog.errors import CatalogError
from catalog.fsutil import NotRegularFile, open_regular, regular_stat

WAL_SUFFIX = "-wal"
JOURNAL_SUFFIX = "-journal"
COMPANIONS = (WAL_SUFFIX, JOURNAL_SUFFIX)  # copied with the catalog when present
_CHUNK = 4 << 20


@dataclass(frozen=True)
class _Stamp:
    size: int
    mtime_ns: int


def _stamp(path: Path) -> _Stamp | None:
    try:
        st = regular_stat(path)
    except NotRegularFile as exc:
        raise CatalogError(f"{path.name} is {exc.strerror}: refusing to read it as a catalog") from exc
    return None if st is None else _Stamp(st.st_size, st.st_mtime_ns)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    fd = open_regular(path)
    try:
        while block := os.read(fd, _CHUNK):
            h.update(block)
    finally:
        os.close(fd)
    return h.hexdigest()


def _companion(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _wal(path: Path) -> Path:
    return _companion(path, WAL_SUFFIX)


def _copy_bytes(src: Path, dest: Path, deadline: float, budget: float) -> None:
    """Byte copy that reads only (sets nothing on the source) and gives up past the deadline."""
    fd = open_regular(src)
    try:
        with open(dest, "wb") as out:
            while block := os.read(fd, _CHUNK):
                out.write(block)
                if time.monotonic() > deadline:
                    raise too_slow(f"copying {src.name}", budget)
    finally:
        os.close(fd)


def _copy_once(src: Path, dest_dir: Path, deadline: float, budget: float) -> Path | None:
    """One attempt; None when the source changed during the copy."""
    files = [src, *(_companion(src, s) for s in COMPANIONS)]
    before = [_stamp(f) for f in files]
    if before[0] is None:
        raise CatalogError(f"catalog not found: {src}")
    dest = dest_dir / src.name
    for stale in (dest, _wal(dest), _companion(dest, JOURNAL_SUFFIX), _companion(dest, "-shm")):
        stale.unlink(missing_ok=True)
    for f, stamp in zip(files, before, strict=True):
        if stamp is not None:
            _copy_bytes(f, dest_dir / f.name, deadline, budget)
    if [_stamp(f) for f in files] != before:
        return None
    for f, stamp in zip(files[1:], before[1:], strict=True):
        if stamp is not None and _sha256(f) != _sha256(dest_dir / f.name):
            return None
    return dest


def verified_copy(
    src: Path,
    dest_dir: Path | None = None,
    attempts: int = 4,
    pause: float = 0.2,
    budget: float = READ_BUDGET_S,
) -> Path:
    """Copy the catalog (+ WAL or hot journal) into `dest_dir` (a new temp dir by default) and check the copy.

    Raises CatalogError (CatalogTooSlow past `budget` seconds for the copy, and again for the check)."""
    src = Path(src)
    dest_dir = Path(dest_dir) if dest_dir else Path(tempfile.mkdtemp(prefix="pd-lrcat-"))
    dest_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + budget
    for attempt in range(attempts):
        try:
            dest = _copy_once(src, dest_dir, deadline, budget)
        except NotRegularFile as exc:
            raise CatalogError(f"{Path(exc.filename).name} is {exc.strerror}: not read") from exc
        except OSError as exc:
            raise CatalogError(f"cannot copy {src.name}: {exc.strerror or exc}") from exc
        if dest is not None:
            _check_and_fold(dest, budget)
            return dest
        time.sleep(pause * (attempt + 1))
    raise CatalogError(f"{src} kept changing while it was copied ({attempts} tries): is Lightroom running?")


def _check_and_fold(copy: Path, budget: float) -> None:
    """quick_check the copy (rolling back a hot journal first: SQLite does that on this first read), then
    checkpoint its WAL into it so later read-only opens need no -shm writes."""
    try:
        conn = sqlite3.connect(copy, isolation_level=None)
        try:
            with time_budget(conn, budget, f"checking the copy of {copy.name}"):
                result = [row[0] for row in conn.execute("PRAGMA quick_check")]
                if result != ["ok"]:
                    raise CatalogError(f"the catalog copy failed PRAGMA quick_check: {'; '.join(result[:5])}")
                if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"{copy.name} is not a readable SQLite database ({exc})") from exc
