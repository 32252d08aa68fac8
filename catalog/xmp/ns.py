"""XMP namespace URIs and the properties Pixel Detective owns."""

from __future__ import annotations

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X = "adobe:ns:meta/"
XML = "http://www.w3.org/XML/1998/namespace"
XMLNS = "http://www.w3.org/2000/xmlns/"
DC = "http://purl.org/dc/elements/1.1/"
XMP = "http://ns.adobe.com/xap/1.0/"
LR = "http://ns.adobe.com/lightroom/1.0/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
PD = "http://ns.pixel-detective.app/1.0/"

# Prefixes used when a namespace is not yet declared in the document (existing prefixes are always reused).
PREFERRED_PREFIX = {
    RDF: "rdf",
    DC: "dc",
    XMP: "xmp",
    LR: "lr",
    DIGIKAM: "digiKam",
    PD: "pd",
}

# (namespace, local name) of every property a merge may touch; everything else is foreign and preserved.
OWN_PROPERTIES: frozenset[tuple[str, str]] = frozenset(
    {
        (DC, "subject"),
        (LR, "hierarchicalSubject"),
        (DC, "description"),
        (DC, "title"),
        (XMP, "Rating"),
        (XMP, "Label"),
    }
)


def is_own(namespace: str | None, local: str) -> bool:
    """True for properties a merge may change: the shared fields above and anything in our namespace."""
    return namespace == PD or (namespace or "", local) in OWN_PROPERTIES
