"""Camera-default descriptions are not captions."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.metadata.clean import is_placeholder
from bridge.metadata.read import extract_fields, read_metadata


@pytest.mark.parametrize(
    "text",
    [
        "KODAK Digital Still Camera",
        "OLYMPUS DIGITAL CAMERA         ",
        "SAMSUNG",
        "OLYMPUS",
        "NIKON CORPORATION",
        "DIGITAL CAMERA",
        "Digital Camera",
        "SONY DSC",
        "MINOLTA DIGITAL CAMERA",
        "KONICA MINOLTA DIGITAL CAMERA",
        "LEICA DIGITAL CAMERA",
        "SAMSUNG CAMERA PICTURES",
        "          ",
        "\x00\x00\x00",
        "",
        "C:\\DCIM\\100GOPRO\\GOPR0024.GPR",
    ],
)
def test_camera_defaults_are_placeholders(text: str) -> None:
    assert is_placeholder(text)


@pytest.mark.parametrize(
    "text",
    [
        "Squirrel at berkely",
        "Sony camera on a tripod",
        "Olympus mountain at dawn",
        "Canon in D",
        "Classic View",
    ],
)
def test_real_captions_are_kept(text: str) -> None:
    assert not is_placeholder(text, "SONY", "DSC-HX5V")


def test_make_and_model_are_placeholders() -> None:
    assert is_placeholder("Pixel 7", "Google", "Pixel 7")
    assert is_placeholder("google pixel 7.", "Google", "Pixel 7")
    assert is_placeholder("ACME DIGITAL CAMERA", "ACME", "X1")  # an unlisted maker, known by its Make
    assert not is_placeholder("Pixel 7 on the beach", "Google", "Pixel 7")


def test_placeholder_gives_way_to_the_next_source() -> None:
    raw = {
        "Exif.Image.Make": "OLYMPUS IMAGING CORP.",
        "Xmp.dc.description": {'lang="x-default"': "OLYMPUS DIGITAL CAMERA"},
        "Iptc.Application2.Caption": "Harbour at dusk",
        "Exif.Image.ImageDescription": "OLYMPUS DIGITAL CAMERA",
        "Xmp.dc.title": {'lang="x-default"': "SAMSUNG"},
    }
    fields = extract_fields(raw)
    assert fields["caption"] == "Harbour at dusk"
    assert "title" not in fields
    assert fields["image_description"] == "OLYMPUS DIGITAL CAMERA"  # the raw tag, as the camera wrote it


@pytest.mark.parametrize(
    "rel",
    [
        "jpeg/Olympus_PEN_E-P3.jpg",  # "OLYMPUS DIGITAL CAMERA         "
        "jpeg/Minolta_DiMAGE_X.jpg",  # "MINOLTA DIGITAL CAMERA         "
        "jpeg/photo_landscape_el_torcal_rocks.jpg",  # "SONY DSC" in EXIF, IPTC and XMP
        "jpeg/Sony_DSC-HX5V_GPS.jpg",  # 31 spaces
        "raw/exiftool_Minolta_A2.mrw",  # "KONICA MINOLTA DIGITAL CAMERA"
    ],
)
def test_real_files_with_camera_default_descriptions(shared_data: Path, rel: str) -> None:
    m = read_metadata(shared_data / rel, sidecar=None)
    assert "caption" not in m
    assert "title" not in m
    assert m.get("camera")  # the photo's real metadata is still there
