"""`remove_ours(catalog)`: take back exactly what Pixel Detective wrote, nothing the user added (R50).

Works from the write records (record.py), never from "everything under our parent keyword": the user may have
made keywords of their own under "Pixel Detective", or applied ours to more photos. Per recorded item:
- a link (id, image, tag) is deleted when the row with that id still joins the same image and keyword;
- a field we changed goes back to its old value when it still holds the value we wrote (newest write first);
- an AgLibraryIPTC row we inserted is deleted when it still holds only our caption;
- a keyword we created (same id and id_global, same name and parent) is deleted when, after the above, no photo
  uses it, it has no synonyms and no children left; otherwise it is kept, with the reason, and stays recorded
  so a later unwrite can take it once the user is done with it;
- collections (newest write first): a member row we inserted is deleted while it still joins the same
  collection and photo; a member row we deleted comes back (same id) while its collection exists and does not
  hold that photo again; a collection we created is deleted when, after that, it is still ours (same name, top
  level, same genealogy) and empty — one the user filled, renamed or moved is kept with the reason.
A record still "pending" (the write was interrupted around COMMIT) counts only when our keyword UUIDs prove the
commit; when the id counter proves it never committed it is dropped; otherwise it is left alone and reported.
Same guarded session as `apply`: lock check, version and schema gates, backup, one transaction, integrity check.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from catalog.lock import catalog_file
from catalog.write.apply import _SQL_TOUCH, now_2001
from catalog.write.ids import read_counter
from catalog.write.plan import NORMALIZE
from catalog.write.record import WriteRecord, finish, load_all
from catalog.write.txn import write_session

_FIELD_COLUMN = {"rating": "rating", "pick": "pick", "label": "colorLabels"}


@dataclass
class Kept:
    what: str
    reason: str


@dataclass
class RemoveReport:
    catalog: str
    backup: str | None = None
    records: int = 0  # write records considered
    keywords_removed: int = 0
    links_removed: int = 0
    captions_removed: int = 0
    fields_reverted: int = 0
    collections_removed: int = 0
    members_removed: int = 0  # collection memberships we added, taken back
    members_restored: int = 0  # memberships our write had replaced, put back
    photos_touched: int = 0
    already_gone: int = 0  # recorded rows the user (or Lightroom) had already removed
    removed_keywords: list[str] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    integrity: str = "not run"
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self, limit: int = 30) -> str:
        if not self.records:
            return f"Nothing to take back: no Pixel Detective writes are recorded for {self.catalog}."
        lines = [
            f"Took back Pixel Detective's writes to {self.catalog} ({self.records} write(s) recorded):",
            f"  removed {self.keywords_removed} keyword(s), {self.links_removed} keyword link(s), "
            f"{self.captions_removed} caption(s); {self.fields_reverted} field(s) set back; "
            f"{self.photos_touched} photo(s) touched",
            *(
                [
                    f"  collections: {self.collections_removed} removed, {self.members_removed} membership(s) "
                    f"taken back, {self.members_restored} put back"
                ]
                if self.collections_removed or self.members_removed or self.members_restored
                else []
            ),
            *(f"    - {name}" for name in self.removed_keywords[:limit]),
        ]
        if self.already_gone:
            lines.append(f"  already gone before this run: {self.already_gone}")
        if self.kept:
            lines.append(f"  kept {len(self.kept)} (you changed or use them):")
            lines += [f"    = {k.what}: {k.reason}" for k in self.kept[:limit]]
            if len(self.kept) > limit:
                lines.append(f"    … and {len(self.kept) - limit} more (--json lists all)")
        lines += [f"  warning: {w}" for w in self.warnings]
        lines.append(f"  integrity {self.integrity}; backup {self.backup}")
        return "\n".join(lines)

    __str__ = summary


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _rows(conn: sqlite3.Connection, table: str, cols: str, ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
    """id_local → (cols…) for the given ids (absent ids are simply missing)."""
    out: dict[int, tuple[Any, ...]] = {}
    for part in _chunks(sorted(set(ids))):
        marks = ", ".join("?" for _ in part)
        for row in conn.execute(f"SELECT id_local, {cols} FROM {table} WHERE id_local IN ({marks})", part):
            out[int(row[0])] = tuple(row[1:])
    return out


class _Undo:
    def __init__(self, conn: sqlite3.Connection, report: RemoveReport) -> None:
        self.conn = conn
        self.report = report
        self.touched: set[int] = set()

    def keep(self, what: str, reason: str) -> None:
        self.report.kept.append(Kept(what, reason))

    def committed(self, rec: WriteRecord) -> bool | None:
        """True/False when the record's write provably did/did not commit; None when it cannot be told."""
        if rec.state != "pending":
            return True
        found = _rows(self.conn, "AgLibraryKeyword", "id_global", (k["id"] for k in rec.keywords))
        if any(found.get(k["id"], (None,))[0] == k["uuid"] for k in rec.keywords):
            return True  # our random UUIDs are in the catalog
        if rec.id_end is not None and read_counter(self.conn) < rec.id_end:
            return False  # a committed write would have moved the counter to id_end; it never goes back
        return None

    def links(self, rec: WriteRecord) -> None:
        rows = _rows(self.conn, "AgLibraryKeywordImage", "image, tag", (lk["id"] for lk in rec.links))
        gone = []
        for lk in rec.links:
            row = rows.get(lk["id"])
            if row is None:
                self.report.already_gone += 1
            elif (int(row[0]), int(row[1])) == (lk["image"], lk["tag"]):
                gone.append(lk["id"])
                self.touched.add(lk["image"])
            else:
                self.keep(f"keyword link {lk['id']}", "it now joins another photo or keyword")
        self.conn.executemany("DELETE FROM AgLibraryKeywordImage WHERE id_local = ?", [(i,) for i in gone])
        self.report.links_removed += len(gone)
        rec.links = []

    def fields(self, rec: WriteRecord) -> None:
        for f in rec.fields:
            image, name = f["image"], f["field"]
            if name == "caption":
                row = self.conn.execute(
                    "SELECT caption FROM AgLibraryIPTC WHERE id_local = ? AND image = ?",
                    (f.get("iptc"), image),
                ).fetchone()
                sql = "UPDATE AgLibraryIPTC SET caption = ? WHERE id_local = ?"
                target = f.get("iptc")
            else:
                column = _FIELD_COLUMN[name]
                row = self.conn.execute(
                    f"SELECT {column} FROM Adobe_images WHERE id_local = ?", (image,)
                ).fetchone()
                sql = f"UPDATE Adobe_images SET {column} = ? WHERE id_local = ?"
                target = image
            if row is None:
                self.report.already_gone += 1
            elif NORMALIZE[name](row[0]) != f["new"]:
                self.keep(f"{name} of photo {image}", f"changed since our write (now {row[0]!r})")
            else:
                self.conn.execute(sql, (f["old"], target))  # the raw old value: same storage class as before
                self.report.fields_reverted += 1
                self.touched.add(image)
        rec.fields = []

    def captions(self, rec: WriteRecord) -> None:
        """Rows we inserted: deleted while they hold nothing but our caption; else only our caption goes."""
        for c in rec.captions:
            row = self.conn.execute("SELECT * FROM AgLibraryIPTC WHERE id_local = ?", (c["id"],)).fetchone()
            if row is None:
                self.report.already_gone += 1
                continue
            cols = [d[0] for d in self.conn.execute("SELECT * FROM AgLibraryIPTC LIMIT 0").description]
            values = dict(zip(cols, row, strict=True))
            if values["image"] != c["image"] or values["caption"] != c["caption"]:
                self.keep(f"caption of photo {c['image']}", "edited since our write")
                continue
            others = [v for k, v in values.items() if k not in ("id_local", "image", "caption")]
            if all(v is None for v in others):
                self.conn.execute("DELETE FROM AgLibraryIPTC WHERE id_local = ?", (c["id"],))
            else:  # the user filled other IPTC fields into our row: keep the row, take back the caption only
                self.conn.execute("UPDATE AgLibraryIPTC SET caption = NULL WHERE id_local = ?", (c["id"],))
            self.report.captions_removed += 1
            self.touched.add(c["image"])
        rec.captions = []

    def collections(self, rec: WriteRecord) -> None:
        """Take back one write's collection changes (call newest record first)."""
        rows = _rows(
            self.conn, "AgLibraryCollectionImage", "collection, image", (m["id"] for m in rec.members_added)
        )
        gone = []
        for m in rec.members_added:
            row = rows.get(m["id"])
            if row is None:
                self.report.already_gone += 1
            elif (int(row[0]), int(row[1])) == (m["collection"], m["image"]):
                gone.append(m["id"])
            else:
                self.keep(f"collection membership {m['id']}", "it now joins another collection or photo")
        self.conn.executemany("DELETE FROM AgLibraryCollectionImage WHERE id_local = ?", [(i,) for i in gone])
        self.report.members_removed += len(gone)
        for m in rec.members_removed:
            exists = self.conn.execute(
                "SELECT 1 FROM AgLibraryCollection WHERE id_local = ?", (m["collection"],)
            )
            held = self.conn.execute(
                "SELECT 1 FROM AgLibraryCollectionImage WHERE collection = ? AND image = ?",
                (m["collection"], m["image"]),
            )
            taken = self.conn.execute("SELECT 1 FROM AgLibraryCollectionImage WHERE id_local = ?", (m["id"],))
            if exists.fetchone() is None or held.fetchone() is not None or taken.fetchone() is not None:
                continue  # the collection is gone, or the photo is back in it already
            self.conn.execute(
                "INSERT INTO AgLibraryCollectionImage (id_local, collection, image, pick) VALUES (?, ?, ?, ?)",
                (m["id"], m["collection"], m["image"], m["pick"]),
            )
            self.report.members_restored += 1
        kept = []
        for c in rec.collections:
            row = self.conn.execute(
                "SELECT name, parent, genealogy FROM AgLibraryCollection WHERE id_local = ?", (c["id"],)
            ).fetchone()
            if row is None:
                self.report.already_gone += 1
            elif (row[0], row[1], row[2]) != (c["name"], None, c["genealogy"]):
                self.keep(f"collection {c['name']}", "renamed or moved by you; it is yours now")
            elif (n := self._members(c["id"])) > 0:
                self.keep(f"collection {c['name']}", f"you added {n} photo(s) to it")
                kept.append(c)
            else:
                self.conn.execute("DELETE FROM AgLibraryCollection WHERE id_local = ?", (c["id"],))
                self.report.collections_removed += 1
        rec.collections, rec.members_added, rec.members_removed = kept, [], []

    def _members(self, cid: int) -> int:
        return int(
            self.conn.execute(
                "SELECT count(*) FROM AgLibraryCollectionImage WHERE collection = ?", (cid,)
            ).fetchone()[0]
        )

    def path(self, kid: int) -> str:
        names, seen, node = [], set(), kid
        while node is not None and node not in seen:
            seen.add(node)
            row = self.conn.execute(
                "SELECT name, parent FROM AgLibraryKeyword WHERE id_local = ?", (node,)
            ).fetchone()
            if row is None or row[0] is None:
                break
            names.append(str(row[0]))
            node = row[1]
        return "|".join(reversed(names))

    def ours(self, recs: list[WriteRecord]) -> dict[int, tuple[WriteRecord, dict[str, Any]]]:
        """Recorded keywords whose row is still the one we created, unrenamed and unmoved."""
        out = {}
        for rec in recs:
            rows = _rows(
                self.conn,
                "AgLibraryKeyword",
                "id_global, name, parent, dateCreated",
                (k["id"] for k in rec.keywords),
            )
            for k in rec.keywords:
                row = rows.get(k["id"])
                if row is None:
                    self.report.already_gone += 1
                elif rec.state == "legacy":  # no UUID recorded: dateCreated was that write's own clock
                    if row[3] == rec.time_2001:
                        out[k["id"]] = (rec, k)
                elif row[0] != k["uuid"]:
                    continue  # not the row we created (cannot happen while the counter only grows)
                elif (row[1], row[2]) != (k["name"], k["parent"]):
                    self.keep(f"keyword {self.path(k['id'])}", "renamed or moved by you; it is yours now")
                else:
                    out[k["id"]] = (rec, k)
        return out

    def blocker(self, kid: int, removed: set[int]) -> str | None:
        """Why keyword `kid` must stay (None: it can go)."""
        uses = self.conn.execute(
            "SELECT count(*) FROM AgLibraryKeywordImage WHERE tag = ?", (kid,)
        ).fetchone()[0]
        if uses:
            return f"you applied it to {uses} photo(s)"
        if self.conn.execute("SELECT 1 FROM AgLibraryKeywordSynonym WHERE keyword = ?", (kid,)).fetchone():
            return "you gave it synonyms"
        children = [
            (int(r[0]), r[1])
            for r in self.conn.execute("SELECT id_local, name FROM AgLibraryKeyword WHERE parent = ?", (kid,))
        ]
        theirs = [str(name) for cid, name in children if cid not in removed]
        if theirs:
            return f"it still holds {', '.join(sorted(theirs)[:5])}"
        return None

    def keywords(self, recs: list[WriteRecord]) -> None:
        candidates = self.ours(recs)
        removed: set[int] = set()
        progress = True
        while progress:  # leaves first; newest ids first, so one pass usually suffices
            progress = False
            for kid in sorted(set(candidates) - removed, reverse=True):
                if self.blocker(kid, removed) is None:
                    self.report.removed_keywords.append(self.path(kid))
                    self.conn.execute("DELETE FROM AgLibraryKeyword WHERE id_local = ?", (kid,))
                    removed.add(kid)
                    progress = True
        for kid in sorted(set(candidates) - removed):
            self.keep(f"keyword {self.path(kid)}", self.blocker(kid, removed) or "in use")
        self.report.keywords_removed = len(removed)
        kept = set(candidates) - removed  # stay recorded: a later unwrite may take them
        for rec in recs:
            rec.keywords = [k for k in rec.keywords if k["id"] in kept]


