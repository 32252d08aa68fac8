"""Probe what a catalog holds (`PRAGMA table_info`) instead of trusting its version.

Each reader declares the columns it cannot do without (`require`: missing → `UnsupportedCatalog` naming the
table and column) and the columns it reads when present (`pick`: missing → read as NULL, e.g.
`AgLibraryKeyword.keywordType` in Lightroom 3, `AgLibraryIPTC.altTextAccessibility` before LrC 13.2).
The README's column-presence matrix lists which generation has which.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

from catalog.errors import UnsupportedCatalog


def table_info(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    """column name → declared type (upper case, '' when Lightroom declared none); {} when there is no table."""
    return {str(row[1]): str(row[2] or "").upper() for row in conn.execute(f"PRAGMA table_info({table})")}


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return set(table_info(conn, table))


class Probe:
    """The tables and columns of one open catalog, probed once per table; `absent` lists what was read as NULL."""

    def __init__(self, conn: sqlite3.Connection, version: str | None = None) -> None:
        self.conn = conn
        self.version = version
        self._info: dict[str, dict[str, str]] = {}
        self.absent: dict[str, None] = {}  # "table.column" / "table", in the order first met

    def info(self, table: str) -> dict[str, str]:
        if table not in self._info:
            self._info[table] = table_info(self.conn, table)
        return self._info[table]

    def has(self, table: str, column: str | None = None) -> bool:
        info = self.info(table)
        return bool(info) if column is None else column in info

    def require(self, tables: Mapping[str, Sequence[str]], what: str) -> None:
        """Refuse, naming the first missing table or its missing columns, what `what` cannot do without."""
        label = f"this catalog (version {self.version})" if self.version else "this catalog"
        for table, wanted in tables.items():
            if not self.has(table):
                raise UnsupportedCatalog(
                    self.version, reason=f"{label} has no table {table}, which {what} needs."
                )
            missing = [c for c in wanted if not self.has(table, c)]
            if missing:
                cols = ", ".join(f"{table}.{c}" for c in missing)
                raise UnsupportedCatalog(
                    self.version,
                    reason=f"{label} lacks {'column' if len(missing) == 1 else 'columns'} {cols}, "
                    f"which {what} needs.",
                )

    def pick(self, table: str, cols: Sequence[str], alias: str = "") -> str:
        """A select list: `alias.col` for each column present, `NULL` (noted in `absent`) for each missing."""
        out = []
        for col in cols:
            if self.has(table, col):
                out.append(f"{alias}.{col}" if alias else col)
            else:
                self.absent.setdefault(f"{table}.{col}")
                out.append("NULL")
        return ", ".join(out)

    def optional_table(self, table: str) -> bool:
        """Whether a table that is not essential is there (noted in `absent` when not)."""
        if self.has(table):
            return True
        self.absent.setdefault(table)
        return False
