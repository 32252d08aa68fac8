"""Caption (AgLibraryIPTC.caption) and title (only in the XMP blob, Adobe_AdditionalMetadata.xmp: dc:title).

XMP storage differs by version: LR 3-6 store text; LrC 11+ store a 4-byte big-endian uncompressed length and a
zlib stream. LrC 7-10 is not documented either way, so we sniff the value instead of trusting the version.
Alt text (`altTextAccessibility`) exists from LrC 13.2; read when the column is there. Neither table is essential
to reading photos: a catalog without one reads without captions or titles (noted in `Probe.absent`).
"""

from __future__ import annotations

import sqlite3
import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass

from catalog.schema import Probe

TABLES: dict[str, tuple[str, ...]] = {
    "AgLibraryIPTC": ("image", "caption"),
    "Adobe_AdditionalMetadata": ("image", "xmp"),
}
OPTIONAL = {"AgLibraryIPTC": ("altTextAccessibility",)}  # LrC 13.2+

_NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True)
class Caption:
    caption: str | None
    title: str | None
    alt_text: str | None = None


def decode_xmp(value: str | bytes | None) -> str | None:
    """Text of the embedded XMP, whichever way it was stored (TEXT or BLOB); None when empty or undecodable."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    data = bytes(value)
    if len(data) > 4 and not data.lstrip().startswith(b"<"):
        (length,) = struct.unpack(">I", data[:4])
        try:
            raw = zlib.decompress(data[4:])
        except zlib.error:
            return None
        if len(raw) != length:
            return None  # truncated or not the format we think: refuse rather than guess
        data = raw
    return data.decode("utf-8", errors="replace") or None


def _alt_text(desc: ET.Element, tag: str) -> str | None:
    """dc:title / dc:description are rdf:Alt: prefer x-default, else the first entry; also accept attributes."""
    attr = desc.get(f"{{{_NS['dc']}}}{tag}")
    if attr:
        return attr
    node = desc.find(f"dc:{tag}", _NS)
    if node is None:
        return None
    items = node.findall("rdf:Alt/rdf:li", _NS)
    for li in items:
        if li.get(_XML_LANG) == "x-default":
            return li.text or None
    return (items[0].text or None) if items else None


def parse_title_description(xmp: str | None) -> tuple[str | None, str | None]:
    if not xmp:
        return None, None
    try:
        root = ET.fromstring(xmp)
    except ET.ParseError:
        return None, None
    title = description = None
    for desc in root.iter(f"{{{_NS['rdf']}}}Description"):
        title = title or _alt_text(desc, "title")
        description = description or _alt_text(desc, "description")
    return title, description


def read_captions(conn: sqlite3.Connection, schema: Probe) -> dict[int, Caption]:
    """image id → Caption, for photos that have any of caption, title or alt text."""
    iptc: dict[int, tuple[str | None, str | None]] = {}
    if schema.optional_table("AgLibraryIPTC"):
        schema.require({"AgLibraryIPTC": TABLES["AgLibraryIPTC"]}, "reading captions")
        cols = schema.pick("AgLibraryIPTC", ("caption", *OPTIONAL["AgLibraryIPTC"]))
        iptc = {
            int(image): (caption or None, alt or None)
            for image, caption, alt in conn.execute(
                f"SELECT image, {cols} FROM AgLibraryIPTC WHERE image IS NOT NULL"
            )
        }
    xmp_fields: dict[int, tuple[str | None, str | None]] = {}
    if schema.optional_table("Adobe_AdditionalMetadata"):
        schema.require({"Adobe_AdditionalMetadata": TABLES["Adobe_AdditionalMetadata"]}, "reading titles")
        xmp_fields = {
            int(image): parse_title_description(decode_xmp(xmp))
            for image, xmp in conn.execute(
                "SELECT image, xmp FROM Adobe_AdditionalMetadata WHERE image IS NOT NULL"
            )
        }
    out: dict[int, Caption] = {}
    for image in iptc.keys() | xmp_fields.keys():
        caption, alt = iptc.get(image, (None, None))
        title, description = xmp_fields.get(image, (None, None))
        # The IPTC column is what Lightroom shows; the XMP description is only a fallback.
        entry = Caption(caption or description, title, alt)
        if entry != Caption(None, None, None):
            out[image] = entry
    return out
