"""Keyword tree: AgLibraryKeyword (root id in Adobe_variablesTable 'AgLibraryKeyword_rootTagID'), synonyms
from AgLibraryKeywordSynonym, per-photo keywords from AgLibraryKeywordImage. `keywordType` (faces; absent in
Lightroom 3) and `includeOnExport` are read as None/True where missing; a catalog without the synonym table reads
without synonyms.

Paths are built by walking `parent`, not from `genealogy`: genealogy is a cache that outside tools may have
written wrongly, while `parent` is what Lightroom's own tree uses.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from catalog.errors import HostileCatalog
from catalog.schema import Probe

TABLES: dict[str, tuple[str, ...]] = {
    "AgLibraryKeyword": ("id_local", "id_global", "name", "parent"),
    "AgLibraryKeywordImage": ("image", "tag"),
    "Adobe_variablesTable": ("name", "value"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "AgLibraryKeyword": ("keywordType", "includeOnExport"),
    "AgLibraryKeywordSynonym": ("id_local", "keyword", "name"),  # the whole table is optional
}
SEPARATOR = "|"  # as in lr:hierarchicalSubject
MAX_DEPTH = 256


@dataclass(frozen=True)
class Keyword:
    id: int
    uuid: str
    name: str
    parent_id: int | None  # None for top-level keywords (their parent is the hidden root)
    path: tuple[str, ...]  # names from the top level down to this keyword
    synonyms: tuple[str, ...] = ()
    keyword_type: str | None = None  # 'person' for faces
    include_on_export: bool = True

    @property
    def full_path(self) -> str:
        return SEPARATOR.join(self.path)


@dataclass(frozen=True)
class KeywordTree:
    root_id: int | None
    by_id: dict[int, Keyword] = field(default_factory=dict)

    def children(self, keyword_id: int | None) -> list[Keyword]:
        return self._children.get(keyword_id, [])

    @cached_property
    def _children(self) -> dict[int | None, list[Keyword]]:
        """parent id → sorted children, built once (a per-call scan made printing a big tree quadratic)."""
        out: dict[int | None, list[Keyword]] = defaultdict(list)
        for k in self.by_id.values():
            out[k.parent_id].append(k)
        for kids in out.values():
            kids.sort(key=lambda k: k.name.lower())
        return dict(out)

    @property
    def top_level(self) -> list[Keyword]:
        return self.children(None)

    def by_path(self, full_path: str) -> Keyword | None:
        return next((k for k in self.by_id.values() if k.full_path == full_path), None)


def _root_id(conn: sqlite3.Connection) -> int | None:
    row = conn.execute(
        "SELECT value FROM Adobe_variablesTable WHERE name = 'AgLibraryKeyword_rootTagID'"
    ).fetchone()
    if row is not None and row[0] not in (None, ""):
        return int(float(row[0]))  # stored as REAL
    # Fallback seen in hand-made catalogs: the single keyword without a name and without a parent.
    row = conn.execute(
        "SELECT id_local FROM AgLibraryKeyword WHERE parent IS NULL AND name IS NULL"
    ).fetchone()
    return int(row[0]) if row else None


def _paths(rows: dict[int, Any], parent_of: Callable[[int], int | None]) -> dict[int, tuple[str, ...]]:
    """Full name path of every keyword, each parent's path computed once (a deep tree stays linear).

    A parent cycle in a damaged catalog ends the walk where it closes; a hierarchy deeper than MAX_DEPTH is
    refused (Lightroom users nest a handful of levels; thousands mean a catalog built to stall us, R47)."""
    memo: dict[int, tuple[str, ...]] = {}
    for kid in rows:
        stack: list[int] = []
        on_stack: set[int] = set()
        cur: int | None = kid
        while cur is not None and cur not in memo and cur not in on_stack:
            stack.append(cur)
            on_stack.add(cur)
            cur = parent_of(cur)
            if len(stack) > MAX_DEPTH:
                break  # refused below; stops the walk of a very long chain early
        base = memo.get(cur, ()) if cur is not None else ()
        if len(base) + len(stack) > MAX_DEPTH:
            raise HostileCatalog(f"the keyword hierarchy is deeper than {MAX_DEPTH} levels: not read")
        for node in reversed(stack):
            base = (*base, rows[node][2] or "")
            memo[node] = base
    return memo


def read_keyword_tree(conn: sqlite3.Connection, schema: Probe) -> KeywordTree:
    schema.require(TABLES, "reading keywords")
    root = _root_id(conn)
    synonyms: dict[int, list[str]] = defaultdict(list)
    if schema.optional_table("AgLibraryKeywordSynonym"):
        schema.require({"AgLibraryKeywordSynonym": OPTIONAL["AgLibraryKeywordSynonym"]}, "reading synonyms")
        for kw, name in conn.execute("SELECT keyword, name FROM AgLibraryKeywordSynonym ORDER BY id_local"):
            if name and kw is not None:
                synonyms[int(kw)].append(name)
    extra = schema.pick("AgLibraryKeyword", OPTIONAL["AgLibraryKeyword"])
    rows = {
        int(r[0]): r
        for r in conn.execute(f"SELECT id_local, id_global, name, parent, {extra} FROM AgLibraryKeyword")
    }

    def parent_of(kid: int) -> int | None:
        p = rows[kid][3]
        p = None if p is None else int(float(p))
        return None if p == root or p not in rows else p

    paths = _paths(rows, parent_of)
    out: dict[int, Keyword] = {}
    for kid, (_, uuid, name, _, ktype, export) in rows.items():
        if kid == root:
            continue
        out[kid] = Keyword(
            id=kid,
            uuid=str(uuid),
            name=name or "",
            parent_id=parent_of(kid),
            path=paths[kid],
            synonyms=tuple(synonyms.get(kid, ())),
            keyword_type=ktype,
            include_on_export=bool(export) if export is not None else True,
        )
    return KeywordTree(root, out)


def read_photo_keywords(conn: sqlite3.Connection, tree: KeywordTree) -> dict[int, tuple[str, ...]]:
    """image id → sorted full keyword paths."""
    found: dict[int, set[str]] = defaultdict(set)
    for image, tag in conn.execute("SELECT image, tag FROM AgLibraryKeywordImage"):
        kw = tree.by_id.get(int(tag))
        if kw is not None:
            found[int(image)].add(kw.full_path)
    return {image: tuple(sorted(paths)) for image, paths in found.items()}
