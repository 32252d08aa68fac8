"""Fallback readers: a file (or part of one) Exiv2 rejects still gives the metadata other readers find."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bridge.metadata import exiv2, fallback
from bridge.metadata.read import read_metadata
from bridge.records import MetadataError

# (file Exiv2 rejects as a whole, camera, the reader that recovers its EXIF)
REJECTED = [
    ("broken/truncated_40pct_iPhone7.heic", "Apple iPhone 7", "pillow-exif"),  # HEIC: pillow-heif's Exif item
    ("broken/truncated_4KB_header_only_Sony_HX5V.jpg", "SONY DSC-HX5V", "container-exif"),  # APP1 intact
    ("raw/exiftool_CanonRaw.cr3", "Canon EOS M50", "container-exif"),  # CR3 CMT1/CMT2 boxes
    ("raw/exiftool_Sigma_DP2.x3f", "SIGMA DP2", "container-exif"),  # X3F: Exif of the embedded preview
]


@pytest.mark.parametrize(("rel", "camera", "source"), REJECTED)
def test_rejected_files_degrade_to_fallback_readers(
    shared_data: Path, rel: str, camera: str, source: str
) -> None:
    data = (shared_data / rel).read_bytes()
    with pytest.raises(MetadataError):  # the main reader alone gives nothing
        exiv2.read_image(data)
    m = read_metadata(shared_data / rel, sidecar=None)
    assert m["camera"] == camera
    assert "captured_at" in m
    assert m["field_sources"]["camera_make"] == source
    assert m["field_sources"]["captured_at"] == source
    assert "exif" in m["metadata_sources"]


def test_cr3_boxes_agree_with_exiv2_bmff(shared_data: Path) -> None:
    """The R6 CR3 opens in Exiv2 (BMFF support): the CMT-box reader must find the same camera values."""
    data = (shared_data / "raw/Canon_EOS_R6_pruned.CR3").read_bytes()
    blocks, _ = exiv2.read_image(data)
    boxes = fallback.container_exif(data)
    assert blocks["exif"], "Exiv2 reads this CR3 itself"
    for key in (
        "Exif.Image.Make",
        "Exif.Image.Model",
        "Exif.Photo.DateTimeOriginal",
        "Exif.Photo.FNumber",
        "Exif.Photo.ExposureTime",
        "Exif.Photo.ISOSpeedRatings",
        "Exif.Photo.LensModel",
    ):
        assert boxes[key] == blocks["exif"][key], key


def test_sub_ifd_block_reads_as_its_group(shared_data: Path) -> None:
    """CMT2 read as a plain TIFF puts Exif-IFD tags in IFD0; with the pointer IFD they are Exif.Photo.*."""
    data = (shared_data / "raw/exiftool_CanonRaw.cr3").read_bytes()
    at = data.index(b"CMT2")
    (size,) = struct.unpack(">I", data[at - 4 : at])
    block = data[at + 4 : at - 4 + size]
    plain = exiv2.read_tiff_exif(block)
    assert "Exif.Photo.DateTimeOriginal" not in plain
    tiff = fallback.sub_ifd_as_tiff(block, 0x8769)
    assert tiff is not None
    assert exiv2.read_tiff_exif(tiff)["Exif.Photo.DateTimeOriginal"] == "2018:02:21 12:08:56"
    assert fallback.sub_ifd_as_tiff(b"not a tiff block", 0x8769) is None


def _after_first_exif_segment(data: bytes) -> int:
    pos = 2
    while data[pos] == 0xFF:
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            return pos + 2 + length
        pos += 2 + length
    raise AssertionError("no EXIF segment")


def test_stray_bytes_after_exif_segment_keep_exif_and_xmp(shared_data: Path, tmp_path: Path) -> None:
    original = (shared_data / "jpeg/Canon_EOS_600D_IMG_5910.jpg").read_bytes()
    cut = _after_first_exif_segment(original)
    broken = tmp_path / "stray.jpg"
    broken.write_bytes(original[:cut] + b"\xff\x00" + original[cut:])  # two stray bytes: Exiv2 gives up
    with pytest.raises(MetadataError):
        exiv2.read_image(broken.read_bytes())
    m = read_metadata(broken, sidecar=None)
    whole = read_metadata(shared_data / "jpeg/Canon_EOS_600D_IMG_5910.jpg", sidecar=None)
    for name in ("camera", "captured_at", "lens", "gps_lat", "title", "rating", "keywords", "city"):
        assert m[name] == whole[name], name
    assert m["field_sources"]["city"] == "xmp-scan"  # photoshop:City is only in the XMP packet
    assert m["field_sources"]["lens"] == "pillow-exif"


def test_xmp_scan_finds_packets_and_nothing_else(shared_data: Path) -> None:
    png = (shared_data / "png/BlueSquare_XMP_sample.png").read_bytes()
    assert fallback.scan_xmp(png)["Xmp.dc.title"] == {'lang="x-default"': "Blue Square Test File - .psd"}
    assert fallback.scan_xmp((shared_data / "jpeg/Kodak_DC240.jpg").read_bytes()) == {}
    assert fallback.scan_xmp(b"<x:xmpmeta> never closed") == {}


def test_files_exiv2_reads_need_no_fallback(shared_data: Path) -> None:
    m = read_metadata(shared_data / "jpeg/Canon_EOS_600D_IMG_5910.jpg", sidecar=None)
    assert "field_sources" not in m  # absent: every field came from Exiv2 reading the file itself


def test_fallback_readers_never_raise_on_garbage(shared_data: Path) -> None:
    for rel in (
        "broken/not_an_image_text.jpg",
        "broken/png_renamed_as.jpg",
        "broken/truncated_60pct_density_plot.png",
    ):
        data = (shared_data / rel).read_bytes()
        assert isinstance(fallback.pillow_exif(data), dict)
        assert isinstance(fallback.container_exif(data), dict)
        assert isinstance(fallback.scan_xmp(data), dict)
    assert fallback.container_exif(b"\x00\x00\x00\x18ftypcrx " + b"\xff" * 64) == {}  # CR3 with bad boxes
