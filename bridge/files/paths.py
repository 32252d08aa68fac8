"""File names that are not valid UTF-8 (R43): how they are stored, shown and opened.

Linux file names are bytes. Python hands them to us as `str` with each undecodable byte turned into a lone
surrogate (U+DC80..U+DCFF, PEP 383 "surrogateescape"): `os.fsencode` gives the exact bytes back, so every
`open`/`stat` works on them. What cannot take such a `str` is anything that encodes strictly as UTF-8:
SQLite's TEXT binding, Qdrant's payloads (Rust strings), JSON written with `ensure_ascii=False`, the
terminal.

Choice: keep them in SQLite TEXT (no schema change, existing indexes stay valid) in a lossless, valid-Unicode
*storage form*, decoded again on read:

- a surrogate-escaped byte 0xXY becomes the noncharacter U+FDD0 followed by the two hex digits "XY";
- a literal U+FDD0 in a name (never seen in practice, but the mapping must be lossless) becomes U+FDD0 twice.

Every other character is unchanged, so valid names are stored exactly as before, and the mapping works
character by character: the storage form of `root + "/"` is the storage form of `root` plus "/", which keeps
the ledger's "path under root" range queries right for folders with such names too. Users see the
*shown form* (`caf\\xe9.jpg`), never the storage form.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from typing import BinaryIO

_MARK = "\ufdd0"
_SURROGATE = re.compile("[\udc80-\udcff\ufdd0]")
_STORED = re.compile("\ufdd0(\ufdd0|[0-9a-f]{2})")
_MARK_UTF8 = _MARK.encode()
ERRORS = "pd-escape"  # codec error handler: shows escaped bytes as \xNN on any text stream


def _escape_char(m: re.Match[str]) -> str:
    c = m.group(0)
    return _MARK * 2 if c == _MARK else f"{_MARK}{ord(c) - 0xDC00:02x}"


def _unescape(m: re.Match[str]) -> str:
    g = m.group(1)
    return _MARK if g == _MARK else chr(0xDC00 + int(g, 16))


def to_db(text: str) -> str:
    """The storage form: valid Unicode, lossless, identical to `text` for every valid name."""
    if text.isascii():  # the common case costs one C-level scan
        return text
    return _SURROGATE.sub(_escape_char, text)


def from_db(text: str) -> str:
    """The inverse of `to_db`."""
    if _MARK not in text:
        return text
    return _STORED.sub(_unescape, text)


def db_text_factory(raw: bytes) -> str:
    """`sqlite3.Connection.text_factory`: every TEXT value read comes back in its original form."""
    text = raw.decode("utf-8", "replace")  # the default factory would raise on bytes that are not UTF-8
    return from_db(text) if _MARK_UTF8 in raw else text


def shown(text: str) -> str:
    """For people: undecodable bytes as `\\xNN` (`caf\\xe9.jpg`); valid names unchanged."""
    if text.isascii():
        return text
    return text.encode("utf-8", ERRORS).decode("utf-8")


def storable(value: object) -> object:
    """`value` (JSON-like: dicts, lists, strings) with every string in its storage form, for stores that
    take only valid Unicode (Qdrant payloads). Other values are returned as they are."""
    if isinstance(value, str):
        return to_db(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def _escape_handler(err: UnicodeError) -> tuple[str, int]:
    """Encode errors: escaped bytes as `\\xNN`, anything else unencodable as `\\uNNNN` (backslashreplace)."""
    if not isinstance(err, UnicodeEncodeError):
        raise err
    bad = err.object[err.start : err.end]
    out = "".join(
        f"\\x{ord(c) - 0xDC00:02x}"
        if 0xDC80 <= ord(c) <= 0xDCFF
        else c.encode("ascii", "backslashreplace").decode()
        for c in bad
    )
    return out, err.end


codecs.register_error(ERRORS, _escape_handler)


# --- opening: only regular files, never more than a cap (R48) ------------------------------------------------

# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. It changes nothing for
# regular files, and anything that is not one is refused right after the open, before a single read.
_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


class NotRegularFile(OSError):
    """A FIFO, device, socket or folder where a photo was expected (replaced since the scan, or named)."""


class FileTooLarge(OSError):
    """Bigger than the cap its caller allows; nothing was read."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes is above the limit of {limit} bytes")
        self.size = size
        self.limit = limit


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading; NotRegularFile for anything else (a FIFO is never waited on)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        if e.errno == errno.ENXIO:  # a UNIX socket
            raise NotRegularFile(errno.ENXIO, "a socket, not a file", os.fspath(path)) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(
                errno.EINVAL, "not a regular file (a FIFO, device or folder)", os.fspath(path)
            )
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The whole file, if it is a regular file of at most `max_bytes` (else NotRegularFile / FileTooLarge).
    Reads what fstat promises plus one byte, so a file that grows meanwhile is still capped."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise FileTooLarge(size, max_bytes)
        data = f.read(size + 1)
        if len(data) > size:  # still being written: read on, but never past the cap
            data += f.read(max_bytes + 1 - len(data))
            if len(data) > max_bytes:
                raise FileTooLarge(len(data), max_bytes)
    return data
