"""Test helper: an XMP packet as {property: canonical XML}, independent of the code under test (ElementTree)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
PD = "{http://ns.pixel-detective.app/1.0/}"
OWN = {
    "{http://purl.org/dc/elements/1.1/}subject",
    "{http://ns.adobe.com/lightroom/1.0/}hierarchicalSubject",
    "{http://purl.org/dc/elements/1.1/}description",
    "{http://purl.org/dc/elements/1.1/}title",
    "{http://ns.adobe.com/xap/1.0/}Rating",
    "{http://ns.adobe.com/xap/1.0/}Label",
}


def properties(data: bytes) -> dict[str, str]:
    """Every top-level property (attribute or element form) of every rdf:Description, canonicalised."""
    root = ET.fromstring(data)
    out: dict[str, str] = {}
    for desc in root.iter(f"{RDF}RDF"):
        for d in desc.findall(f"{RDF}Description"):
            for key, value in d.attrib.items():
                if key != f"{RDF}about":
                    out[key] = value
            for child in d:
                text = ET.tostring(child, encoding="unicode")
                out[child.tag] = (
                    ET.canonicalize(text, strip_text=True) if len(child) else (child.text or "").strip()
                )
    return out


def foreign(data: bytes) -> dict[str, str]:
    return {k: v for k, v in properties(data).items() if k not in OWN and not k.startswith(PD)}
