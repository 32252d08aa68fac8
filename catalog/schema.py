"""Shared helper: check that the columns an entity declares for a layout exist, with a clear error if not."""

from __future__ import annotations

import sqlite3

from catalog.errors import CatalogError


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def require(conn: sqlite3.Connection, tables: dict[str, tuple[str, ...]]) -> None:
    """Fail early, naming table and column, when a catalog lacks what its version promised."""
    for table, wanted in tables.items():
        have = columns(conn, table)
        if not have:
            raise CatalogError(f"catalog has no table {table}")
        missing = [c for c in wanted if c not in have]
        if missing:
            raise CatalogError(f"catalog table {table} lacks columns {', '.join(missing)}")
