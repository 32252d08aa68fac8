from __future__ import annotations

import struct
import zlib

from catalog.captions import decode_xmp, parse_title_description

XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    '<dc:title><rdf:Alt><rdf:li xml:lang="de">Titel</rdf:li><rdf:li xml:lang="x-default">Title &amp; more</rdf:li>'
    "</rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>"
)


def test_plain_and_compressed_xmp_decode_the_same() -> None:
    raw = XMP.encode()
    blob = struct.pack(">I", len(raw)) + zlib.compress(raw)
    assert decode_xmp(XMP) == XMP
    assert decode_xmp(blob) == XMP
    assert decode_xmp(raw) == XMP  # plain text stored as a BLOB


def test_wrong_length_prefix_is_refused_not_guessed() -> None:
    raw = XMP.encode()
    assert decode_xmp(struct.pack(">I", len(raw) + 1) + zlib.compress(raw)) is None
    assert decode_xmp(b"\x00\x00\x00\x10garbage") is None


def test_x_default_title_wins_and_entities_decode() -> None:
    assert parse_title_description(XMP) == ("Title & more", None)
    assert parse_title_description("<not xml") == (None, None)
    assert parse_title_description(None) == (None, None)
