"""`apply(catalog, plan) -> ApplyReport`: carry a WritePlan out on the original catalog, Lightroom closed.

Inside one `BEGIN IMMEDIATE` transaction (see txn.py) the plan is re-validated against the catalog as it is
now: every existing keyword and photo it names must still exist; a field whose current value is neither the
planned old value nor the new one means someone changed it since planning → `PlanStale`, nothing written.
Things already done are skipped (a keyword node at the same (parent, lc_name), an (image, tag) link, a field
already at its new value), so applying the same plan twice adds nothing. New ids come from
Adobe_entityIDCounter (written back as REAL).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from catalog.errors import CatalogError
from catalog.write import record as records
from catalog.write.ids import IdCounter
from catalog.write.keywords_write import genealogy, lc, stored_genealogy
from catalog.write.model import ApplyReport, PlanStale, WritePlan
from catalog.write.plan import NORMALIZE
from catalog.write.txn import write_session

EPOCH_2001 = 978307200
INSERT_TABLES = ("AgLibraryKeyword", "AgLibraryKeywordImage", "AgLibraryIPTC")

_SQL_RATING = (
    "UPDATE Adobe_images SET rating = CASE WHEN ?1 IS NULL THEN NULL WHEN typeof(rating) = 'integer' "
    "THEN CAST(?1 AS INTEGER) ELSE CAST(?1 AS REAL) END WHERE id_local = ?2"
)
_SQL_PICK = (
    "UPDATE Adobe_images SET pick = CASE WHEN typeof(pick) = 'integer' THEN CAST(?1 AS INTEGER) "
    "ELSE CAST(?1 AS REAL) END WHERE id_local = ?2"
)
_SQL_LABEL = "UPDATE Adobe_images SET colorLabels = ?1 WHERE id_local = ?2"
_SQL_TOUCH = (
    "UPDATE Adobe_images SET touchTime = CAST(?1 AS REAL), touchCount = touchCount + 1 WHERE id_local = ?2"
)


def now_2001() -> float:
    return time.time() - EPOCH_2001


def _keywords(
    conn: sqlite3.Connection, plan: WritePlan, ids: IdCounter, now: float
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """path → id for every new keyword of the plan (existing node reused when present), and the rows created."""
    resolved: dict[str, int] = {}
    gens: dict[int, str] = {}
    created: list[dict[str, Any]] = []
    rows = []
    for nk in plan.new_keywords:
        if nk.parent_path is not None:
            if nk.parent_path not in resolved:
                raise PlanStale(f"plan is inconsistent: {nk.path} comes before its parent")
            parent = resolved[nk.parent_path]
        else:
            parent = int(nk.parent_id)  # type: ignore[arg-type]
            if (
                conn.execute("SELECT 1 FROM AgLibraryKeyword WHERE id_local = ?", (parent,)).fetchone()
                is None
            ):
                raise PlanStale(f"keyword {parent} (parent of {nk.path}) no longer exists: plan again")
        row = conn.execute(
            "SELECT id_local FROM AgLibraryKeyword WHERE parent = ? AND lc_name = ?", (parent, lc(nk.name))
        ).fetchone()
        if row is not None:
            resolved[nk.path] = int(row[0])
            continue
        if parent not in gens:
            gens[parent] = stored_genealogy(conn, parent)
        kid = ids.take()
        gens[kid] = genealogy(gens[parent], kid)
        resolved[nk.path] = kid
        rows.append((kid, str(uuid.uuid4()).upper(), now, gens[kid], lc(nk.name), nk.name, parent))
        # one by one: a later row may find this one as its (parent, lc_name)
        conn.execute(
            "INSERT INTO AgLibraryKeyword (id_local, id_global, dateCreated, genealogy, imageCountCache,"
            " includeOnExport, includeParents, includeSynonyms, keywordType, lastApplied, lc_name, name, parent)"
            " VALUES (?1, ?2, CAST(?3 AS REAL), ?4, -1, 1, 1, 1, ?8, NULL, ?5, ?6, ?7)",
            (*rows[-1], nk.keyword_type),  # keywordType: NULL, or 'person' for a person keyword
        )
        created.append({"id": kid, "uuid": rows[-1][1], "name": nk.name, "parent": parent})
    return resolved, created


def _current_fields(conn: sqlite3.Connection, images: set[int]) -> dict[int, dict[str, Any]]:
    cur: dict[int, dict[str, Any]] = {}
    for iid, rating, pick, label in conn.execute(
        "SELECT id_local, rating, pick, colorLabels FROM Adobe_images"
    ):
        if iid in images:
            cur[iid] = {"rating": rating, "pick": pick, "label": label, "caption": None, "iptc": None}
    for iptc_id, image, caption in conn.execute(
        "SELECT id_local, image, caption FROM AgLibraryIPTC ORDER BY id_local"
    ):
        entry = cur.get(image)
        if entry is not None and entry["iptc"] is None:
            entry["iptc"], entry["caption"] = iptc_id, caption
    return cur



def apply(catalog_path: str | Path, plan: WritePlan, lock_timeout: float = 5.0) -> ApplyReport:
    """Write `plan`; raises CatalogLocked, UnsupportedCatalog, PlanStale or CatalogError (nothing written)."""
    started = time.perf_counter()
    source = Path(catalog_path).expanduser().resolve()
    if plan.catalog and Path(plan.catalog) != source:
        raise CatalogError(f"this plan was made for {plan.catalog}, not {source}")
    report = ApplyReport(catalog=str(source), backup=None)
    if plan.empty:
        report.integrity = "not needed (empty plan)"
        return report
    pending: list[records.WriteRecord] = []
    try:
        with write_session(source, lock_timeout) as s:
            conn = s.conn
            report.backup = str(s.backup)
            now = now_2001()
            ids = IdCounter(conn, INSERT_TABLES)
            images = {link.image_id for link in plan.links} | {f.image_id for f in plan.fields}
            cur = _current_fields(conn, images)
            missing = images - cur.keys()
            if missing:
                raise PlanStale(
                    f"{len(missing)} photo(s) of the plan are no longer in the catalog: plan again"
                )

            # Keywords and links.
            resolved, created = _keywords(conn, plan, ids, now)
            tags: dict[int, int] = {}  # link index → tag id
            for n, link in enumerate(plan.links):
                tags[n] = resolved[link.keyword_path] if link.keyword_id is None else int(link.keyword_id)
            wanted_tags = set(tags.values())
            existing_kw = {int(r[0]) for r in conn.execute("SELECT id_local FROM AgLibraryKeyword")}
            gone = wanted_tags - existing_kw
            if gone:
                raise PlanStale(f"keyword(s) {sorted(gone)[:5]} no longer exist: plan again")
            have = {
                (int(i), int(t))
                for i, t in conn.execute("SELECT image, tag FROM AgLibraryKeywordImage")
                if int(t) in wanted_tags
            }
            link_rows = []
            touched: set[int] = set()
            for n, link in enumerate(plan.links):
                pair = (link.image_id, tags[n])
                if pair in have:
                    continue
                have.add(pair)
                link_rows.append((ids.take(), *pair))
                touched.add(link.image_id)
            conn.executemany(
                "INSERT INTO AgLibraryKeywordImage (id_local, image, tag) VALUES (?, ?, ?)", link_rows
            )

            # Fields.
            updates: dict[str, list[tuple[Any, ...]]] = {"rating": [], "pick": [], "label": []}
            cap_update, cap_insert = [], []
            changed: list[
                dict[str, Any]
            ] = []  # for the write record: raw old value, so unwrite restores it exactly
            for f in plan.fields:
                now_value = NORMALIZE[f.field](cur[f.image_id][f.field])
                if now_value == f.new:
                    continue
                if now_value != f.old:
                    raise PlanStale(
                        f"photo {f.image_id}: {f.field} is now {now_value!r}, planned from {f.old!r}: plan again"
                    )
                touched.add(f.image_id)
                old_raw = cur[f.image_id][f.field]
                if f.field == "caption":
                    iptc = cur[f.image_id]["iptc"]
                    if iptc is None:
                        cap_insert.append((ids.take(), f.image_id, f.new))
                        continue  # recorded as an inserted row, not a field change
                    cap_update.append((f.new, iptc))
                else:
                    updates[f.field].append((f.new, f.image_id))
                entry = {"image": f.image_id, "field": f.field, "old": old_raw, "new": f.new}
                if f.field == "caption":
                    entry["iptc"] = cur[f.image_id]["iptc"]
                changed.append(entry)
            conn.executemany(_SQL_RATING, updates["rating"])
            conn.executemany(_SQL_PICK, updates["pick"])
            conn.executemany(_SQL_LABEL, updates["label"])
            conn.executemany("UPDATE AgLibraryIPTC SET caption = ? WHERE id_local = ?", cap_update)
            conn.executemany(
                "INSERT INTO AgLibraryIPTC (id_local, image, caption) VALUES (?, ?, ?)", cap_insert
            )
            conn.executemany(_SQL_TOUCH, [(now, iid) for iid in sorted(touched)])
            ids.write_back()

            report.keywords_created = len(created)
            report.links_created = len(link_rows)
            report.fields_changed = sum(map(len, updates.values())) + len(cap_update) + len(cap_insert)
            report.photos_touched = len(touched)
            report.ids = (ids.next - ids.handed_out, ids.next) if ids.handed_out else None
            rec = records.WriteRecord(
                catalog=str(source),
                backup=str(s.backup),
                time_2001=now,
                id_end=ids.next if ids.handed_out else None,
                keywords=created,
                links=[{"id": lid, "image": image, "tag": tag} for lid, image, tag in link_rows],
                captions=[{"id": cid, "image": image, "caption": text} for cid, image, text in cap_insert],
                fields=changed,
                path=records.new_path(source),
            )
            if not rec.empty:  # a re-applied plan adds nothing: nothing to take back later
                pending.append(rec)
                records.keep_with(s, rec)
    except BaseException:
        for rec in pending:  # not committed: a record of it would name rows that do not exist
            if rec.state == "pending" and rec.path is not None:
                rec.path.unlink(missing_ok=True)
        raise
    report.warnings = s.warnings
    report.record = str(pending[0].path) if pending else None
    report.integrity = s.integrity
    report.wal_checkpointed = s.wal_checkpointed
    report.seconds = round(time.perf_counter() - started, 3)
    return report
