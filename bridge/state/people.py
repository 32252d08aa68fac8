"""The people table: persons found by clustering faces, their names, and which face belongs to whom.

Two tables in the ledger, created on first use by the writer (`CREATE TABLE IF NOT EXISTS`; a reader of an
index that never clustered faces sees no people):

    people        id, name (NULL until named), source ('cluster' | 'cli' | 'app' | 'catalog': who named it;
                  'app': the tray app's People view),
                  created_at, updated_at
    person_faces  fingerprint, face (index into that content's `faces` result), person_id (NULL:
                  clustered but not yet part of a person), faces_version (the `faces` result it refers to)

A face is referenced by (content fingerprint, index in its `faces` analysis); when a content's faces are
analysed again under another version, its rows go (`forget_stale`) and the faces are placed again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bridge.state.ledger import Ledger

SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    source TEXT NOT NULL DEFAULT 'cluster',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS person_faces (
    fingerprint TEXT NOT NULL,
    face INTEGER NOT NULL,
    person_id INTEGER,
    faces_version TEXT NOT NULL,
    PRIMARY KEY (fingerprint, face)
);
CREATE INDEX IF NOT EXISTS person_faces_person ON person_faces (person_id)
"""

FaceRef = tuple[str, int]


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: int
    name: str | None
    source: str
    faces: int
    photos: int


class PeopleError(ValueError):
    """A people command that cannot be done (unknown id, empty name); the message says why."""


