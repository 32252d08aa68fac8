"""Plan person keywords (Lightroom's People view: `AgLibraryKeyword.keywordType = 'person'`) for photos.

`plan_people(catalog, names_by_photo, people_parent=None) -> WritePlan`, carried out by `apply` like any
other plan (lock check, backup, one transaction, write record for `catalog unwrite`):

- A name that already is a person keyword anywhere in the tree (NFC, case-insensitive; the lowest id when
  several) is linked, never duplicated.
- A new name is created as a person keyword under the user's existing people tree: the keyword that is
  the parent of most existing person keywords (top level when they are top level). `people_parent`
  ("People", "Family|Friends") overrides it; its missing parts are created as ordinary keywords. With
  no person keyword in the catalog and no `people_parent`, new people go to the top level, as
  Lightroom's People view puts them.
- A photo already linked to the keyword is left alone; only the person keyword itself is linked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from catalog.keywords import SEPARATOR, Keyword
from catalog.reader import open_catalog
from catalog.write.keywords_write import lc, nfc, split_path
from catalog.write.model import Link, NewKeyword, WriteOptions, WritePlan
from catalog.write.plan import plan

PERSON = "person"


def plan_people(
    catalog_path: str | Path, names_by_photo: Mapping[str, Sequence[str]], people_parent: str | None = None
) -> WritePlan:
    """`names_by_photo`: photo path as the catalog spells it (or its uuid) → the names of the people in it."""
    # The header (version, id counter, warnings) and every refusal (locked, hostile, unwritable) from the
    # shared planner, on an empty change list.
    out = plan(catalog_path, [], WriteOptions(keyword_parent=None, what=frozenset({"keywords"})))
    with open_catalog(catalog_path) as cat:
        photos = cat.photos()
        tree = cat.keyword_tree()
    by_key: dict[str, object] = {}
    for p in sorted(photos, key=lambda p: (p.is_virtual_copy, p.id)):  # masters win
        by_key.setdefault(p.path, p)
        by_key.setdefault(p.uuid, p)
    persons: dict[str, Keyword] = {}
    for k in sorted(tree.by_id.values(), key=lambda k: k.id):
        if k.keyword_type == PERSON:
            persons.setdefault(lc(k.name), k)
    children = {(k.parent_id, lc(k.name)): k for k in tree.by_id.values()}
    root = tree.root_id
    # where new people go: (existing parent id or None for a planned parent, its path)
    parent_id: int | None = root
    parent_path: str | None = None
    prefix: tuple[str, ...] = ()
    new: dict[str, NewKeyword] = {}
    if people_parent:
        lookup: int | None = None  # the tree's parent id while the path exists (None: top level)
        exists = True
        for part in split_path(people_parent):
            prefix = (*prefix, part)
            found = children.get((lookup, lc(part))) if exists else None
            if found is not None:
                lookup = parent_id = found.id
                continue
            exists = False
            full = SEPARATOR.join(prefix)
            new[full] = NewKeyword(full, part, parent_id if parent_path is None else None, parent_path)
            parent_path = full
    elif persons:
        counts = Counter(k.parent_id for k in persons.values())
        top, _ = counts.most_common(1)[0]
        if top is not None:
            parent_id = top
            prefix = tree.by_id[top].path
    people_new: dict[str, str] = {}  # lc name → planned path
    touched: set[int] = set()
    for key, names in names_by_photo.items():
        photo = by_key.get(key)
        if photo is None:
            out.unmatched.append(key)
            continue
        linked = set(photo.keywords)  # type: ignore[attr-defined]
        image = int(photo.id)  # type: ignore[attr-defined]
        for raw in names:
            name = " ".join(nfc(raw).split())
            if not name:
                continue
            existing = persons.get(lc(name))
            if existing is not None:
                if existing.full_path in linked:
                    continue
                out.links.append(Link(image, existing.id, existing.full_path))
                linked.add(existing.full_path)
            else:
                path = people_new.get(lc(name))
                if path is None:
                    path = SEPARATOR.join((*prefix, name))
                    new[path] = NewKeyword(
                        path, name, parent_id if parent_path is None else None, parent_path, keyword_type=PERSON
                    )
                    people_new[lc(name)] = path
                if path in linked:
                    continue
                out.links.append(Link(image, None, path))
                linked.add(path)
            touched.add(image)
    used = {link.keyword_path for link in out.links if link.keyword_id is None}
    out.new_keywords = [
        k for k in new.values() if any(u == k.path or u.startswith(k.path + SEPARATOR) for u in used)
    ]
    out.photos = len(touched)
    return out
