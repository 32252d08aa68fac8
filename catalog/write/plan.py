"""`plan(catalog, changes, options) -> WritePlan`: what a write would change, computed on a verified copy.

Reads through `catalog.reader.open_catalog` (lock check, verified copy, version gate), writes nothing;
refuses (HostileCatalog) a catalog with views or triggers Lightroom does not create, as `apply` would.
Keywords: with `reuse_existing`, an AI path is attached to an existing node whose full path, name or synonym
matches case-insensitively (anywhere in the tree; faces excluded; best = longest matching path suffix, then
outside our parent, then shallowest, then lowest id). Otherwise the path is created under `keyword_parent`
(default top-level "Pixel Detective"; None = under the root) by the rule every writer shares
(`catalog.keyword_parent.keyword_path`: a path whose top level is an existing top-level keyword stays there),
reusing every node that already exists at the same (parent, lc_name), so nothing is ever duplicated. Only the
leaf is linked to the photo, as Lightroom does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from catalog.errors import CatalogError, UnsupportedCatalog
from catalog.keyword_parent import keyword_path
from catalog.keywords import SEPARATOR
from catalog.lrschema import refusal
from catalog.photos import Photo
from catalog.reader import open_catalog
from catalog.write.columns import refusal_reason, write_problems
from catalog.write.keywords_write import TreeIndex, lc, split_path
from catalog.write.model import UNSET, FieldChange, Link, NewKeyword, PhotoChange, WriteOptions, WritePlan
from catalog.write.rules import evaluate


def norm_rating(v: Any) -> int | None:
    if v is None or v == "":
        return None
    r = int(float(v))
    if r not in range(6):
        raise ValueError(f"rating must be 0-5 or null: {v!r}")
    return r or None  # 0 = unrated = NULL, as Lightroom stores it


def norm_pick(v: Any) -> int:
    p = int(float(v or 0))
    if p not in (-1, 0, 1):
        raise ValueError(f"pick must be 1, 0 or -1: {v!r}")
    return p


def norm_text(v: Any) -> str:
    return "" if v is None else str(v)


NORMALIZE = {"rating": norm_rating, "pick": norm_pick, "label": norm_text, "caption": norm_text}


def _subtree(tree_children: dict[int | None, list[int]], top: int | None) -> set[int]:
    if top is None:
        return set()
    out, stack = set(), [top]
    while stack:
        k = stack.pop()
        if k not in out:
            out.add(k)
            stack.extend(tree_children.get(k, ()))
    return out


class _Planner:
    def __init__(self, photos: list[Photo], index: TreeIndex, root: int, options: WriteOptions) -> None:
        self.index = index
        self.root = root
        self.options = options
        self.new: dict[str, NewKeyword] = {}
        self.by_id = {p.id: p for p in photos}
        self.by_uuid = {p.uuid.upper(): p for p in photos}
        self.by_path: dict[str, Photo] = {}
        for p in sorted(photos, key=lambda p: (p.is_virtual_copy, p.id)):  # masters win
            self.by_path.setdefault(p.path, p)

    def find(self, ch: PhotoChange) -> Photo | None:
        if ch.id is not None and ch.id in self.by_id:
            return self.by_id[ch.id]
        if ch.uuid and ch.uuid.upper() in self.by_uuid:
            return self.by_uuid[ch.uuid.upper()]
        if ch.path:
            return self.by_path.get(ch.path) or self.by_path.get(ch.path.replace("\\", "/"))
        return None

    def chain(self, parts: tuple[str, ...]) -> tuple[int | None, str]:
        """Existing id (or None) and path of the node for `parts` under the root, planning missing nodes."""
        parent_id: int | None = None  # tree id; None = the root
        parent_new: str | None = None
        names: list[str] = []
        for part in parts:
            if parent_new is None:
                existing = self.index.child.get((parent_id, lc(part)))
                if existing is not None:
                    parent_id = existing.id
                    names.append(existing.name)
                    continue
            names.append(part)
            full = SEPARATOR.join(names)
            planned = self.new.get(lc(full))
            if planned is None:
                planned = NewKeyword(
                    path=full,
                    name=part,
                    parent_id=(self.root if parent_id is None else parent_id) if parent_new is None else None,
                    parent_path=parent_new,
                )
                self.new[lc(full)] = planned
            parent_new = planned.path
        if parent_new is not None:
            return None, parent_new
        return parent_id, SEPARATOR.join(names)


def plan(
    catalog_path: str | Path, changes: Iterable[PhotoChange], options: WriteOptions | None = None
) -> WritePlan:
    """Compute the write; raises CatalogLocked / UnsupportedCatalog / CatalogError like the reader."""
    options = options or WriteOptions()
    with open_catalog(catalog_path) as cat:
        # refused here already, on the copy, so a dry run says so and a refused write never opens the original
        foreign = cat.foreign_objects()
        if foreign:
            raise refusal(cat.source, foreign)
        problems = write_problems(cat.table_info)
        if problems:
            raise UnsupportedCatalog(
                cat.version.raw, reason=refusal_reason(cat.source.name, cat.version.raw, problems)
            )
        photos = cat.photos()
        tree = cat.keyword_tree()
        counter = cat.variable("Adobe_entityIDCounter")
        version = cat.version.raw
        warnings = cat.warnings
        source = str(cat.source)
    if tree.root_id is None:
        raise CatalogError(
            "catalog has no root keyword (AgLibraryKeyword_rootTagID): refusing to write keywords"
        )
    if counter is None or counter == "":
        raise CatalogError("catalog has no Adobe_entityIDCounter: refusing to write")

    children: dict[int | None, list[int]] = {}
    for k in tree.by_id.values():
        children.setdefault(k.parent_id, []).append(k.id)
    base = TreeIndex(tree, set())
    ours_top: int | None = None
    node_id: int | None = None
    for part in split_path(options.keyword_parent) if options.keyword_parent else ():
        node = base.child.get((node_id, lc(part)))
        if node is None:
            ours_top = None
            break
        node_id = ours_top = node.id
    index = TreeIndex(tree, _subtree(children, ours_top))
    planner = _Planner(photos, index, tree.root_id, options)
    tops = [name for (parent, name) in index.child if parent is None]  # existing top-level keywords

    out = WritePlan(
        catalog=source,
        version=version,
        counter=int(float(counter)),
        options=options.to_dict(),
        warnings=warnings,
    )
    seen_links: set[tuple[int, str]] = set()
    touched: set[int] = set()
    for ch in changes:
        photo = planner.find(ch)
        if photo is None:
            out.unmatched.append(ch.key)
            continue
        if "keywords" in options.what:
            linked = set(photo.keywords)
            for raw in ch.keywords:
                parts = split_path(raw)
                match = index.match(parts) if options.reuse_existing else None
                kid: int | None  # an existing keyword, or None for one this plan creates
                if match is not None:
                    kid, kpath = match.id, match.full_path
                    if SEPARATOR.join(parts) != kpath:
                        out.reused[raw] = kpath
                else:  # the one keyword-parent rule every writer shares (catalog/keyword_parent.py)
                    kid, kpath = planner.chain(split_path(keyword_path(raw, options.keyword_parent, tops)))
                if kid is not None and kpath in linked:
                    continue
                if (photo.id, lc(kpath)) in seen_links:
                    continue
                seen_links.add((photo.id, lc(kpath)))
                out.links.append(Link(photo.id, kid, kpath))
                touched.add(photo.id)
        wanted = {k: v for k, v in evaluate(options.rules, ch.scores).items()}
        for name in ("caption", "rating", "label", "pick"):
            explicit = getattr(ch, name)
            if explicit is not UNSET:
                wanted[name] = explicit
        current = {
            "caption": photo.caption,
            "rating": photo.rating,
            "label": photo.color_label,
            "pick": photo.pick,
        }
        for name, value in wanted.items():
            if name not in options.what:
                continue
            new, old = NORMALIZE[name](value), NORMALIZE[name](current[name])
            if name == "caption" and (not new or (old and not options.overwrite_caption)):
                continue
            if new != old:
                out.fields.append(FieldChange(photo.id, name, old, new))
                touched.add(photo.id)
    out.new_keywords = list(planner.new.values())
    out.photos = len(touched)
    return out
