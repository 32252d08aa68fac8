"""The one rule for where an AI keyword goes in the keyword hierarchy, shared by every writer: the catalog
write-back (`catalog/write/plan.py`), XMP sidecars and embedded XMP (`catalog/xmp/merge.py`, via
`XmpUpdate.keyword_parent`) and the plug-in's Apply (`lrplugin/.../Catalog.lua` `underParent`, the same rule in
Lua, kept equal by tests/catalog/test_keyword_parent.py).

`keyword_path("Animals|Dog", "Pixel Detective")` → `"Pixel Detective|Animals|Dog"`: new keywords are grouped
under the user's keyword parent (the `keyword_parent` setting) instead of scattered at the top level. Two
exceptions keep existing trees intact: a path already under the parent is not nested twice, and a path whose
top level is an existing top-level keyword (the catalog's own "Places", or a sidecar's own tree) is reused in
place. No parent (None or "") leaves every path as it is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

SEPARATOR = "|"  # as in lr:hierarchicalSubject and Lightroom's keyword paths


def _lc(name: str) -> str:
    """Lightroom's lc_name comparison: NFC-normalised, lower-cased."""
    return unicodedata.normalize("NFC", name).lower()


def split(path: str) -> list[str]:
    """`" A | B "` → `["A", "B"]`; empty segments are dropped."""
    return [p.strip() for p in path.split(SEPARATOR) if p.strip()]


def top_levels(paths: Iterable[str]) -> frozenset[str]:
    """The (lower-cased) top-level names of some keyword paths: what `keyword_path` reuses in place."""
    return frozenset(_lc(parts[0]) for parts in map(split, paths) if parts)


def keyword_path(path: str, parent: str | None, existing_tops: Iterable[str] = ()) -> str:
    """The full hierarchical path an AI keyword is written as (see the module's docstring).

    `existing_tops`: top-level keyword names that already exist where the keyword is written (compared
    case-insensitively); a path starting with one of them stays where it is."""
    parts = split(path)
    parent_parts = split(parent or "")
    if not parts or not parent_parts:
        return SEPARATOR.join(parts)
    top = _lc(parts[0])
    if top == _lc(parent_parts[0]) or top in {_lc(t) for t in existing_tops}:
        return SEPARATOR.join(parts)
    return SEPARATOR.join(parent_parts + parts)
