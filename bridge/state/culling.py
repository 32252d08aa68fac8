"""The cull table: each photo's last cull decision, its rank and reasons, and the user's override.

Created on first use by a writer (`CREATE TABLE IF NOT EXISTS`, as `people.py`; a reader of an index that
was never culled sees no rows). One row per file path (exact copies are separate photos to keep or throw out):

    cull    path, fingerprint, group_id, group_kind, group_size, rank (1 = best of its group), score,
            decision ('pick' | 'reject' | 'undecided': the last automatic decision, or the override),
            reasons (JSON list of reason codes), sentence, eyes_open, face_count, unit (keep-together set),
            override ('pick' | 'reject' | 'undecided' | NULL: set by the user, never re-decided),
            override_at, version, updated_at

`store` replaces everything but `override` and `override_at`: a re-run re-ranks, and an overridden photo keeps
the user's decision (`decision` is written as the override).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.state.ledger import Ledger

DECISIONS = ("pick", "reject", "undecided")

SCHEMA = """
CREATE TABLE IF NOT EXISTS cull (
    path TEXT PRIMARY KEY,
    fingerprint TEXT,
    group_id TEXT NOT NULL,
    group_kind TEXT NOT NULL,
    group_size INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    score REAL NOT NULL,
    decision TEXT NOT NULL,
    reasons TEXT NOT NULL,
    sentence TEXT NOT NULL,
    eyes_open REAL,
    face_count INTEGER,
    unit TEXT,
    override TEXT,
    override_at REAL,
    version TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS cull_group ON cull (group_id)
"""

_COLUMNS = (
    "path, fingerprint, group_id, group_kind, group_size, rank, score, decision, reasons, sentence, eyes_open, "
    "face_count, unit, override, override_at, version, updated_at"
)


@dataclass(frozen=True, slots=True)
class CullRow:
    path: str
    fingerprint: str | None
    group_id: str
    group_kind: str
    group_size: int
    rank: int
    score: float
    decision: str
    reasons: tuple[str, ...]
    sentence: str
    eyes_open: float | None
    face_count: int | None
    unit: str | None
    override: str | None
    override_at: float | None
    version: str
    updated_at: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "group": self.group_id,
            "group_kind": self.group_kind,
            "group_size": self.group_size,
            "rank": self.rank,
            "score": round(self.score, 4),
            "decision": self.decision,
            "reasons": list(self.reasons),
            "sentence": self.sentence,
            "overridden": self.override is not None,
            "keep_together": self.unit or None,
            "eyes_open": self.eyes_open,
            "face_count": self.face_count,
        }


_FIELDS = tuple(c.strip() for c in _COLUMNS.split(","))


def ensure(ledger: Ledger) -> None:
    with ledger.write() as conn:
        for statement in filter(str.strip, SCHEMA.split(";")):
            conn.execute(statement)


def _exists(ledger: Ledger) -> bool:
    row = ledger.db.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cull'"
    ).fetchone()
    return row is not None


def overrides(ledger: Ledger, paths: Iterable[str] | None = None) -> dict[str, str]:
    """path → the user's decision, for the overridden photos (among `paths` when given)."""
    if not _exists(ledger):
        return {}
    rows = ledger.db.conn.execute("SELECT path, override FROM cull WHERE override IS NOT NULL").fetchall()
    out = {str(p): str(o) for p, o in rows}
    if paths is not None:
        wanted = set(paths)
        out = {p: o for p, o in out.items() if p in wanted}
    return out


def store(ledger: Ledger, results: Sequence[Mapping[str, Any]], version: str) -> None:
    """Upsert one row per result (dicts with the CullRow fields), keeping each path's override."""
    ensure(ledger)
    now = time.time()
    rows = [
        (
            r["path"],
            r.get("fingerprint"),
            r["group_id"],
            r["group_kind"],
            int(r["group_size"]),
            int(r["rank"]),
            float(r["score"]),
            str(r["decision"]),
            json.dumps(list(r["reasons"])),
            r["sentence"],
            r.get("eyes_open"),
            r.get("face_count"),
            r.get("unit") or None,
            version,
            now,
        )
        for r in results
    ]
    with ledger.write() as conn:
        conn.executemany(
            "INSERT INTO cull (path, fingerprint, group_id, group_kind, group_size, rank, score, decision, "
            "reasons, sentence, eyes_open, face_count, unit, version, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET fingerprint = excluded.fingerprint, group_id = excluded.group_id, "
            "group_kind = excluded.group_kind, group_size = excluded.group_size, rank = excluded.rank, "
            "score = excluded.score, decision = COALESCE(cull.override, excluded.decision), "
            "reasons = excluded.reasons, sentence = excluded.sentence, eyes_open = excluded.eyes_open, "
            "face_count = excluded.face_count, unit = excluded.unit, version = excluded.version, "
            "updated_at = excluded.updated_at",
            rows,
        )


def set_override(ledger: Ledger, paths: Iterable[str], decision: str | None) -> int:
    """Record the user's decision for `paths` (None: forget the override, the next run decides again).
    A path never culled gets a placeholder row, filled by the next run. Returns the rows touched."""
    if decision is not None and decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    ensure(ledger)
    now = time.time()
    n = 0
    with ledger.write() as conn:
        for path in paths:
            if decision is None:
                cur = conn.execute(
                    "UPDATE cull SET override = NULL, override_at = NULL WHERE path = ?", (path,)
                )
            else:
                cur = conn.execute(
                    "UPDATE cull SET override = ?, override_at = ?, decision = ? WHERE path = ?",
                    (decision, now, decision, path),
                )
                if cur.rowcount == 0:
                    cur = conn.execute(
                        "INSERT INTO cull (path, group_id, group_kind, group_size, rank, score, decision, reasons, "
                        "sentence, override, override_at, version, updated_at) "
                        "VALUES (?, ?, 'single', 1, 1, 0, ?, '[\"user_choice\"]', 'Your choice.', ?, ?, '', ?)",
                        (path, path, decision, decision, now, now),
                    )
            n += cur.rowcount
    return n


def rows_for(ledger: Ledger, paths: Iterable[str]) -> dict[str, CullRow]:
    """path → its stored row, looked up by path (work bounded by `paths`, not by the table)."""
    if not _exists(ledger):
        return {}
    wanted, out = list(paths), {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        try:
            got = ledger.db.conn.execute(f"SELECT {_COLUMNS} FROM cull WHERE path IN ({marks})", chunk)
        except sqlite3.OperationalError:
            return {}
        for r in got:
            values = dict(zip(_FIELDS, r, strict=True))
            values["reasons"] = tuple(json.loads(values["reasons"] or "[]"))
            out[r[0]] = CullRow(**values)
    return out


def decisions_for(ledger: Ledger, paths: Iterable[str]) -> dict[str, str]:
    """path → its decision (the user's override first), for the paths culled; only the two columns read (the
    search results' flag: one lookup per 500 results, nothing parsed)."""
    if not _exists(ledger):
        return {}
    wanted = list(paths)
    out: dict[str, str] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        try:
            got = ledger.db.conn.execute(
                f"SELECT path, COALESCE(override, decision) FROM cull WHERE path IN ({marks})", chunk
            )
        except sqlite3.OperationalError:
            return {}
        out.update((str(path), str(decision)) for path, decision in got)
    return out


def rows(ledger: Ledger, paths: Iterable[str] | None = None) -> list[CullRow]:
    """The stored rows (among `paths` when given), by group then rank."""
    if not _exists(ledger):
        return []
    try:
        got = ledger.db.conn.execute(f"SELECT {_COLUMNS} FROM cull ORDER BY group_id, rank, path").fetchall()
    except sqlite3.OperationalError:
        return []
    wanted = set(paths) if paths is not None else None
    out = []
    for r in got:
        if wanted is not None and r[0] not in wanted:
            continue
        values = dict(zip(_FIELDS, r, strict=True))
        values["reasons"] = tuple(json.loads(values["reasons"] or "[]"))
        out.append(CullRow(**values))
    return out
