"""Fill plain (non-smart) collections in a closed catalog: `write_collections(catalog, {name: [paths]})`.

Under the same guarded session as every write (`txn.write_session`: lock check, version and schema gates,
backup, one transaction, integrity check). Each named collection is found at the top level by name
(`creationId 'com.adobe.ag.library.collection'`) or created there (`genealogy` `/<len><id>`, as Lightroom
writes it; ids from `Adobe_entityIDCounter`); its members become exactly the given photos (matched by path
against master photos, virtual copies left out), so a re-run replaces the previous members. Paths the catalog
does not know are returned as `missing`. Each write is recorded like every other (`record.py`: the collections
created, the member rows inserted and deleted), so `catalog unwrite` takes it back. The rows are written as seen in a real Lightroom 5 catalog
(`AgLibraryCollection`, `AgLibraryCollectionImage` with `pick` 0 and no position); no Lightroom has opened a
catalog written this way in our tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.errors import UnsupportedCatalog
from catalog.lock import catalog_file
from catalog.reader import open_catalog
from catalog.schema import table_info
from catalog.write import record as records
from catalog.write.apply import now_2001
from catalog.write.ids import IdCounter
from catalog.write.keywords_write import genealogy
from catalog.write.txn import write_session

COLLECTION = "com.adobe.ag.library.collection"
NEEDED = {
    "AgLibraryCollection": ("id_local", "creationId", "genealogy", "name", "parent", "systemOnly"),
    "AgLibraryCollectionImage": ("id_local", "collection", "image", "pick"),
}


@dataclass
class CollectionsReport:
    collections: dict[str, int] = field(default_factory=dict)  # name → members written
    created: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    backup: str = ""
    integrity: str = ""
    record: str | None = None  # the write record `catalog unwrite` uses


def write_collections(
    catalog_path: str | Path, members: Mapping[str, Sequence[str]], lock_timeout: float = 5.0
) -> CollectionsReport:
    """Make each named top-level collection hold exactly the given photos (see the module docstring)."""
    with open_catalog(catalog_path, lock_timeout=lock_timeout) as cat:
        ids = {p.path: p.id for p in cat.photos() if not p.is_virtual_copy}
    report = CollectionsReport()
    wanted: dict[str, list[int]] = {}
    for name, paths in members.items():
        found = []
        for path in paths:
            pid = ids.get(path)
            if pid is None:
                report.missing.append(path)
            else:
                found.append(pid)
        wanted[name] = sorted(set(found))
    source = catalog_file(catalog_path)
    pending: list[records.WriteRecord] = []
    try:
        _write(source, wanted, report, lock_timeout, pending)
    except BaseException:
        for rec in pending:  # not committed: a record of it would name rows that do not exist
            if rec.state == "pending" and rec.path is not None:
                rec.path.unlink(missing_ok=True)
        raise
    return report


def _write(
    source: Path,
    wanted: dict[str, list[int]],
    report: CollectionsReport,
    lock_timeout: float,
    pending: list[records.WriteRecord],
) -> None:
    with write_session(source, lock_timeout) as session:
        conn = session.conn
        for table, cols in NEEDED.items():
            have = set(table_info(conn, table))
            lacking = [c for c in cols if c not in have]
            if lacking:
                raise UnsupportedCatalog(
                    session.version.raw,
                    reason=f"refusing to write collections: {table} lacks {', '.join(lacking)}; nothing was written.",
                )
        counter = IdCounter(conn, ("AgLibraryCollection", "AgLibraryCollectionImage"))
        created: list[dict[str, Any]] = []
        added: list[dict[str, Any]] = []
        removed: list[dict[str, Any]] = []
        for name, images in wanted.items():
            row = conn.execute(
                "SELECT id_local FROM AgLibraryCollection WHERE name = ? AND parent IS NULL AND creationId = ?",
                (name, COLLECTION),
            ).fetchone()
            if row is None:
                cid = counter.take()
                conn.execute(
                    "INSERT INTO AgLibraryCollection (id_local, creationId, genealogy, imageCount, name, parent, "
                    "systemOnly) VALUES (?, ?, ?, NULL, ?, NULL, '0.0')",
                    (cid, COLLECTION, genealogy("", cid), name),
                )
                created.append({"id": cid, "name": name, "genealogy": genealogy("", cid)})
                report.created.append(name)
            else:
                cid = int(row[0])
            old = {
                int(r[1]): (int(r[0]), r[2])
                for r in conn.execute(
                    "SELECT id_local, image, pick FROM AgLibraryCollectionImage WHERE collection = ?", (cid,)
                )
            }
            new = set(images)
            for image, (rid, pick) in sorted(old.items()):
                if image not in new:  # only changed membership is written (and recorded)
                    conn.execute("DELETE FROM AgLibraryCollectionImage WHERE id_local = ?", (rid,))
                    removed.append({"id": rid, "collection": cid, "image": image, "pick": pick})
            for image in images:
                if image in old:
                    continue
                rid = counter.take()
                conn.execute(
                    "INSERT INTO AgLibraryCollectionImage (id_local, collection, image, pick) VALUES (?, ?, ?, 0)",
                    (rid, cid, image),
                )
                added.append({"id": rid, "collection": cid, "image": image})
            report.collections[name] = len(images)
        counter.write_back()
        report.backup = str(session.backup)
        rec = records.WriteRecord(
            catalog=str(source),
            backup=str(session.backup),
            time_2001=now_2001(),
            id_end=counter.next if counter.handed_out else None,
            collections=created,
            members_added=added,
            members_removed=removed,
            path=records.new_path(source),
        )
        if not rec.empty:  # a re-run that changes nothing has nothing to take back
            pending.append(rec)
            records.keep_with(session, rec)
            report.record = str(rec.path)
    report.integrity = session.integrity
