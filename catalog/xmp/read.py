"""Read the fields Pixel Detective cares about from an XMP sidecar (or any XMP packet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from catalog.fsutil import read_regular
from catalog.xmp import dom, ns

# Lightroom sidecars with long develop histories reach a few MB; anything far beyond is not a sidecar (R48).
MAX_SIDECAR_BYTES = 32 << 20


@dataclass(frozen=True)
class SidecarData:
    keywords: tuple[str, ...] = ()  # dc:subject, flat names
    hierarchical: tuple[str, ...] = ()  # lr:hierarchicalSubject, "A|B|C"
    digikam_tags: tuple[str, ...] = ()  # digiKam:TagsList, "A/B/C"
    caption: str | None = None  # dc:description x-default
    title: str | None = None  # dc:title x-default
    rating: int | None = None  # xmp:Rating
    label: str | None = None  # xmp:Label
    scores: dict[str, str] = field(default_factory=dict)  # pd:* simple properties (ours)
    added_keywords: tuple[str, ...] = ()  # pd:AddedKeywords: the keyword paths we added


def read_packet(data: bytes) -> SidecarData:
    doc = dom.parse(data)
    rating = dom.simple_value(doc, ns.XMP, "Rating")
    scores: dict[str, str] = {}
    for desc in dom.descriptions(doc):
        for attr in desc.attributes.values():
            if attr.namespaceURI == ns.PD:
                scores[attr.localName] = attr.value
        for el in dom.child_elements(desc):
            if el.namespaceURI == ns.PD and not any(True for _ in dom.child_elements(el)):
                scores[el.localName] = dom.text_of(el).strip()
    return SidecarData(
        keywords=tuple(dom.array_items(doc, ns.DC, "subject")),
        hierarchical=tuple(dom.array_items(doc, ns.LR, "hierarchicalSubject")),
        digikam_tags=tuple(dom.array_items(doc, ns.DIGIKAM, "TagsList")),
        caption=dom.alt_default(doc, ns.DC, "description"),
        title=dom.alt_default(doc, ns.DC, "title"),
        rating=_int_or_none(rating),
        label=dom.simple_value(doc, ns.XMP, "Label"),
        scores=scores,
        added_keywords=tuple(dom.array_items(doc, ns.PD, "AddedKeywords")),
    )


def read_sidecar(path: Path) -> SidecarData:
    """Parse a sidecar. Only a regular file is opened (a FIFO named .xmp raises NotRegularFile at once, a huge
    file FileTooLarge); both are OSErrors, as is a missing file."""
    return read_packet(read_regular(Path(path), MAX_SIDECAR_BYTES))


def _int_or_none(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
