"""Every SQLite statement on a catalog runs under a deadline (R47).

Why: a catalog is a file anyone can hand us. A recursive VIEW named like a Lightroom table, a huge table or a
damaged b-tree can keep one statement running forever, and `catalog info` would hang. SQLite calls a progress
handler every N virtual-machine steps (also inside `PRAGMA quick_check`); ours returns non-zero past the
deadline, SQLite aborts the statement with "interrupted", and we turn that into `CatalogTooSlow` with a message a
user can act on. A statement inside a write transaction that is interrupted rolls back with it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from catalog.errors import CatalogTooSlow

READ_BUDGET_S = 120.0  # one read operation; 100k photos read in ~2 s (bench/bench_catalog.py)
WRITE_BUDGET_S = 600.0  # one write session; 100k photos plan+apply in ~7 s
_STEPS = 10_000  # VM steps between checks: ~1 ms of work, negligible overhead


def too_slow(what: str, seconds: float) -> CatalogTooSlow:
    return CatalogTooSlow(
        f"{what} took longer than {seconds:g} s and was stopped: the catalog is unusually large or looks "
        "hostile (a view or damaged structure that never finishes). Nothing was changed."
    )


@contextmanager
def time_budget(conn: sqlite3.Connection, seconds: float, what: str) -> Iterator[None]:
    """Run the body's statements on `conn` under one deadline; past it, raise CatalogTooSlow."""
    deadline = time.monotonic() + seconds
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _STEPS)
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc).lower() and time.monotonic() > deadline:
            raise too_slow(what, seconds) from exc
        raise
    finally:
        conn.set_progress_handler(None, 0)
