"""Merge Pixel Detective's properties into an XMP packet (or a new one), leaving foreign content alone."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from catalog.keyword_parent import keyword_path, top_levels
from catalog.xmp import dom, edit, ns

_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
RESERVED_PD = frozenset({"AddedKeywords", "AddedSubjects"})


@dataclass(frozen=True)
class XmpUpdate:
    """What to change. None / empty means "leave as it is"."""

    keywords: tuple[str, ...] = ()  # flat names ("dog") or full paths ("Animals|Mammals|Dog")
    # Set for AI keywords: each goes under this parent by the shared rule (catalog.keyword_parent), reusing
    # the sidecar's own top-level trees in place. None: keywords are written exactly as given.
    keyword_parent: str | None = None
    keyword_tops: tuple[str, ...] = ()  # top-level keywords of the user's catalog: reused in place, never nested
    remove_keywords: tuple[str, ...] = ()  # removed only where we added them (pd:AddedKeywords)
    replace_ours: bool = False  # drop keywords we added earlier that are not in `keywords`
    include_parents: bool = True  # dc:subject also gets "Animals", "Mammals" for "Animals|Mammals|Dog"
    caption: str | None = None
    overwrite_caption: bool = False
    title: str | None = None
    overwrite_title: bool = False
    rating: int | None = None
    label: str | None = None
    scores: Mapping[str, float | int | str] = field(
        default_factory=dict
    )  # pd:Sharpness, pd:ModelVersion, ...

    def __post_init__(self) -> None:
        if self.rating is not None and not 0 <= self.rating <= 5:
            raise ValueError(f"rating must be 0..5 (Lightroom's range), got {self.rating}")
        for name in self.scores:
            if not _NCNAME.match(name) or name in RESERVED_PD:
                raise ValueError(f"invalid pd: property name {name!r}")
        for kw in (*self.keywords, *self.remove_keywords):
            if not normalize_path(kw):
                raise ValueError(f"empty keyword {kw!r}")


@dataclass(frozen=True)
class MergeResult:
    data: bytes
    changes: tuple[str, ...]  # human-readable, one per changed property; empty when nothing changed


def normalize_path(keyword: str) -> str:
    return "|".join(part.strip() for part in keyword.split("|") if part.strip())


def flat_names(path: str, include_parents: bool) -> list[str]:
    parts = path.split("|")
    return parts if include_parents else parts[-1:]


def _uniq(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def merge(existing: bytes | None, update: XmpUpdate) -> MergeResult:
    doc = dom.parse(existing if existing is not None else dom.EMPTY_PACKET)
    changes: list[str] = []
    _merge_keywords(doc, update, changes)
    _merge_alt(doc, ns.DC, "description", "dc:description", update.caption, update.overwrite_caption, changes)
    _merge_alt(doc, ns.DC, "title", "dc:title", update.title, update.overwrite_title, changes)
    if update.rating is not None:
        _merge_simple(doc, ns.XMP, "Rating", "xmp:Rating", str(update.rating), changes)
    if update.label is not None:
        _merge_simple(doc, ns.XMP, "Label", "xmp:Label", update.label, changes)
    for name, value in update.scores.items():
        text = format(value, ".6g") if isinstance(value, float) else str(value)
        _merge_simple(doc, ns.PD, name, f"pd:{name}", text, changes)
    if existing is not None and not changes:
        return MergeResult(existing, ())
    return MergeResult(dom.serialize(doc), tuple(changes))


def _merge_simple(doc, uri: str, local: str, label: str, value: str, changes: list[str]) -> None:
    current = dom.simple_value(doc, uri, local)
    if current != value:
        edit.set_simple(doc, uri, local, value)
        changes.append(f"{label}: {current!r} -> {value!r}")


def _merge_alt(doc, uri, local, label, value: str | None, overwrite: bool, changes: list[str]) -> None:
    if value is None:
        return
    current = dom.alt_default(doc, uri, local)
    if current == value or (current and current.strip() and not overwrite):
        return  # never replace a user's text unless asked to
    edit.set_alt_default(doc, uri, local, value)
    changes.append(f"{label}: {current!r} -> {value!r}")


def _merge_keywords(doc, update: XmpUpdate, changes: list[str]) -> None:
    hier = dom.array_items(doc, ns.LR, "hierarchicalSubject")
    subject = dom.array_items(doc, ns.DC, "subject")
    ours = dom.array_items(doc, ns.PD, "AddedKeywords")
    our_subjects = dom.array_items(doc, ns.PD, "AddedSubjects")
    # The user's own trees in this packet (not ours) are reused in place, as the catalog's are.
    tops = top_levels(h for h in hier if h not in ours) | top_levels(update.keyword_tops)

    def placed(k: str) -> str:
        return keyword_path(k, update.keyword_parent, tops) if update.keyword_parent else normalize_path(k)

    wanted = _uniq(placed(k) for k in update.keywords)
    drop = {placed(k) for k in update.remove_keywords} | {normalize_path(k) for k in update.remove_keywords}
    if update.replace_ours:
        drop |= set(ours) - set(wanted)
    drop &= set(ours)  # only keywords we added ourselves are ever removed

    new_hier = [h for h in hier if h not in drop]
    new_ours = [o for o in ours if o not in drop]
    for path in wanted:
        if path not in new_hier:
            new_hier.append(path)
            if path not in new_ours:
                new_ours.append(path)

    needed = _uniq(n for p in new_ours for n in flat_names(p, update.include_parents))
    new_subject = [s for s in subject if s not in our_subjects or s in needed]
    new_our_subjects = [s for s in our_subjects if s in needed]
    for name in needed:
        if name not in new_subject:
            new_subject.append(name)
            new_our_subjects.append(name)

    for uri, local, label, before, after in (
        (ns.DC, "subject", "dc:subject", subject, new_subject),
        (ns.LR, "hierarchicalSubject", "lr:hierarchicalSubject", hier, new_hier),
        (ns.PD, "AddedKeywords", "pd:AddedKeywords", ours, new_ours),
        (ns.PD, "AddedSubjects", "pd:AddedSubjects", our_subjects, new_our_subjects),
    ):
        if before != after:
            edit.set_array(doc, uri, local, after)
            added = [a for a in after if a not in before]
            gone = [b for b in before if b not in after]
            changes.append(f"{label}: +{added} -{gone}")