class People:
    """The people tables of one ledger (writable ledger: created on first use)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.conn: sqlite3.Connection = ledger.db.conn
        if not ledger.readonly:
            with ledger.write() as conn:
                for statement in filter(str.strip, SCHEMA.split(";")):
                    conn.execute(statement)

    def _exists(self) -> bool:
        row = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'person_faces'")
        return row.fetchone() is not None

    # -- reading ----------------------------------------------------------------------------------------
    def people(self) -> list[PersonRow]:
        """Every person, most faces first (only faces of content still in the index count)."""
        if not self._exists():
            return []
        rows = self.conn.execute(
            "SELECT p.id, p.name, p.source, COUNT(f.face), COUNT(DISTINCT f.fingerprint) FROM people p "
            "LEFT JOIN person_faces f ON f.person_id = p.id "
            "AND f.fingerprint IN (SELECT fingerprint FROM files) "
            "GROUP BY p.id ORDER BY COUNT(f.face) DESC, p.id"
        )
        return [PersonRow(int(i), n, s, int(c), int(ph)) for i, n, s, c, ph in rows]

    def person(self, pid: int) -> PersonRow:
        for p in self.people():
            if p.id == pid:
                return p
        raise PeopleError(f"no person {pid} (see `pixel-detective people list`)")

    def by_name(self, name: str) -> list[int]:
        if not self._exists():
            return []
        rows = self.conn.execute("SELECT id FROM people WHERE name = ? COLLATE NOCASE ORDER BY id", (name.strip(),))
        return [int(r[0]) for r in rows]

    def placed(self) -> dict[FaceRef, tuple[int | None, str]]:
        """Every recorded face → (person id or None, faces version)."""
        if not self._exists():
            return {}
        return {
            (fp, int(i)): (None if p is None else int(p), v)
            for fp, i, p, v in self.conn.execute("SELECT fingerprint, face, person_id, faces_version FROM person_faces")
        }

    def faces_of(self, pid: int) -> list[FaceRef]:
        rows = self.conn.execute(
            "SELECT fingerprint, face FROM person_faces WHERE person_id = ? ORDER BY fingerprint, face", (pid,)
        )
        return [(fp, int(i)) for fp, i in rows]

    def names_for(self, fingerprints: Iterable[str] | None = None) -> dict[str, list[str]]:
        """{fingerprint: sorted names of the named people in it} (only contents with a named person)."""
        if not self._exists():
            return {}
        out: dict[str, set[str]] = {}
        sql = (
            "SELECT f.fingerprint, p.name FROM person_faces f JOIN people p ON p.id = f.person_id "
            "WHERE p.name IS NOT NULL"
        )
        for fp, name in self.conn.execute(sql):
            out.setdefault(fp, set()).add(name)
        if fingerprints is not None:
            want = set(fingerprints)
            out = {fp: v for fp, v in out.items() if fp in want}
        return {fp: sorted(v) for fp, v in out.items()}

    def fingerprints_of(self, pids: Iterable[int]) -> set[str]:
        ids = list(pids)
        if not ids:
            return set()
        q = ",".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT DISTINCT fingerprint FROM person_faces WHERE person_id IN ({q})", ids)
        return {r[0] for r in rows}

    # -- writing ----------------------------------------------------------------------------------------
    def record(
        self,
        joined: Mapping[FaceRef, int],
        new_people: Sequence[Sequence[FaceRef]],
        unassigned: Sequence[FaceRef],
        versions: Mapping[str, str],
    ) -> list[int]:
        """One clustering pass, in one transaction; returns the new people's ids."""
        now = time.time()
        created: list[int] = []
        with self.ledger.write() as conn:
            rows: list[tuple[str, int, int | None, str]] = [
                (fp, i, pid, versions[fp]) for (fp, i), pid in joined.items()
            ]
            for faces in new_people:
                cur = conn.execute("INSERT INTO people (name, source, created_at, updated_at) VALUES (NULL, 'cluster', ?, ?)", (now, now))
                pid = int(cur.lastrowid or 0)
                created.append(pid)
                rows.extend((fp, i, pid, versions[fp]) for fp, i in faces)
            rows.extend((fp, i, None, versions[fp]) for fp, i in unassigned)
            conn.executemany(
                "INSERT INTO person_faces (fingerprint, face, person_id, faces_version) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(fingerprint, face) DO UPDATE SET person_id = excluded.person_id, "
                "faces_version = excluded.faces_version",
                rows,
            )
        return created

    def forget_stale(self, current: Mapping[str, str]) -> set[str]:
        """Drop the face rows of contents whose `faces` result is gone or of another version; returns
        the fingerprints dropped (their payloads may need their `persons` rewritten)."""
        stale = {fp for (fp, _), (_, v) in self.placed().items() if current.get(fp) != v}
        if stale:
            with self.ledger.write() as conn:
                conn.executemany("DELETE FROM person_faces WHERE fingerprint = ?", [(fp,) for fp in stale])
        return stale

    def name(self, pid: int, name: str, source: str = "cli") -> None:
        name = " ".join(name.split())
        if not name:
            raise PeopleError("a person's name cannot be empty")
        self.person(pid)
        with self.ledger.write() as conn:
            conn.execute(
                "UPDATE people SET name = ?, source = ?, updated_at = ? WHERE id = ?", (name, source, time.time(), pid)
            )

    def merge(self, into: int, others: Sequence[int]) -> int:
        """Move the faces of `others` to `into` and delete them; returns the faces moved."""
        keep = self.person(into)
        for o in others:
            self.person(o)
        others = [o for o in others if o != keep.id]
        if not others:
            return 0
        q = ",".join("?" * len(others))
        with self.ledger.write() as conn:
            moved = conn.execute(f"UPDATE person_faces SET person_id = ? WHERE person_id IN ({q})", (into, *others))
            if keep.name is None:  # the merged person takes a name one of the others had
                row = conn.execute(
                    f"SELECT name, source FROM people WHERE id IN ({q}) AND name IS NOT NULL ORDER BY id LIMIT 1",
                    others,
                ).fetchone()
                if row is not None:
                    conn.execute("UPDATE people SET name = ?, source = ? WHERE id = ?", (row[0], row[1], into))
            conn.execute(f"DELETE FROM people WHERE id IN ({q})", others)
        return int(moved.rowcount or 0)
