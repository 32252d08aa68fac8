"""Minimal XMP packet access on top of xml.dom.minidom.

Why minidom rather than pyexiv2 or ElementTree: a merge must leave every foreign property of a Lightroom sidecar
as it was. minidom keeps the packet as written (prefixes, where namespaces are declared, attribute-form
properties, the xpacket processing instructions, nested crs:/mwg-rs: structures), so a merge only touches the
nodes of our own properties. pyexiv2 re-serialises the whole packet through Exiv2 (which also may rename unknown
prefixes, and whose XMP parser is not thread-safe), and ElementTree renames prefixes through a global map.
Parsing uses expat, which does not fetch external entities and (expat >= 2.4.1) limits entity expansion; we also
refuse any DOCTYPE, which a real XMP packet never has.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeGuard
from xml.dom import minidom
from xml.dom.minidom import Document, Element, Node, Text

from catalog.xmp import ns


class XmpError(ValueError):
    """The bytes are not a usable XMP packet."""


EMPTY_PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Pixel Detective">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '  <rdf:Description rdf:about=""/>\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>'
).encode()


def parse(data: bytes) -> Document:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XmpError("XMP packet contains a DOCTYPE/ENTITY declaration; refusing to parse it")
    try:
        doc = minidom.parseString(data)
    except Exception as exc:  # expat raises ExpatError; keep it a value-level error for callers
        raise XmpError(f"not well-formed XML: {exc}") from exc
    rdf_root(doc)  # validate shape early
    return doc


def serialize(doc: Document) -> bytes:
    # Node by node, so no `<?xml ...?>` declaration is added in front of the xpacket header.
    return ("\n".join(node.toxml() for node in doc.childNodes) + "\n").encode("utf-8")


def rdf_root(doc: Document) -> Element:
    found = doc.getElementsByTagNameNS(ns.RDF, "RDF")
    if not found:
        raise XmpError("no rdf:RDF element")
    return found[0]


def descriptions(doc: Document) -> list[Element]:
    """Top-level rdf:Description elements (nested ones belong to structured values such as mwg-rs regions)."""
    root = rdf_root(doc)
    return [n for n in root.childNodes if _is(n, ns.RDF, "Description")]


def is_element(node: Node) -> TypeGuard[Element]:
    return node.nodeType == Node.ELEMENT_NODE


def _is(node: Node, namespace: str, local: str) -> TypeGuard[Element]:
    return is_element(node) and node.namespaceURI == namespace and node.localName == local


def _is_text(node: Node) -> TypeGuard[Text]:
    """Text or CDATA section (a CDATASection is a Text)."""
    return node.nodeType in (Node.TEXT_NODE, Node.CDATA_SECTION_NODE)


def child_elements(el: Element) -> Iterator[Element]:
    return (n for n in el.childNodes if is_element(n))


def find_property(doc: Document, namespace: str, local: str) -> list[tuple[Element, Element | None]]:
    """Every occurrence as (description, element); element is None for the attribute form."""
    hits: list[tuple[Element, Element | None]] = []
    for desc in descriptions(doc):
        if desc.hasAttributeNS(namespace, local):
            hits.append((desc, None))
        hits.extend((desc, child) for child in child_elements(desc) if _is(child, namespace, local))
    return hits


def text_of(el: Element) -> str:
    return "".join(n.data for n in el.childNodes if _is_text(n))


def simple_value(doc: Document, namespace: str, local: str) -> str | None:
    for desc, el in find_property(doc, namespace, local):
        return desc.getAttributeNS(namespace, local) if el is None else text_of(el).strip()
    return None


def array_items(doc: Document, namespace: str, local: str) -> list[str]:
    """Items of a Bag/Seq property (a plain text value counts as one item, as exiftool reads it)."""
    items: list[str] = []
    for desc, el in find_property(doc, namespace, local):
        if el is None:
            items.append(desc.getAttributeNS(namespace, local))
            continue
        containers = [c for c in child_elements(el) if c.namespaceURI == ns.RDF]
        if not containers:
            if text_of(el).strip():
                items.append(text_of(el).strip())
            continue
        items.extend(text_of(li) for li in child_elements(containers[0]) if _is(li, ns.RDF, "li"))
    return items


def alt_default(doc: Document, namespace: str, local: str) -> str | None:
    """The x-default (else first) entry of a language alternative."""
    for desc, el in find_property(doc, namespace, local):
        if el is None:
            return desc.getAttributeNS(namespace, local)
        lis = [li for c in child_elements(el) for li in child_elements(c) if _is(li, ns.RDF, "li")]
        for li in lis:
            if li.getAttributeNS(ns.XML, "lang") == "x-default":
                return text_of(li)
        return text_of(lis[0]) if lis else text_of(el).strip() or None
    return None
