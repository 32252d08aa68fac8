"""Read a running indexer's progress from outside: a read-only look at the ledger's stage rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def stage_count(ledger_path: Path, stage: str) -> int:
    """Rows of `stage` recorded so far (0 while the ledger is not there yet or is busy)."""
    try:
        con = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True, timeout=5)
        n = con.execute("SELECT count(*) FROM stages WHERE stage = ?", (stage,)).fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0
