"""Ids from Lightroom's shared counter `Adobe_variablesTable 'Adobe_entityIDCounter'` (stored REAL, kept REAL).

Use inside the write transaction: `IdCounter(conn, tables)` reads the counter, `take()` hands out value,
value+1, …, `write_back()` stores the next free value as REAL. As a guard against a counter that lags behind
(hand-edited catalogs) the first id is also above every `id_local` of the tables we insert into.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from catalog.errors import CatalogError

COUNTER = "Adobe_entityIDCounter"


def read_counter(conn: sqlite3.Connection) -> float:
    row = conn.execute("SELECT value FROM Adobe_variablesTable WHERE name = ?", (COUNTER,)).fetchone()
    if row is None or row[0] in (None, ""):
        raise CatalogError("catalog has no Adobe_entityIDCounter: refusing to invent ids")
    try:
        return float(row[0])
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"Adobe_entityIDCounter is not a number: {row[0]!r}") from exc


class IdCounter:
    def __init__(self, conn: sqlite3.Connection, tables: Iterable[str]) -> None:
        self.conn = conn
        self.start = int(read_counter(conn))
        highest = max(
            (conn.execute(f"SELECT coalesce(max(id_local), 0) FROM {t}").fetchone()[0] for t in tables),
            default=0,
        )
        self.next = max(self.start, int(highest) + 1)
        self.handed_out = 0

    def take(self) -> int:
        value = self.next
        self.next += 1
        self.handed_out += 1
        return value

    def write_back(self) -> None:
        if self.handed_out:
            self.conn.execute(
                "UPDATE Adobe_variablesTable SET value = CAST(? AS REAL) WHERE name = ?",
                (float(self.next), COUNTER),
            )
