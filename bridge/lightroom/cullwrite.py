"""Cull decisions as a Lightroom write-back: picks and rejects as flags, stars or colour labels (the user's
mapping: settings `cull_write_as`, `cull_pick_rating`, `cull_reject_rating`, `cull_*_label`), for each target:

- the closed catalog: `catalog_changes` (the changes-file form of `catalog.write`), plus the collections
  "Pixel Detective: picks", "…: rejects" and "…: eyes closed" (`collections`, written by
  `catalog.write.collections_write`);
- the plugin while Lightroom is open: `apply_photos` (the `apply` push's photos, protocol.ApplyPhoto), sent
  with the collections by `send_decisions` in pieces under the frame cap;
- XMP sidecars (RAW files): `xmp_update` (xmp:Rating, xmp:Label; XMP has no pick flag, so a "flag" mapping
  writes the ratings there).

An undecided photo gets its label only (when labels are mapped), never a flag or stars.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bridge.settings import Settings
from catalog.xmp import XmpUpdate

COLLECTION_PICKS = "Pixel Detective: picks"
COLLECTION_REJECTS = "Pixel Detective: rejects"
COLLECTION_EYES_CLOSED = "Pixel Detective: eyes closed"
PICK_FLAG = {"pick": 1, "reject": -1, "undecided": 0}


def decided_fields(decision: str, settings: Settings, *, xmp: bool = False) -> dict[str, Any]:
    """pick / rating / label for one decision under the user's mapping."""
    out: dict[str, Any] = {}
    mapping = set(settings.cull_write_as)
    if "flag" in mapping and not xmp:
        out["pick"] = PICK_FLAG[decision]
    if "rating" in mapping or ("flag" in mapping and xmp):
        if decision == "pick":
            out["rating"] = settings.cull_pick_rating
        elif decision == "reject":
            out["rating"] = settings.cull_reject_rating
    if "label" in mapping:
        label = {
            "pick": settings.cull_pick_label,
            "reject": settings.cull_reject_label,
            "undecided": settings.cull_undecided_label,
        }[decision]
        if label:
            out["label"] = label
    return out


def catalog_changes(
    rows: Iterable[Mapping[str, Any]], settings: Settings, spelled: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The changes-file photos (`PhotoChange.from_dict`) for cull rows (path, decision); `spelled` maps an
    indexed path to the catalog's spelling of it."""
    out = []
    for r in rows:
        fields = decided_fields(str(r["decision"]), settings)
        if fields:
            path = str(r["path"])
            out.append({"path": (spelled or {}).get(path, path), **fields})
    return out


def apply_photos(rows: Iterable[Mapping[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """The plugin's `apply` photos for cull rows."""
    out = []
    for r in rows:
        fields = decided_fields(str(r["decision"]), settings)
        if fields:
            out.append({"path": str(r["path"]), **fields})
    return out


def xmp_update(decision: str, settings: Settings) -> XmpUpdate | None:
    fields = decided_fields(decision, settings, xmp=True)
    if not fields:
        return None
    return XmpUpdate(rating=fields.get("rating"), label=fields.get("label"))


def collections(
    rows: Sequence[Mapping[str, Any]], spelled: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """Collection name → catalog paths: the picks, the rejects and the photos with eyes closed."""
    spell = spelled or {}
    out: dict[str, list[str]] = {COLLECTION_PICKS: [], COLLECTION_REJECTS: [], COLLECTION_EYES_CLOSED: []}
    for r in rows:
        path = spell.get(str(r["path"]), str(r["path"]))
        if r["decision"] == "pick":
            out[COLLECTION_PICKS].append(path)
        elif r["decision"] == "reject":
            out[COLLECTION_REJECTS].append(path)
        if "eyes_closed" in (r.get("reasons") or ()):
            out[COLLECTION_EYES_CLOSED].append(path)
    return out


def send_decisions(
    service: Any, photos: Sequence[dict[str, Any]], members: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """Push `apply_photos` and the collections to the connected Lightroom through `service` (a running
    `bridge.lightroom.Service`), each in pieces under the frame cap; the picks collection is shown last.
    Returns `{applied, missing, errors, collections: {name: added}}`. Raises NotConnected, TimeoutError."""
    from bridge.lightroom.service import in_frames

    total: dict[str, Any] = {"applied": 0, "missing": [], "errors": [], "collections": {}}
    for batch in in_frames(photos):
        res = service.push_apply(batch)
        total["applied"] += int(res.get("applied", 0))
        total["missing"] += list(res.get("missing", []))
        total["errors"] += list(res.get("errors", []))
    pieces = service.speaks("chunks")
    names = sorted((n for n in members if members[n]), key=lambda n: n == COLLECTION_PICKS)
    for name in names:
        chunks = (
            list(in_frames({"path": x} for x in members[name]))
            if pieces
            else [[{"path": x} for x in members[name]]]
        )
        added = 0
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            res = service.show_collection(
                name, [c["path"] for c in chunk], append=i > 0, show=last and name == names[-1]
            )
            added += int(res.get("added", 0))
        total["collections"][name] = added
    return total