def remove_ours(catalog_path: str | Path, lock_timeout: float = 5.0) -> RemoveReport:
    """Take back every recorded write to this catalog (see the module docstring). Raises CatalogLocked,
    UnsupportedCatalog, HostileCatalog or CatalogError; with nothing recorded, opens nothing."""
    source = catalog_file(catalog_path)  # a missing file, a folder or a FIFO is an error, records or not
    report = RemoveReport(str(source))
    recs = load_all(source)
    report.records = len(recs)
    if not recs:
        report.integrity = "not needed (nothing recorded)"
        return report
    with write_session(source, lock_timeout) as s:
        report.backup = str(s.backup)
        undo = _Undo(s.conn, report)
        live, done = [], []
        for rec in recs:
            state = undo.committed(rec)
            if state is None:
                undo.keep(f"write of {rec.path.name if rec.path else '?'}",
                          f"interrupted around COMMIT and not provably saved; not undone (backup: {rec.backup})")  # fmt: skip
            elif state:
                live.append(rec)
            else:
                rec.keywords, rec.links, rec.captions, rec.fields = [], [], [], []
                rec.collections, rec.members_added, rec.members_removed = [], [], []
                done.append(rec)  # never committed: nothing of it is in the catalog
        for rec in live:
            undo.links(rec)
        for rec in reversed(live):  # newest first: each field goes back through every value we wrote
            undo.fields(rec)
            undo.captions(rec)
            undo.collections(rec)
        undo.keywords(live)
        s.conn.executemany(_SQL_TOUCH, [(now_2001(), i) for i in sorted(undo.touched)])
        report.photos_touched = len(undo.touched)

        def store_rest() -> None:  # after COMMIT: records keep only what is still ours in the catalog
            for rec in live + done:
                finish(rec)

        s.after_commit.append(store_rest)
    report.integrity = s.integrity
    report.warnings = s.warnings
    return report
