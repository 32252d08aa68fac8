"""Read `Adobe_DBVersion` first and map it to a known table layout; refuse anything else (R14).

Rule for LrC 13+: Adobe writes a 7-digit value MMmmppp-ish (`1504001` = LrC 15.5.1). We accept any 7-digit
value whose first two digits are 13, 14 or 15, because the tables we read did not change inside those majors
apart from columns that we treat as optional (alt text, 13.2+). A major we have not seen (16+) is refused:
its layout is unknown until someone checks a real catalog.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import Enum

from catalog.errors import CatalogError, UnsupportedCatalog


class Layout(Enum):
    """Table layouts that differ in a column we read."""

    LEGACY = "legacy"  # LR 3-6: rollback journal, XMP stored as plain text
    CLASSIC = "classic"  # LrC 7-10: WAL
    MODERN = "modern"  # LrC 11+: AgLibraryFolder.parentId, XMP blob = 4-byte length + zlib
    CURRENT = "current"  # LrC 13-15: + AgLibraryIPTC alt text (13.2+), Adobe_images.editLock


_EXACT: dict[str, tuple[str, Layout]] = {
    "0300025": ("Lightroom 3", Layout.LEGACY),
    "0400020": ("Lightroom 4.4.1", Layout.LEGACY),
    "0500006": ("Lightroom 5.0", Layout.LEGACY),
    "0600008": ("Lightroom 6", Layout.LEGACY),
    "0700003": ("Lightroom Classic 7-10", Layout.CLASSIC),
    "1100000": ("Lightroom Classic 11", Layout.MODERN),
}
_CURRENT_MAJORS = range(13, 16)


@dataclass(frozen=True)
class CatalogVersion:
    raw: str
    product: str
    layout: Layout

    def at_least(self, layout: Layout) -> bool:
        order = list(Layout)
        return order.index(self.layout) >= order.index(layout)


def parse_version(raw: object) -> CatalogVersion:
    """Map a raw `Adobe_DBVersion` value to a supported version, or raise `UnsupportedCatalog`."""
    text = str(raw).strip() if raw is not None else ""
    if text in _EXACT:
        product, layout = _EXACT[text]
        return CatalogVersion(text, product, layout)
    if len(text) == 7 and text.isdigit() and int(text[:2]) in _CURRENT_MAJORS:
        major, minor = int(text[:2]), int(text[2:4])
        return CatalogVersion(text, f"Lightroom Classic {major}.{minor}", Layout.CURRENT)
    raise UnsupportedCatalog(text or None)


def read_version(conn: sqlite3.Connection) -> CatalogVersion:
    """Read the version before anything else: every other query depends on the layout."""
    try:
        row = conn.execute("SELECT value FROM Adobe_variablesTable WHERE name = 'Adobe_DBVersion'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"not a Lightroom catalog (no Adobe_variablesTable): {exc}") from exc
    if row is None:
        raise UnsupportedCatalog(None)
    return parse_version(row[0])
