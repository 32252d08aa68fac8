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
import re

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
