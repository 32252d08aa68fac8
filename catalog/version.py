"""Read `Adobe_DBVersion` first and name the catalog's generation; the schema probe decides what can be read.

`Adobe_DBVersion` is a 7-digit text `MMmmppp` (`0300025` = LR 3, `1504001` = LrC 15.5.1). Every major from
Lightroom 3 to Lightroom Classic 15 is accepted: what each reader needs is checked column by column
(`schema.py`), so a value we have not seen inside a known major (`0900000`, `1200001`) reads like its neighbours.
A newer major (16+) is read too, with `CatalogVersion.known = False` and a warning the caller shows; writing it
is allowed only when every column the write touches is present and typed as Lightroom types it
(`write/columns.py`). Refused (`UnsupportedCatalog`): no version, a value that is not 7 digits, and
Lightroom 1-2, whose catalogs predate the layout we read.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import Enum

from catalog.errors import CatalogError, UnsupportedCatalog
from catalog.schema import table_info


class Layout(Enum):
    """Generations, kept for callers and the README matrix; readers probe columns instead of trusting this."""

    LEGACY = "legacy"  # LR 3-6: rollback journal, XMP stored as plain text
    CLASSIC = "classic"  # LrC 7-10: WAL
    MODERN = "modern"  # LrC 11-12: AgLibraryFolder.parentId, XMP blob = 4-byte length + zlib
    CURRENT = "current"  # LrC 13+: + AgLibraryIPTC alt text (13.2+), Adobe_images.editLock (14+)


FIRST_MAJOR = 3
LAST_KNOWN_MAJOR = 15

# Values seen in real catalogs (docs/lightroom.md); other values of the same majors get a generic name.
_SEEN: dict[str, str] = {
    "0300025": "Lightroom 3",
    "0400020": "Lightroom 4.4.1",
    "0500006": "Lightroom 5.0",
    "0600008": "Lightroom 6",
    "0700003": "Lightroom Classic 7-10",
    "1100000": "Lightroom Classic 11",
}


@dataclass(frozen=True)
class CatalogVersion:
    raw: str
    product: str
    layout: Layout
    known: bool = True  # False: a major newer than LAST_KNOWN_MAJOR, read with a warning

    @property
    def major(self) -> int:
        return int(self.raw[:2])

    @property
    def warning(self) -> str | None:
        if self.known:
            return None
        return (
            f"catalog version {self.raw} ({self.product}) is newer than the Lightroom Classic "
            f"{LAST_KNOWN_MAJOR} this Pixel Detective knows: read by probing its tables, writes only where every "
            "column they touch is as Lightroom Classic 15 has it."
        )

    def at_least(self, layout: Layout) -> bool:
        order = list(Layout)
        return order.index(self.layout) >= order.index(layout)


def _layout(major: int) -> Layout:
    if major <= 6:
        return Layout.LEGACY
    if major <= 10:
        return Layout.CLASSIC
    if major <= 12:
        return Layout.MODERN
    return Layout.CURRENT


def _text(raw: object) -> str:
    """The version as 7-digit text; a numeric storage class loses the leading zero (300025 → 0300025)."""
    if isinstance(raw, bool) or raw is None:
        return ""
    if isinstance(raw, int | float) and float(raw).is_integer() and 0 <= raw < 10**7:
        return f"{int(raw):07d}"
    return str(raw).strip()


def parse_version(raw: object) -> CatalogVersion:
    """Map a raw `Adobe_DBVersion` value to a generation, or raise `UnsupportedCatalog`."""
    text = _text(raw)
    if not (len(text) == 7 and text.isdigit()):
        raise UnsupportedCatalog(text or None)
    major, minor = int(text[:2]), int(text[2:4])
    if major < FIRST_MAJOR:
        raise UnsupportedCatalog(
            text,
            reason=f"catalog version {text} is Lightroom {major}, older than the Lightroom 3 layout Pixel "
            "Detective reads; open it once in a newer Lightroom to upgrade it.",
        )
    if text in _SEEN:
        product = _SEEN[text]
    elif major <= 6:
        product = f"Lightroom {major}.{minor}"
    else:
        product = f"Lightroom Classic {major}.{minor}"
    return CatalogVersion(text, product, _layout(major), known=major <= LAST_KNOWN_MAJOR)


def read_version(conn: sqlite3.Connection) -> CatalogVersion:
    """Read the version before anything else: it names the generation and whether it is one we know."""
    if not table_info(conn, "Adobe_variablesTable"):
        raise CatalogError("not a Lightroom catalog: it has no Adobe_variablesTable")
    try:
        row = conn.execute("SELECT value FROM Adobe_variablesTable WHERE name = 'Adobe_DBVersion'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise CatalogError(
            "not a Lightroom catalog: its Adobe_variablesTable has no name/value columns"
        ) from exc
    if row is None:
        raise UnsupportedCatalog(None)
    return parse_version(row[0])
