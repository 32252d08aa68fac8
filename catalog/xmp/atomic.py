"""Crash-safe replacement of one small file: temp in the same folder, fsync, os.replace, fsync the folder.

Concurrency ("file held by another process", R20):
- POSIX has no mandatory locks, so we honour the advisory convention: before touching an existing sidecar we take
  a non-blocking flock(LOCK_EX) on it. Any process holding flock (shared or exclusive) on it - another Pixel
  Detective process, a sync tool, a test - makes us wait and retry until `RetryPolicy.timeout_s`, then fail
  cleanly with the original intact. After getting the lock we check the path still names the inode we locked
  (a concurrent writer may have replaced it) and start over if not.
- Windows reports a file held open by another program as PermissionError (sharing violation) from os.replace;
  transient EBUSY/EACCES from network shares look the same. Those are retried within the same deadline.

Interrupted writes (R16): the original is only ever replaced atomically, so a crash leaves it byte-identical plus
at worst a temp file `.NAME.xmp.pd-<pid>-<random>.tmp`. The next write to that sidecar removes temps whose
writer process is gone (the pid in the name), so a live concurrent writer's temp is never removed.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from catalog.fsutil import open_regular

try:
    import fcntl
except ImportError:  # Windows: sharing violations surface from os.replace instead
    fcntl = None  # type: ignore[assignment]

RETRYABLE_ERRNOS = frozenset({errno.EBUSY, errno.EACCES, errno.EAGAIN, errno.ETXTBSY})
_TEMP_PID = re.compile(r"\.pd-(\d+)-[^.]*\.tmp$")


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float = 5.0
    interval_s: float = 0.05


class LockedError(OSError):
    """The target stayed locked/busy past the retry deadline."""


def temp_prefix(target: Path) -> str:
    return f".{target.name}.pd-{os.getpid()}-"


def stale_temps(target: Path) -> list[Path]:
    """Temps left by writers of `target` that are no longer running."""
    out = []
    for tmp in target.parent.glob(f".{glob_escape(target.name)}.pd-*.tmp"):
        m = _TEMP_PID.search(tmp.name)
        if m and not _alive(int(m.group(1))):
            out.append(tmp)
    return out


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(target: Path) -> None:
    for tmp in stale_temps(target):
        tmp.unlink(missing_ok=True)


def lock_existing(target: Path, retry: RetryPolicy) -> int | None:
    """An fd holding flock(LOCK_EX) on `target`, or None when it does not exist (or no fcntl)."""
    deadline = time.monotonic() + retry.timeout_s
    while True:
        try:
            fd = open_regular(target)  # a FIFO/device named like the sidecar: NotRegularFile, never a hang
        except FileNotFoundError:
            return None
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino == os.stat(target).st_ino:
                return fd
        except (BlockingIOError, FileNotFoundError):
            pass
        os.close(fd)
        if time.monotonic() >= deadline:
            raise LockedError(
                errno.EAGAIN, f"held locked by another process for over {retry.timeout_s:g}s", str(target)
            )
        time.sleep(retry.interval_s)


def fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return  # directories cannot be opened for fsync on Windows
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(target: Path, data: bytes, retry: RetryPolicy, mode: int = 0o644) -> None:
    """Write `data` to a temp beside `target`, fsync, os.replace (retrying while busy), fsync the folder."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=temp_prefix(target), suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        deadline = time.monotonic() + retry.timeout_s
        while True:
            try:
                os.replace(tmp, target)
                break
            except OSError as exc:
                if exc.errno not in RETRYABLE_ERRNOS or time.monotonic() >= deadline:
                    if exc.errno in RETRYABLE_ERRNOS:
                        raise LockedError(
                            exc.errno, f"busy for over {retry.timeout_s:g}s: {exc}", str(target)
                        ) from exc
                    raise
                time.sleep(retry.interval_s)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
