"""Node-level edits of one XMP property inside a parsed packet; everything else is left as it was."""

from __future__ import annotations

from xml.dom.minidom import Document, Element, Node

from catalog.xmp import dom, ns


def prefix_for(el: Element, uri: str) -> str:
    """The prefix bound to `uri` at `el`, declaring one on `el` when none is in scope."""
    in_scope: dict[str, str] = {}
    node: Node | None = el
    while node is not None and dom.is_element(node):
        for attr in node.attributes.values():
            if attr.namespaceURI == ns.XMLNS and attr.prefix == "xmlns":
                in_scope.setdefault(attr.localName, attr.value)
        node = node.parentNode
    for prefix, bound in in_scope.items():
        if bound == uri:
            return prefix
    base = ns.PREFERRED_PREFIX.get(uri, "ns")
    prefix, n = base, 1
    while prefix in in_scope:  # preferred prefix taken by another namespace here: pick a free one
        prefix, n = f"{base}{n}", n + 1
    el.setAttributeNS(ns.XMLNS, f"xmlns:{prefix}", uri)
    return prefix


def _indent_of(el: Element) -> str:
    prev = el.previousSibling
    if prev is not None and prev.nodeType == Node.TEXT_NODE and "\n" in prev.data:
        return prev.data.rsplit("\n", 1)[1]
    return ""


def _append(doc: Document, parent: Element, child: Element) -> None:
    """Append with indentation that matches the surrounding packet (`doc` is the document `parent` is in)."""
    base = _indent_of(parent)
    last = parent.lastChild
    if last is not None and last.nodeType == Node.TEXT_NODE and not last.data.strip():
        parent.insertBefore(doc.createTextNode("\n" + base + " "), last)
        parent.insertBefore(child, last)
    else:
        parent.appendChild(doc.createTextNode("\n" + base + " "))
        parent.appendChild(child)
        parent.appendChild(doc.createTextNode("\n" + base))


def _new(doc: Document, at: Element, uri: str, local: str) -> Element:
    return doc.createElementNS(uri, f"{prefix_for(at, uri)}:{local}")


def remove(doc: Document, uri: str, local: str) -> bool:
    removed = False
    for desc, el in dom.find_property(doc, uri, local):
        removed = True
        if el is None:
            desc.removeAttributeNS(uri, local)
            continue
        prev = el.previousSibling
        if prev is not None and prev.nodeType == Node.TEXT_NODE and not prev.data.strip():
            desc.removeChild(prev)
        desc.removeChild(el)
    return removed


def _target(doc: Document, uri: str, local: str) -> tuple[Element, Element | None]:
    """Where the property lives now (first occurrence; duplicates removed) or the first Description."""
    hits = dom.find_property(doc, uri, local)
    if not hits:
        return dom.descriptions(doc)[0], None
    first = hits[0]
    for desc, el in hits[1:]:
        if el is None:
            desc.removeAttributeNS(uri, local)
        else:
            desc.removeChild(el)
    return first


def set_simple(doc: Document, uri: str, local: str, value: str) -> None:
    desc, el = _target(doc, uri, local)
    attr = desc.getAttributeNodeNS(uri, local) if el is None else None
    if attr is not None:  # the attribute form: set it in place
        attr.value = value
        return
    if el is None:
        el = _new(doc, desc, uri, local)
        _append(doc, desc, el)
    for child in list(el.childNodes):
        el.removeChild(child)
    el.appendChild(doc.createTextNode(value))


def _container(doc: Document, desc: Element, uri: str, local: str, kind: str) -> Element:
    """An empty rdf:<kind> inside the property element (created or emptied in place)."""
    _, el = _target(doc, uri, local)
    if el is None:
        if desc.hasAttributeNS(uri, local):
            desc.removeAttributeNS(uri, local)
        el = _new(doc, desc, uri, local)
        _append(doc, desc, el)
    for child in list(el.childNodes):
        el.removeChild(child)
    box = _new(doc, el, ns.RDF, kind)
    _append(doc, el, box)
    return box


def set_array(doc: Document, uri: str, local: str, items: list[str], kind: str = "Bag") -> None:
    if not items:
        remove(doc, uri, local)
        return
    desc = _target(doc, uri, local)[0]
    box = _container(doc, desc, uri, local, kind)
    for item in items:
        li = _new(doc, box, ns.RDF, "li")
        li.appendChild(doc.createTextNode(item))
        _append(doc, box, li)


def set_alt_default(doc: Document, uri: str, local: str, value: str) -> None:
    """Set the x-default entry of a language alternative, keeping other languages."""
    desc, el = _target(doc, uri, local)
    if el is not None:
        for box in dom.child_elements(el):
            if box.namespaceURI == ns.RDF and box.localName == "Alt":
                for li in dom.child_elements(box):
                    if li.getAttributeNS(ns.XML, "lang") == "x-default":
                        for child in list(li.childNodes):
                            li.removeChild(child)
                        li.appendChild(doc.createTextNode(value))
                        return
    box = _container(doc, desc, uri, local, "Alt")
    li = _new(doc, box, ns.RDF, "li")
    li.setAttributeNS(ns.XML, "xml:lang", "x-default")
    li.appendChild(doc.createTextNode(value))
    _append(doc, box, li)
