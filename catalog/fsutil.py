"""Open only regular files, never block on one (R48).

Why: `open()` on a FIFO blocks until a writer appears, so a FIFO named `IMG_1.xmp` or `Cat.lrcat.lock` hangs the
caller forever; a device or a 1 GB file named like a sidecar exhausts memory. So every file this package reads
that a user (or an attacker) can name goes through here: `stat` first (must be S_ISREG), then open with
O_NONBLOCK (a FIFO swapped in after the stat still cannot block), then `fstat` the open descriptor (the check that
counts: it is about the file we actually opened), then read at most `limit` bytes.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # Windows has no FIFOs to block on


class NotRegularFile(OSError):
    """The path names a folder, FIFO, socket or device: refused before any blocking open."""

    reason = "not-a-regular-file"


class FileTooLarge(OSError):
    """The file is larger than the caller's cap: refused before reading it."""

    reason = "too-large"


def kind(mode: int) -> str:
    """A word for a non-regular file type, for messages."""
    for test, word in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return word
    return "not a regular file"


def regular_stat(path: Path) -> os.stat_result | None:
    """The stat of `path` (symlinks followed) when it is a regular file; None when it does not exist;
    NotRegularFile otherwise."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(errno.EINVAL, f"{kind(st.st_mode)}, not a regular file", str(path))
    return st


def open_regular(path: Path, flags: int = os.O_RDONLY) -> int:
    """An fd for `path`, which must be a regular file; FileNotFoundError when it does not exist."""
    if regular_stat(path) is None:
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    fd = os.open(path, flags | _NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped between stat and open
            raise NotRegularFile(errno.EINVAL, f"{kind(mode)}, not a regular file", str(path))
        if _NONBLOCK:
            os.set_blocking(fd, True)  # regular files never block anyway; keep ordinary semantics
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path`, refusing files over `limit` bytes (FileTooLarge)."""
    fd = open_regular(Path(path))
    try:
        return read_fd(fd, limit, Path(path))
    finally:
        os.close(fd)


def read_fd(fd: int, limit: int, path: Path) -> bytes:
    """All bytes of an open regular file from offset 0, at most `limit` (FileTooLarge beyond)."""
    size = os.fstat(fd).st_size
    if size > limit:
        raise FileTooLarge(errno.EFBIG, f"{size} bytes, over the {limit}-byte limit", str(path))
    chunks, total = [], 0
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, min(1 << 20, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:  # grew while we read
            raise FileTooLarge(errno.EFBIG, f"over the {limit}-byte limit", str(path))
    return b"".join(chunks)
