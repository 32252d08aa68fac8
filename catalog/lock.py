"""Is Lightroom using this catalog? Decided without taking any lock and without opening it with SQLite.

Two signals, either one means "open":
1. `<name>.lrcat.lock` whose PID is alive. The file reportedly holds the program path and the PID on separate
   lines; we take the last line that is a plain integer. A lock file with no PID we can read counts as open
   (we cannot prove it stale). A dead PID is stale (R11): newer Lightroom ignores it too.
2. A SQLite lock held by another process on the catalog file. SQLite's unix VFS takes POSIX byte-range locks
   at PENDING_BYTE (1 GiB) .. +512 (PENDING, RESERVED, SHARED range). A WAL-mode connection keeps its SHARED
   lock for as long as it is open, and Lightroom runs with an exclusive lock. We *ask* the kernel with
   `fcntl(F_GETLK)` whether a write lock on that range would conflict: this takes no lock, writes nothing,
   and cannot checkpoint the WAL, unlike a SQLite open of the original (R12). The file is opened O_RDONLY.
   Caveat: F_GETLK does not see locks held by our own process (POSIX semantics), so tests hold locks from a
   child process. On Windows (no fcntl) only the lock file is checked here; see README "unfinished".

The probe runs in a worker thread and gives up after `timeout` seconds (R10: a hung network share must not
hang the caller); a probe that does not finish reports the catalog as open, the safe answer.
"""

from __future__ import annotations

import concurrent.futures
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from catalog.fsutil import NotRegularFile, open_regular, read_regular, regular_stat

_LOCK_FILE_MAX = 64 << 10  # path + PID; anything bigger is not a Lightroom lock file

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

PENDING_BYTE = 0x40000000
LOCK_RANGE = 2 + 510  # PENDING + RESERVED + SHARED_SIZE bytes, as in sqlite3's os_unix.c


@dataclass(frozen=True)
class LockStatus:
    is_open: bool
    reason: str
    lock_file: Path | None = None
    pid: int | None = None


def lock_file_for(catalog: Path) -> Path:
    return catalog.with_name(catalog.name + ".lock")


def parse_lock_pid(text: str) -> int | None:
    """The PID is the last line that is a bare positive integer (program path comes first)."""
    for line in reversed(text.splitlines()):
        line = line.strip().strip("\x00")
        if line.isdigit() and int(line) > 0:
            return int(line)
    return None


def pid_alive(pid: int) -> bool:
    try:
        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:  # exists, owned by someone else
        return True


def sqlite_lock_held(catalog: Path) -> bool:
    """True when another process holds any SQLite lock (shared or stronger) on the catalog file."""
    if fcntl is None:
        return False
    fd = open_regular(catalog)  # O_NONBLOCK: a FIFO swapped in for the catalog cannot hang the probe
    try:
        if sys.platform == "darwin":  # struct flock: l_start, l_len, l_pid, l_type, l_whence
            probe = struct.pack("qqihh", PENDING_BYTE, LOCK_RANGE, 0, fcntl.F_WRLCK, os.SEEK_SET)
            answer = fcntl.fcntl(fd, fcntl.F_GETLK, probe)
            l_type = struct.unpack("qqihh", answer)[3]
        else:  # Linux: l_type, l_whence, l_start, l_len, l_pid (+ padding)
            probe = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, PENDING_BYTE, LOCK_RANGE, 0)
            answer = fcntl.fcntl(fd, fcntl.F_GETLK, probe)
            l_type = struct.unpack("hhqqi4x", answer)[0]
        return l_type != fcntl.F_UNLCK
    finally:
        os.close(fd)


def _probe(catalog: Path) -> LockStatus:
    lock_file = lock_file_for(catalog)
    pid: int | None = None
    if lock_file.exists():
        try:  # only a regular file is read: a FIFO named .lrcat.lock would block a plain read forever
            pid = parse_lock_pid(read_regular(lock_file, _LOCK_FILE_MAX).decode("utf-8", errors="replace"))
        except OSError:  # FIFO, folder, huge or unreadable: cannot prove it stale, so "open" below
            pid = None
        if pid is None:
            return LockStatus(True, f"lock file {lock_file.name} has no readable PID", lock_file)
        if pid_alive(pid):
            return LockStatus(True, f"lock file {lock_file.name} names running process {pid}", lock_file, pid)
    if sqlite_lock_held(catalog):
        return LockStatus(True, "another process holds a SQLite lock on the catalog", None, pid)
    if pid is not None:
        return LockStatus(False, f"stale lock file (process {pid} is not running)", lock_file, pid)
    return LockStatus(False, "no lock file and no SQLite lock")


def check_lock(catalog: Path, timeout: float = 5.0) -> LockStatus:
    """Report whether the catalog is open, within `timeout` seconds."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lrcat-lock")
    try:
        return pool.submit(_probe, Path(catalog)).result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        return LockStatus(True, f"lock check did not finish within {timeout:g} s; assuming open")
    finally:
        pool.shutdown(wait=False)  # a hung probe must not hold the caller


SQLITE_MAGIC = b"SQLite format 3\x00"


def catalog_file(path: str | Path) -> Path:
    """The resolved path of an existing regular file that can be a catalog, else CatalogError with a message
    naming what it is instead (missing, a folder, a FIFO, empty, not SQLite)."""
    from catalog.errors import CatalogError

    source = Path(path).expanduser().resolve()
    try:
        found = regular_stat(source)
        head = b""
        if found is not None:
            fd = open_regular(source)  # O_RDONLY, 16 bytes: the SQLite header, nothing else
            try:
                head = os.read(fd, 16)
            finally:
                os.close(fd)
    except NotRegularFile as exc:
        raise CatalogError(f"{source} is {exc.strerror}, not a Lightroom catalog (.lrcat) file") from exc
    except OSError as exc:
        raise CatalogError(f"cannot read {source}: {exc.strerror or exc}") from exc
    if found is None:
        raise CatalogError(f"catalog not found: {source}")
    if head and head != SQLITE_MAGIC:
        raise CatalogError(f"{source} is not a SQLite database, so not a Lightroom catalog")
    wal = source.with_name(source.name + "-wal")
    if not head and not (wal.is_file() and wal.stat().st_size):  # all of a new database can sit in its WAL
        raise CatalogError(f"{source} is empty, not a Lightroom catalog")
    return source


def ensure_closed(path: str | Path, timeout: float, *, hint: str) -> tuple[Path, LockStatus]:
    """The resolved catalog path and its lock status, once it exists and Lightroom does not have it open
    (else CatalogLocked, whose message ends with `hint`: what the caller's user can do instead)."""
    from catalog.errors import CatalogLocked

    source = catalog_file(path)
    lock = check_lock(source, timeout=timeout)
    if lock.is_open:
        raise CatalogLocked(f"Lightroom has this catalog open ({lock.reason}): {source}. {hint}")
    return source, lock
