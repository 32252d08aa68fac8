"""`remove_ours(catalog)`: take back what Pixel Detective added, nothing else.

Removes (1) every keyword in the subtree of our top-level parent (default "Pixel Detective"), the parent itself,
their synonyms and all their photo links; (2) links we created to the user's own keywords (reuse), found in the
`applied.json` records of the backup folder, only where the recorded (image, tag) pair is still the same row;
(3) keywords we created outside the parent (keyword_parent=None), when they have no links and no children left.
Same guarded session as `apply`: lock check, version gate, backup, one transaction, integrity check.
Captions, ratings, labels and picks are not reverted (restore a backup for that).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from catalog.write.apply import _SQL_TOUCH, now_2001
from catalog.write.backup import records
from catalog.write.keywords_write import lc, split_path
from catalog.write.model import DEFAULT_PARENT
from catalog.write.txn import write_session


@dataclass
class RemoveReport:
    catalog: str
    backup: str | None = None
    keywords_removed: int = 0
    links_removed: int = 0
    photos_touched: int = 0
    integrity: str = "not run"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def remove_ours(catalog_path: str | Path, keyword_parent: str | None = DEFAULT_PARENT) -> RemoveReport:
    source = Path(catalog_path).expanduser().resolve()
    report = RemoveReport(str(source))
    recs = records(source)
    with write_session(source) as s:
        conn = s.conn
        report.backup = str(s.backup)
        root_row = conn.execute(
            "SELECT value FROM Adobe_variablesTable WHERE name = 'AgLibraryKeyword_rootTagID'"
        ).fetchone()
        node = int(float(root_row[0])) if root_row else None
        subtree: set[int] = set()
        for part in split_path(keyword_parent) if keyword_parent and node is not None else ():
            row = conn.execute(
                "SELECT id_local FROM AgLibraryKeyword WHERE parent = ? AND lc_name = ?", (node, lc(part))
            ).fetchone()
            node = None if row is None else int(row[0])
            if node is None:
                break
        if keyword_parent and node is not None:
            stack = [node]
            while stack:
                k = stack.pop()
                if k not in subtree:
                    subtree.add(k)
                    stack.extend(
                        int(r[0])
                        for r in conn.execute("SELECT id_local FROM AgLibraryKeyword WHERE parent = ?", (k,))
                    )
        victims: list[tuple[int, int, int]] = []  # link id, image, tag
        for lid, image, tag in conn.execute("SELECT id_local, image, tag FROM AgLibraryKeywordImage"):
            if int(tag) in subtree:
                victims.append((int(lid), int(image), int(tag)))
        recorded = {
            int(lid): (int(p[0]), int(p[1]))
            for _, rec in recs
            for lid, p in zip(rec.get("links_created", []), rec.get("link_pairs", []), strict=False)
        }
        seen = {v[0] for v in victims}
        for lid, (image, tag) in recorded.items():
            if lid in seen:
                continue
            row = conn.execute(
                "SELECT image, tag FROM AgLibraryKeywordImage WHERE id_local = ?", (lid,)
            ).fetchone()
            if row is not None and (int(row[0]), int(row[1])) == (image, tag):
                victims.append((lid, image, tag))
        conn.executemany("DELETE FROM AgLibraryKeywordImage WHERE id_local = ?", [(v[0],) for v in victims])
        kw_gone = sorted(subtree)
        # Keywords we created elsewhere: leaves first, only when nothing uses them any more.
        created_elsewhere = [
            k for _, rec in recs for k in rec.get("keywords_created", []) if k not in subtree
        ]
        for kid in sorted(set(created_elsewhere), reverse=True):
            used = conn.execute(
                "SELECT 1 FROM AgLibraryKeywordImage WHERE tag = ? LIMIT 1", (kid,)
            ).fetchone()
            child = conn.execute("SELECT 1 FROM AgLibraryKeyword WHERE parent = ? LIMIT 1", (kid,)).fetchone()
            if used is None and child is None:
                conn.execute("DELETE FROM AgLibraryKeyword WHERE id_local = ?", (kid,))
                kw_gone.append(kid)
        conn.executemany("DELETE FROM AgLibraryKeywordSynonym WHERE keyword = ?", [(k,) for k in kw_gone])
        conn.executemany("DELETE FROM AgLibraryKeyword WHERE id_local = ?", [(k,) for k in subtree])
        touched = sorted({v[1] for v in victims})
        now = now_2001()
        conn.executemany(_SQL_TOUCH, [(now, i) for i in touched])
        report.keywords_removed = len(kw_gone)
        report.links_removed = len(victims)
        report.photos_touched = len(touched)
    report.integrity = s.integrity
    return report
