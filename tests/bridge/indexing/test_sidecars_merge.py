"""A path's metadata built from the stored parts (embedded record + its sidecar's fields) is what reading the
photo with that sidecar gives: storing them apart loses nothing."""

from __future__ import annotations

import pytest

from bridge.metadata.read import read_metadata
from bridge.metadata.sidecar import read_sidecar_fields, with_sidecar

PAIRS = [
    ("jpeg/Canon_EOS_600D_IMG_5910.jpg", "jpeg/Canon_EOS_600D_IMG_5910.xmp"),  # Lightroom, beside it
    ("heic/Apple_iPhone7.heic", "heic/Apple_iPhone7.xmp"),
    ("jpeg/Canon_40D_small.jpg", "xmp/lightroom6.14_ladybug.xmp"),  # another photo's sidecar: all overrides
    ("jpeg/Nikon_D70_small.jpg", "xmp/photoshop_cs2_BlueSquare.xmp"),
    ("jpeg/immich_mongolels_rating.jpg", "xmp/exiftool_XMP.xmp"),
]


@pytest.mark.parametrize(("photo", "sidecar"), PAIRS)
def test_stored_parts_merge_to_what_read_metadata_reads(shared_data, photo, sidecar):
    embedded = read_metadata(shared_data / photo, sidecar=None)
    fields = read_sidecar_fields(shared_data / sidecar)
    assert fields  # a real sidecar with values
    merged = with_sidecar(embedded, fields, (shared_data / sidecar).name)
    assert merged == read_metadata(shared_data / photo, sidecar=shared_data / sidecar)
    assert with_sidecar(embedded, {}, "") == embedded  # an unreadable sidecar: the embedded record
