"""Fallback readers: metadata blocks found without Exiv2 opening the whole file.

Exiv2 reads a file as one structure: an ICC profile it rejects in a HEIC, a truncated `mdat`, two stray bytes
after a JPEG segment or a container it does not know (X3F, some CR3) make it drop everything. ExifTool reads
such files with a warning. These readers find the metadata blocks themselves and hand each one to Exiv2 alone,
so one bad part costs that part only:

- `pillow_exif`: the EXIF block Pillow (JPEG, PNG, WebP) or pillow-heif (HEIC, AVIF) extracts.
- `container_exif`: EXIF found in the bytes: Canon CR3's `CMT1`–`CMT4` boxes (IFD0, Exif IFD, maker note,
  GPS IFD as separate TIFF blocks inside the `uuid` box of the ISO-BMFF container) and, for anything else,
  the first `Exif\\0\\0` + TIFF header (an APP1 segment: X3F keeps its EXIF in the embedded JPEG preview).
- `scan_xmp`: an XMP packet found by scanning the bytes for `<x:xmpmeta … </x:xmpmeta>` (or `<?xpacket`).

Each returns raw Exiv2 key/value pairs ({} when it finds nothing): a block is parsed by Exiv2 as a bare TIFF
file (`exiv2.read_tiff_exif`), so keys, converters and the field table are the same as for the main reader.
Every reader is best-effort: a failure is logged and reads as {} (the photo is still decoded and indexed).
"""

from __future__ import annotations

import io
import logging
import re
import struct
import warnings
from collections.abc import Iterator
from typing import Any

from bridge.metadata import exiv2

log = logging.getLogger(__name__)

__all__ = ["container_exif", "pillow_exif", "scan_xmp", "sub_ifd_as_tiff", "tiff_block"]

_TIFF_HEADERS = (b"II*\x00", b"MM\x00*")
# Canon's CR3 metadata box (ISO-BMFF `uuid` box): holds CNCV, CCTP, THMB, CMT1..CMT4 boxes.
_CANON_UUID = bytes.fromhex("85c0b687820f11e08111f4ce462b6a48")
# CMTn holds one IFD as a TIFF file; the IFD0 pointer tag that makes Exiv2 read it as the right group.
_CMT_POINTERS = {b"CMT1": None, b"CMT2": 0x8769, b"CMT4": 0x8825}  # CMT3 (Canon maker note): see below
_MAX_XMP = 16 << 20
# (anchor found with a fast bytes.find, the packet around it)
_XMP_PACKETS = (
    (b"xmpmeta", re.compile(rb"<x(?:ap)?:xmpmeta[\s>].*?</x(?:ap)?:xmpmeta\s*>", re.DOTALL)),
    (b"<?xpacket begin=", re.compile(rb"<\?xpacket begin=.*?<\?xpacket end=[^>]*>", re.DOTALL)),
)


def pillow_exif(data: bytes) -> dict[str, Any]:
    """Exiv2 keys of the EXIF block Pillow or pillow-heif extracts; {} when there is none."""
    from PIL import Image

    try:
        from pillow_heif import register_heif_opener

        register_heif_opener()  # idempotent; HEIC/AVIF EXIF comes from the container's Exif item
    except ImportError:  # pragma: no cover - pillow-heif is a dependency; HEIC is then simply skipped
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on odd EXIF; a fallback reader stays quiet
            with Image.open(io.BytesIO(data)) as image:
                # info["exif"] only: getexif() also copies tiff:Orientation out of the XMP, which is not EXIF
                block = image.info.get("exif") or b""
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "no EXIF from Pillow"
        log.debug("pillow found no EXIF: %s", exc)
        return {}
    tiff = tiff_block(block)
    return exiv2.read_tiff_exif(tiff) if tiff else {}


def container_exif(data: bytes) -> dict[str, Any]:
    """Exiv2 keys of EXIF blocks found in the bytes: CR3 CMT boxes, else the first embedded APP1 Exif."""
    raw: dict[str, Any] = {}
    for name, block in _cr3_blocks(data):
        pointer = _CMT_POINTERS.get(name)
        tiff = block if pointer is None else sub_ifd_as_tiff(block, pointer)
        if tiff:
            for key, value in exiv2.read_tiff_exif(tiff).items():
                raw.setdefault(key, value)
    if raw:
        return raw
    tiff = _embedded_app1_exif(data)
    return exiv2.read_tiff_exif(tiff) if tiff else {}


