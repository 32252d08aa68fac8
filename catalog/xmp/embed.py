"""Opt-in (`xmp write --embed`): merge our properties into the XMP packet embedded in a JPEG, TIFF or DNG, the
formats whose metadata Lightroom reads from inside the file (never a proprietary RAW: those get a sidecar).

pyexiv2 only transports the packet (read_raw_xmp / modify_raw_xmp on an in-memory copy); the merge itself is the
same minidom merge as for sidecars, so foreign XMP is preserved the same way. Before the photo is replaced
(atomically, like a sidecar) the new bytes are checked: they parse, carry the merged packet, and every EXIF value
is as it was apart from the offsets a rewrite moves (a TIFF/DNG whose image data Exiv2 could not place, e.g. a
stripped DNG, is refused as `verify-failed` and left untouched). Exiv2 is not thread-safe: calls go through one
lock.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from catalog.fsutil import read_regular
from catalog.xmp import atomic
from catalog.xmp.atomic import LockedError, RetryPolicy
from catalog.xmp.dom import XmpError
from catalog.xmp.exiv2 import ERRORS, session
from catalog.xmp.merge import XmpUpdate, merge
from catalog.xmp.naming import can_embed
from catalog.xmp.write import WriteResult, _os_failure

# The whole photo is held in memory while Exiv2 edits it: cap it (R48). Big TIFF scans stay under this.
MAX_EMBED_BYTES = 1 << 30


class _Unsafe(Exception):
    """The rewritten photo lost or moved something it should not have: not written."""


# Values a rewrite legitimately changes: where the IFDs, strips and tiles now lie, the packet itself, and
# Photoshop's resource block (it carries a copy of the XMP / its digest in TIFFs).
_MOVES = ("Offset", "SubIFDs", "ExifTag", "GPSTag", "InteropTag", "JPEGInterchangeFormat")
_CONTENT = ("XMLPacket", "ImageResources")


def _check_rewrite(before: dict[str, str], after: dict[str, str]) -> None:
    """Every EXIF value is kept; moved offsets keep their count and never become 0 (data Exiv2 lost)."""
    for key in set(before) | set(after):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if any(c in key for c in _CONTENT):
            continue
        if not any(m in key for m in _MOVES):
            raise _Unsafe(f"{key} would change ({str(old)[:40]!r} -> {str(new)[:40]!r})")
        olds, news = str(old or "").split(), str(new or "").split()
        if len(olds) != len(news) or any(n == "0" and o != "0" for o, n in zip(olds, news, strict=True)):
            raise _Unsafe(f"{key} would lose its data ({str(old)[:40]!r} -> {str(new)[:40]!r})")


def _rewritten(original: bytes, update: XmpUpdate) -> tuple[bytes | None, tuple[str, ...]]:
    """(new bytes, changes), or (None, ()) when nothing would change. Raises _Unsafe, XmpError, RuntimeError."""
    import pyexiv2  # imported lazily: sidecar-only users never load Exiv2

    with session(ERRORS):  # errors raise; a warning per odd strip of a DNG is noise
        with pyexiv2.ImageData(original) as img:
            packet = img.read_raw_xmp()
            result = merge(packet.encode("utf-8") if packet.strip() else None, update)
            if not result.changes:
                return None, ()
            before = img.read_exif()
            img.modify_raw_xmp(result.data.decode("utf-8"))
            new_bytes = img.get_bytes()
        with pyexiv2.ImageData(new_bytes) as check:
            if merge(check.read_raw_xmp().encode("utf-8"), update).changes:
                raise _Unsafe("the packet did not read back as written")
            _check_rewrite(before, check.read_exif())
    return new_bytes, result.changes


def plan_embedded(photo: Path, update: XmpUpdate) -> tuple[tuple[str, ...], str | None, str | None]:
    """What `write_embedded` would change: (changes, reason, error); touches nothing."""
    try:
        _new, changes = _rewritten(read_regular(Path(photo), MAX_EMBED_BYTES), update)
        return changes, None, None
    except _Unsafe as exc:
        return (), "verify-failed", f"not written: {exc}"
    except XmpError as exc:
        return (), "invalid-xmp", f"invalid XMP: {exc}"
    except OSError as exc:
        failure = _os_failure(Path(photo), exc)
        return (), failure.reason, failure.detail
    except RuntimeError as exc:
        return (), "io-error", f"exiv2: {exc}"


def write_embedded(photo: Path, update: XmpUpdate, *, retry: RetryPolicy | None = None) -> WriteResult:
    photo = Path(photo)
    if not can_embed(photo):
        return WriteResult(
            photo, "failed", "not-embeddable", f"{photo.suffix} is not JPEG/TIFF/DNG; use a sidecar"
        )
    retry = retry or RetryPolicy()
    try:
        original = read_regular(photo, MAX_EMBED_BYTES)
        new_bytes, changes = _rewritten(original, update)
        if new_bytes is None:
            return WriteResult(photo, "unchanged")
        atomic.replace_atomically(photo, new_bytes, retry, stat.S_IMODE(os.stat(photo).st_mode))
        return WriteResult(photo, "written", changes=changes)
    except _Unsafe as exc:
        return WriteResult(photo, "failed", "verify-failed", f"not written, the photo is unchanged: {exc}")
    except XmpError as exc:
        return WriteResult(photo, "failed", "invalid-xmp", str(exc))
    except LockedError as exc:
        return WriteResult(photo, "failed", "locked", str(exc))
    except OSError as exc:
        return _os_failure(photo, exc)
    except RuntimeError as exc:  # pyexiv2 reports Exiv2 errors as RuntimeError
        return WriteResult(photo, "failed", "io-error", f"exiv2: {exc}")
