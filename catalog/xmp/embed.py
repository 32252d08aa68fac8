"""Opt-in: merge our properties into the XMP packet embedded in a JPEG/TIFF (never a RAW, never a DNG here).

pyexiv2 only transports the packet (read_raw_xmp / modify_raw_xmp on an in-memory copy); the merge itself is the
same minidom merge as for sidecars, so foreign XMP is preserved the same way. The photo is then replaced
atomically like a sidecar. Exiv2 is not thread-safe: calls go through one lock.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from catalog.fsutil import read_regular
from catalog.xmp import atomic
from catalog.xmp.atomic import LockedError, RetryPolicy
from catalog.xmp.dom import XmpError
from catalog.xmp.merge import XmpUpdate, merge
from catalog.xmp.naming import can_embed
from catalog.xmp.write import WriteResult, _os_failure

_EXIV2 = threading.Lock()
# The whole photo is held in memory while Exiv2 edits it: cap it (R48). Big TIFF scans stay under this.
MAX_EMBED_BYTES = 1 << 30


def write_embedded(photo: Path, update: XmpUpdate, *, retry: RetryPolicy | None = None) -> WriteResult:
    photo = Path(photo)
    if not can_embed(photo):
        return WriteResult(
            photo, "failed", "not-embeddable", f"{photo.suffix} is not JPEG/TIFF; use a sidecar"
        )
    import pyexiv2  # imported lazily: sidecar-only users never load Exiv2

    retry = retry or RetryPolicy()
    try:
        original = read_regular(photo, MAX_EMBED_BYTES)
        with _EXIV2, pyexiv2.ImageData(original) as img:
            packet = img.read_raw_xmp()
            result = merge(packet.encode("utf-8") if packet.strip() else None, update)
            if not result.changes:
                return WriteResult(photo, "unchanged")
            img.modify_raw_xmp(result.data.decode("utf-8"))
            new_bytes = img.get_bytes()
        atomic.replace_atomically(photo, new_bytes, retry, stat.S_IMODE(os.stat(photo).st_mode))
        return WriteResult(photo, "written", changes=result.changes)
    except XmpError as exc:
        return WriteResult(photo, "failed", "invalid-xmp", str(exc))
    except LockedError as exc:
        return WriteResult(photo, "failed", "locked", str(exc))
    except OSError as exc:
        return _os_failure(photo, exc)
    except RuntimeError as exc:  # pyexiv2 reports Exiv2 errors as RuntimeError
        return WriteResult(photo, "failed", "io-error", f"exiv2: {exc}")
