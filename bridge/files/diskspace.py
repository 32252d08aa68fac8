"""Free-space checks and "the disk is full" recognition, shared by the stores, the ledger, export/import,
the indexing run and the CLI (R45).

Why up front: Qdrant Edge writes through memory maps, and a map that cannot grow kills the process with
SIGBUS (exit 135, no message, no chance to clean up). The only defence is to refuse work that would not
fit before it starts; `ensure_free` does that. Where a write fails anyway (another program filled the
disk meanwhile), `is_disk_full` recognises the error so the caller can clean up and say so in words.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

# Kept free on top of every estimate: the OS, the ledger's WAL and Edge's WAL segments need room to
# breathe, and estimates from file sizes are not exact.
DEFAULT_MARGIN = 64 * 1024 * 1024

_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
# How the libraries underneath word it when they do not hand back an OSError: SQLite (SQLITE_FULL),
# Rust's io::Error inside Qdrant Edge ("No space left on device (os error 28)"), quota errors.
_FULL_TEXTS = ("database or disk is full", "no space left on device", "disk quota exceeded", "os error 28")
SQLITE_FULL = 13


class DiskFullError(Exception):
    """Not enough free space for `what` at `path`. The message says how much is needed and what to do."""

    def __init__(self, message: str, *, path: Path, need: int = 0, free: int = 0) -> None:
        super().__init__(message)
        self.path = path
        self.need = need
        self.free = free


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KB': sizes in messages people read (decimal units, as file managers show them)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # unreachable; keeps type checkers content


def _existing(path: Path) -> Path:
    """The nearest existing folder at or above `path` (what is about to be created lives on its disk)."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p if p.is_dir() else p.parent


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer can still use on the filesystem holding `path` (or its parent)."""
    return shutil.disk_usage(_existing(path)).free


def same_disk(a: Path, b: Path) -> bool:
    """Whether two paths (existing or about to be) are on one filesystem, so their needs add up."""
    return os.stat(_existing(a)).st_dev == os.stat(_existing(b)).st_dev


def ensure_free(path: Path, need_bytes: int, what: str, *, margin: int = DEFAULT_MARGIN) -> None:
    """Raise DiskFullError unless `need_bytes` (+ `margin`) fit on the disk holding `path`.

    `what` completes "not enough free space to …", e.g. "import the index".
    """
    free = free_bytes(path)
    need = max(0, int(need_bytes)) + margin
    if free >= need:
        return
    where = _existing(path)
    raise DiskFullError(
        f"not enough free space to {what}: it needs about {human_bytes(need)} on the disk holding "
        f"{where}, which has {human_bytes(free)} free. Free up {human_bytes(need - free)} or more "
        "(or use another --data-dir / destination) and run it again; nothing was changed.",
        path=where,
        need=need,
        free=free,
    )


def is_disk_full(exc: BaseException | None) -> bool:
    """True when `exc` (or anything it was raised from) says the disk or quota is full.

    Recognises OSError ENOSPC/EDQUOT, SQLite's SQLITE_FULL ("database or disk is full") and the text the
    Rust layers (Qdrant Edge) put in their messages.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL:
            return True
        if any(t in str(exc).lower() for t in _FULL_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def disk_full_message(path: Path, what: str) -> str:
    """The sentence for a write that ran out of space part-way (after `is_disk_full` said so)."""
    where = _existing(path)
    return (
        f"the disk holding {where} is full: could not {what} ({human_bytes(free_bytes(where))} free). "
        "Free up space and run it again."
    )


def tree_size(path: Path) -> int:
    """Bytes used by the files under `path` (0 when it does not exist): the basis of the estimates."""
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(p):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue  # removed while we walked: it needs no space
    return total
