"""Exiv2 access: every pyexiv2 call runs under one module-level lock (Exiv2's XMP parser keeps global
state and is not thread-safe). Photos are opened from their bytes with `pyexiv2.ImageData`: nothing is
ever written to the photo, and non-ASCII file names work on every platform. Unreadable files raise
`MetadataError` with Exiv2's terse message in plain words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pyexiv2

from bridge.records import MetadataError
from catalog.xmp import exiv2 as exiv2_lock

log = logging.getLogger(__name__)

# One lock for every pyexiv2 call in this process, shared with the catalog's XMP writer: Exiv2 keeps global
# state, and its log level is process-wide (each session sets the level it needs).
LOCK = exiv2_lock.LOCK

# Exiv2's terse errors, in plain words for the ledger and the user.
_PLAIN_ERRORS = (
    ("unknown image type", "not an image format Exiv2 recognizes"),
    ("Failed to read input data", "the file could not be read (empty or unreadable)"),
    ("Failed to read image data", "the file ends before its metadata does (truncated)"),
    ("corrupted image metadata", "the metadata is corrupt or cut off"),
    ("not a valid", "the file structure is invalid"),
)


def read_image(data: bytes) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The exif, iptc and xmp blocks of a photo's bytes and the `File.*` keys (pixel size, MIME type);
    MetadataError, in plain words, when Exiv2 cannot open it at all."""
    # QUIET: at the default level some maker notes ("Directory Canon with 16740 entries considered invalid")
    # raise instead of being skipped.
    with exiv2_lock.session(exiv2_lock.QUIET):
        try:
            image = pyexiv2.ImageData(data)
        except (RuntimeError, ValueError) as exc:
            raise MetadataError(_plain_error(exc)) from exc
        try:
            blocks = {name: _read_block(image, name) for name in ("exif", "iptc", "xmp")}
            file_info = _file_info(image)
        finally:
            image.close()
    return blocks, file_info


def read_xmp(data: bytes) -> dict[str, Any]:
    """The XMP block of an XMP packet (a sidecar file's bytes); RuntimeError or ValueError when Exiv2
    rejects it."""
    # QUIET: at the default level some maker notes ("Directory Canon with 16740 entries considered invalid")
    # raise instead of being skipped.
    with exiv2_lock.session(exiv2_lock.QUIET):
        image = pyexiv2.ImageData(data)
        try:
            return _read_block(image, "xmp")
        finally:
            image.close()


def read_tiff_exif(tiff: bytes) -> dict[str, Any]:
    """The EXIF keys of a bare TIFF-structured EXIF block (fallback readers); {} when Exiv2 rejects it.

    Exiv2 opens the block as a TIFF file: IFD0 and the sub-IFDs it points to (Exif, GPS, maker note) read as
    they would inside a JPEG, with no 64 KiB APP1 limit."""
    # QUIET: at the default level some maker notes ("Directory Canon with 16740 entries considered invalid")
    # raise instead of being skipped.
    with exiv2_lock.session(exiv2_lock.QUIET):
        try:
            image = pyexiv2.ImageData(tiff)
        except (RuntimeError, ValueError) as exc:
            log.debug("exiv2 rejects an extracted EXIF block: %s", exc)
            return {}
        try:
            return _read_block(image, "exif")
        finally:
            image.close()


def _read_block(image: pyexiv2.Image, name: str) -> dict[str, Any]:
    reader: Callable[..., dict[str, Any]] = getattr(image, f"read_{name}")
    try:
        return reader(encoding="utf-8")
    except UnicodeDecodeError:
        # Some cameras and old Windows tools write Latin-1/CP1252 text. Latin-1 maps every byte,
        # so this read cannot fail; each value is then re-decoded on its own (UTF-8 first).
        return _repair_text(reader(encoding="latin-1"))
    except RuntimeError as exc:  # one unreadable block must not hide the others
        log.debug("exiv2 could not read the %s block: %s", name, exc)
        return {}


def _file_info(image: pyexiv2.Image) -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        info["File.PixelWidth"] = str(image.get_pixel_width())
        info["File.PixelHeight"] = str(image.get_pixel_height())
        info["File.MimeType"] = image.get_mime_type()
    except RuntimeError as exc:
        log.debug("exiv2 could not report the image size: %s", exc)
    return info


def _repair_text(value: Any) -> Any:
    """Undo a Latin-1 read value by value: UTF-8 if the bytes are UTF-8, else CP1252, else Latin-1."""
    if isinstance(value, str):
        raw = value.encode("latin-1")
        for encoding in ("utf-8", "cp1252"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
        return value
    if isinstance(value, list):
        return [_repair_text(v) for v in value]
    if isinstance(value, dict):
        return {_repair_text(k): _repair_text(v) for k, v in value.items()}
    return value


def _plain_error(exc: Exception) -> str:
    """Plain words only: Exiv2's own message is logged, never shown (it names C++ internals)."""
    message = str(exc).strip()
    log.debug("exiv2: %s", message)
    for needle, plain in _PLAIN_ERRORS:
        if needle.lower() in message.lower():
            return f"cannot read metadata: {plain}"
    return "cannot read metadata: Exiv2 does not recognize its structure"