def scan_xmp(data: bytes) -> dict[str, Any]:
    """Exiv2 keys of the first XMP packet found anywhere in the bytes; {} when none parses."""
    for anchor, pattern in _XMP_PACKETS:
        at = data.find(anchor)
        if at < 0:
            continue
        match = pattern.search(data, max(0, at - 8), at + _MAX_XMP)
        if match is None:
            continue
        try:
            return exiv2.read_xmp(match.group(0))
        except (RuntimeError, ValueError) as exc:
            log.debug("the XMP packet found in the bytes does not parse: %s", exc)
    return {}


# --------------------------------------------------------------------------------------------
# Byte-level helpers (pure)
# --------------------------------------------------------------------------------------------


def tiff_block(block: bytes) -> bytes | None:
    """A TIFF-structured EXIF block without its `Exif\\0\\0` prefix; None when it is not one."""
    if block.startswith(b"Exif\x00\x00"):
        block = block[6:]
    return block if block[:4] in _TIFF_HEADERS and len(block) >= 8 else None


def sub_ifd_as_tiff(block: bytes, pointer_tag: int) -> bytes | None:
    """A TIFF block whose IFD0 is really a sub-IFD (Exif, GPS), made readable as that sub-IFD.

    CR3 stores the Exif IFD as its own TIFF file (CMT2): read as-is, its tags would be taken for IFD0 tags.
    A new IFD0 with one pointer entry (0x8769 Exif, 0x8825 GPS) is appended and the header pointed at it;
    the block's bytes do not move, so every offset inside it stays valid.
    """
    if block[:4] not in _TIFF_HEADERS or len(block) < 8:
        return None
    order = "<" if block[:2] == b"II" else ">"
    (first_ifd,) = struct.unpack(order + "I", block[4:8])
    if not 8 <= first_ifd < len(block):
        return None
    pad = b"\x00" * (len(block) % 2)  # IFDs start on a word boundary
    new_ifd = len(block) + len(pad)
    entry = struct.pack(order + "HHII", pointer_tag, 4, 1, first_ifd)  # LONG, count 1, value = old IFD0
    ifd = struct.pack(order + "H", 1) + entry + struct.pack(order + "I", 0)
    return block[:4] + struct.pack(order + "I", new_ifd) + block[8:] + pad + ifd


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the ISO-BMFF boxes in data[start:end]; stops at a bad size."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1 and pos + 16 <= end:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _cr3_blocks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(CMTn, TIFF block) pairs of a Canon CR3 file's metadata box, in file order."""
    if data[4:12] != b"ftypcrx ":
        return
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for inner, i_start, i_end in _boxes(data, start, end):
            if inner == b"uuid" and data[i_start : i_start + 16] == _CANON_UUID:
                for name, c_start, c_end in _boxes(data, i_start + 16, i_end):
                    # CMT3 is Canon's maker note as a bare IFD: Exiv2 can only read maker notes from
                    # inside an Exif IFD with a Make it knows, so its fields (lens, serial) stay unread.
                    if name in _CMT_POINTERS:
                        block = tiff_block(data[c_start:c_end])
                        if block:
                            yield name, block


def _embedded_app1_exif(data: bytes) -> bytes | None:
    """The first `Exif\\0\\0` + TIFF block in the bytes, cut to its APP1 segment when it is in one."""
    pos = data.find(b"Exif\x00\x00")
    while pos >= 0:
        block = tiff_block(data[pos : pos + 6 + 8])
        if block:
            end = len(data)
            if pos >= 4 and data[pos - 4 : pos - 2] == b"\xff\xe1":
                (length,) = struct.unpack(">H", data[pos - 2 : pos])
                end = min(end, pos - 2 + length)
            return data[pos + 6 : end]
        pos = data.find(b"Exif\x00\x00", pos + 1)
    return None
