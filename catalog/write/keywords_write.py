"""Keyword helpers shared by planning and applying: names, genealogy, matching AI paths to existing nodes."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from catalog.keywords import SEPARATOR, Keyword, KeywordTree


def lc(name: str) -> str:
    """Lightroom's lc_name: NFC-normalised, lower-cased."""
    return unicodedata.normalize("NFC", name).lower()


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def split_path(path: str) -> tuple[str, ...]:
    parts = tuple(nfc(p.strip()) for p in path.split(SEPARATOR))
    if not parts or any(not p for p in parts):
        raise ValueError(f"bad keyword path {path!r}: empty segment")
    return parts


def genealogy(parent_genealogy: str, kid: int) -> str:
    """parent's genealogy + '/' + number of digits of id + id, e.g. '/516345/6353658'."""
    return f"{parent_genealogy}/{len(str(kid))}{kid}"


def stored_genealogy(conn: sqlite3.Connection, kid: int) -> str:
    """Genealogy of an existing keyword; rebuilt from the parent chain when the stored value is empty."""
    chain: list[int] = []
    cur: int | None = kid
    while cur is not None and cur not in chain:
        row = conn.execute(
            "SELECT genealogy, parent FROM AgLibraryKeyword WHERE id_local = ?", (cur,)
        ).fetchone()
        if row is None:
            break
        if row[0]:
            gen = str(row[0])
            for child in reversed(chain):
                gen = genealogy(gen, child)
            return gen
        chain.append(cur)
        cur = None if row[1] is None else int(float(row[1]))
    gen = ""
    for node in reversed(chain):
        gen = genealogy(gen, node)
    return gen


@dataclass
class TreeIndex:
    """Lookups over the reader's KeywordTree: children by (parent, lc_name), nodes by name or synonym."""

    tree: KeywordTree
    ours: set[int]  # ids inside our keyword_parent subtree (preferred last when reusing)

    def __post_init__(self) -> None:
        self.child: dict[tuple[int | None, str], Keyword] = {}
        self.by_name: dict[str, list[Keyword]] = defaultdict(list)
        self.by_path: dict[str, Keyword] = {}
        for k in sorted(self.tree.by_id.values(), key=lambda k: k.id):
            self.child.setdefault((k.parent_id, lc(k.name)), k)
            self.by_path.setdefault(lc(k.full_path), k)
            if k.keyword_type == "person":  # faces are never reused for AI keywords
                continue
            for name in {lc(k.name), *(lc(s) for s in k.synonyms)}:
                self.by_name[name].append(k)

    def match(self, parts: tuple[str, ...]) -> Keyword | None:
        """An existing node for an AI path: same full path, else the leaf name or a synonym anywhere."""
        exact = self.by_path.get(lc(SEPARATOR.join(parts)))
        if exact is not None and exact.keyword_type != "person":
            return exact
        cands = self.by_name.get(lc(parts[-1]), [])
        if not cands:
            return None
        want = [lc(p) for p in parts]

        def rank(k: Keyword) -> tuple[int, int, int, int]:
            have = [lc(p) for p in k.path]
            suffix = sum(1 for a, b in zip(reversed(have), reversed(want), strict=False) if a == b)
            return (-suffix, k.id in self.ours, len(k.path), k.id)

        return min(cands, key=rank)
