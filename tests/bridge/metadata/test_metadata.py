"""bridge.metadata.read against the real photos in ../shared/data.

Expected camera values were checked with an independent reader (Pillow's getexif) and are
hard-coded; `test_exposure_agrees_with_pillow` re-checks them against Pillow on every run.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import math
import shutil
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pillow_heif
import pyexiv2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bridge.metadata.convert import parse_number, shutter_text
from bridge.metadata.fields import FIELDS, FIELDS_BY_NAME
from bridge.metadata.read import camera_name, extract_fields, field_names, read_metadata
from bridge.metadata.sidecar import sidecar_candidates
from bridge.records import MetadataError, Reason

pillow_heif.register_heif_opener()

REQUIRED_FIELDS = [
    "camera_make",
    "camera_model",
    "camera",
    "lens",
    "focal_length",
    "focal_length_35mm",
    "aperture",
    "exposure_time",
    "shutter",
    "iso",
    "exposure_bias",
    "flash_fired",
    "captured_at",
    "captured_ts",
    "capture_tz_known",
    "gps_lat",
    "gps_lon",
    "gps_alt",
    "orientation",
    "width",
    "height",
    "rating",
    "label",
    "keywords",
    "keyword_paths",
    "title",
    "caption",
    "creator",
    "copyright",
    "software",
    "serial_number",
    "lens_serial_number",
    "city",
    "state",
    "country",
    "country_code",
    "sublocation",
    "headline",
    "credit",
    "source",
    "instructions",
    "usage_terms",
    "creator_tool",
    "modify_date",
    "create_date",
    "subsec_time_original",
    "sequence_number",
    "color_space",
    "white_balance",
    "metering_mode",
    "exposure_program",
    "exposure_mode",
    "scene_capture_type",
    "digital_zoom",
    "subject_distance",
    "brightness",
    "contrast",
    "saturation",
    "sharpness",
    "light_source",
    "gain_control",
    "max_aperture",
    "x_resolution",
    "y_resolution",
    "resolution_unit",
    "bits_per_sample",
    "compression",
    "artist",
    "image_description",
    "user_comment",
    "owner_name",
    "image_unique_id",
    "gps_timestamp",
    "gps_direction",
    "gps_speed",
    "gps_map_datum",
    "metadata_sources",
]

# Files Exiv2 cannot read at all: a MetadataError, never a crash or a half-empty dict.
# Files with no metadata any reader can find (those Exiv2 alone rejects: test_fallback.py)
UNREADABLE = [
    "broken/zero_bytes.jpg",
    "broken/not_an_image_text.jpg",
    "broken/truncated_60pct_density_plot.png",
]
NOT_PHOTOS = {".md", ".tsv", ".xmp", ".lrcat"}


def corpus_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() not in NOT_PHOTOS and "catalogs" not in p.parts
    )


def read_all(root: Path) -> dict[str, Any]:
    """Every corpus file's payload, or the MetadataError detail."""
    results: dict[str, Any] = {}
    for p in corpus_files(root):
        try:
            results[str(p.relative_to(root))] = read_metadata(p)
        except MetadataError as exc:
            results[str(p.relative_to(root))] = ("MetadataError", exc.detail)
    return results


@pytest.fixture(scope="module")
def corpus(shared_data: Path) -> dict[str, Any]:
    return read_all(shared_data)


# --------------------------------------------------------------------------------------------
# The field table
# --------------------------------------------------------------------------------------------


def test_field_table_has_at_least_80_named_fields() -> None:
    names = field_names()
    assert len(names) >= 80
    assert len(names) == len(set(names)), "payload names must be unique"
    missing = set(REQUIRED_FIELDS) - set(names)
    assert not missing, f"required payload names missing from the table: {sorted(missing)}"
    for f in FIELDS:
        # field_sources is the one map: reader bookkeeping (field -> reader), never filtered on
        assert f.type in (str, int, float, bool, list) or f.name == "field_sources", f.name
        if not f.derived:
            assert f.sources, f"{f.name} has no source keys"
            assert all(k.split(".", 1)[0] in ("Exif", "Iptc", "Xmp", "File") for k in f.keys), f.name


def test_caption_sources_in_priority_order() -> None:
    assert FIELDS_BY_NAME["caption"].keys[:3] == (
        "Xmp.dc.description",
        "Iptc.Application2.Caption",
        "Exif.Image.ImageDescription",
    )


def test_corpus_populates_at_least_60_fields_with_declared_types(corpus: dict[str, Any]) -> None:
    populated: set[str] = set()
    for name, payload in corpus.items():
        if isinstance(payload, tuple):
            continue
        json.dumps(payload, allow_nan=False)  # JSON-serializable, no NaN/inf
        for key, value in payload.items():
            spec = FIELDS_BY_NAME[key]  # every key is a declared field
            assert value is not None, (name, key)
            if spec.type is list:
                assert isinstance(value, list) and all(isinstance(v, str) for v in value), (name, key)
            elif spec.type in (int, float):
                assert isinstance(value, spec.type) and not isinstance(value, bool), (name, key, value)
            else:
                assert isinstance(value, spec.type), (name, key, value)
            populated.add(key)
    assert len(populated) >= 60, sorted(populated)


# --------------------------------------------------------------------------------------------
# Camera and exposure
# --------------------------------------------------------------------------------------------

CAMERAS = {
    # file: (camera, make, model, lens, focal_length, aperture, exposure_time, shutter, iso)
    "jpeg/Canon_40D_small.jpg": (
        "Canon EOS 40D",
        "Canon",
        "Canon EOS 40D",
        None,
        135.0,
        7.1,
        1 / 160,
        "1/160",
        100,
    ),
    "jpeg/Canon_EOS_600D_IMG_5910.jpg": (
        "Canon EOS 600D",
        "Canon",
        "Canon EOS 600D",
        "EF-S15-85mm f/3.5-5.6 IS USM",
        85.0,
        5.6,
        1 / 800,
        "1/800",
        3200,
    ),
    "jpeg/Nikon_D70_small.jpg": (
        "NIKON D70",
        "NIKON CORPORATION",
        "NIKON D70",
        "100.0 mm f/2.8",
        100.0,
        9.0,
        1 / 200,
        "1/200",
        200,
    ),
    "jpeg/Olympus_PEN_E-P3.jpg": (
        "OLYMPUS E-P3",
        "OLYMPUS IMAGING CORP.",
        "E-P3",
        "OLYMPUS M.17mm F1.8",
        17.0,
        1.8,
        1 / 60,
        "1/60",
        1600,
    ),
    "jpeg/Sony_DSC-HX5V_GPS.jpg": (
        "SONY DSC-HX5V",
        "SONY",
        "DSC-HX5V",
        None,
        4.25,
        3.5,
        1 / 250,
        "1/250",
        125,
    ),
    "jpeg/Apple_iPhone_4.jpg": ("Apple iPhone 4", "Apple", "iPhone 4", None, 3.85, 2.8, 1 / 15, "1/15", 500),
    "jpeg/Pentax_K10D_small.jpg": (
        "PENTAX K10D",
        "PENTAX Corporation",
        "PENTAX K10D",
        None,
        90.0,
        11.0,
        1 / 180,
        "1/180",
        200,
    ),
    "jpeg/Casio_EX-S1.jpg": (
        "CASIO EX-S1",
        "CASIO COMPUTER CO.,LTD.",
        "EX-S1",
        None,
        5.6,
        2.5,
        1 / 30,
        "1/30",
        None,
    ),
    "heic/Apple_iPhone11ProMax_IMG_5195.HEIC": (
        "Apple iPhone 11 Pro Max",
        "Apple",
        "iPhone 11 Pro Max",
        "iPhone 11 Pro Max back triple camera 4.25mm f/1.8",
        4.25,
        1.8,
        0.0025575447570332483,
        "1/391",
        32,
    ),
    "tiff/Nikon_D1X_Reagan.tiff": (
        "NIKON D1X",
        "NIKON CORPORATION",
        "NIKON D1X",
        None,
        42.0,
        5.0,
        1 / 125,
        "1/125",
        None,
    ),
    "webp/immich_denali.webp": (
        "Canon EOS 7D",
        "Canon",
        "Canon EOS 7D",
        "EF28-80mm f/3.5-5.6 USM",
        60.0,
        11.0,
        1 / 400,
        "1/400",
        200,
    ),
    "png/png_with_exif_and_gps.png": (
        "Canon PowerShot S40",
        "Canon",
        "Canon PowerShot S40",
        "7.1 - 21.3 mm",
        21.3,
        4.9,
        1 / 500,
        "1/500",
        100,
    ),
}


@pytest.mark.parametrize("rel", sorted(CAMERAS))
def test_camera_and_exposure(corpus: dict[str, Any], rel: str) -> None:
    camera, make, model, lens, focal, aperture, exposure, shutter, iso = CAMERAS[rel]
    m = corpus[rel]
    assert m["camera"] == camera
    assert m["camera_make"] == make
    assert m["camera_model"] == model
    assert m.get("lens") == lens
    assert m["focal_length"] == pytest.approx(focal)
    assert m["aperture"] == pytest.approx(aperture)
    assert m["exposure_time"] == pytest.approx(exposure)
    assert m["shutter"] == shutter
    assert m.get("iso") == iso


def _pillow_exif(path: Path) -> tuple[Any, Any]:
    with Image.open(path) as im:
        exif = im.getexif()
        return exif, exif.get_ifd(0x8769)


PILLOW_READABLE = ["jpeg", "tiff", "webp", "png"]


def test_exposure_agrees_with_pillow(shared_data: Path, corpus: dict[str, Any]) -> None:
    """An independent reader: where Pillow finds a plausible value, ours is the same."""
    compared = 0
    for folder in PILLOW_READABLE:
        for path in sorted((shared_data / folder).glob("*.*")):
            ours = corpus.get(str(path.relative_to(shared_data)))
            if not isinstance(ours, dict) or path.suffix.lower() == ".xmp":
                continue
            exif, sub = _pillow_exif(path)
            if exif.get(0x0110):
                assert ours["camera_model"] == str(exif[0x0110]).strip("\x00 "), path.name
            for tag, name in ((0x829D, "aperture"), (0x829A, "exposure_time"), (0x920A, "focal_length")):
                theirs = sub.get(tag)
                if theirs is None or not (0.7 <= float(theirs) <= 5000) or name not in ours:
                    continue  # absent or implausible in the file (see the FinePix S1Pro test)
                assert ours[name] == pytest.approx(float(theirs), rel=0.01), (path.name, name)
                compared += 1
            if sub.get(0x8827) and 0 < int(sub[0x8827]) < 65535:
                assert ours["iso"] == int(sub[0x8827]), path.name
    assert compared >= 40


def test_byte_swapped_rationals_fall_back_to_apex(corpus: dict[str, Any]) -> None:
    """Photoshop 7 wrote this FinePix S1Pro's EXIF rationals byte-swapped: FNumber reads 0.64.
    The implausible value is skipped and APEX ApertureValue / ShutterSpeedValue used instead."""
    m = corpus["jpeg/FujiFilm_FinePixS1Pro_IPTC_GPS.jpg"]
    assert m["aperture"] == 16.0
    assert m["shutter"] == "1/724"
    assert "iso" not in m  # ISOSpeedRatings 0 means "not recorded"
    assert "focal_length" not in m  # 0/16777216


@pytest.mark.parametrize(
    ("rel", "camera", "focal", "aperture", "shutter", "iso"),
    [
        ("raw/exiftool_CanonRaw_EOS350D.cr2", "Canon EOS 350D DIGITAL", 55.0, 8.0, "1/15", 400),
        ("raw/exiftool_CanonRaw_EOS300D.crw", "Canon EOS DIGITAL REBEL", None, 3.5, "1/64", None),
        ("raw/exiftool_Nikon_D70.nef", "NIKON D70", 18.0, 3.5, "1/20", 200),
        ("raw/exiftool_FujiFilm_S5Pro.raf", "FUJIFILM FinePix S5Pro", 70.0, 8.0, "1/250", 100),
        ("raw/exiftool_Panasonic_LX3.rw2", "Panasonic DMC-LX3", 5.1, 4.0, "1/250", 80),
        ("raw/exiftool_Minolta_A2.mrw", "Konica Minolta DiMAGE A2", 7.2, 2.8, "1/5", 64),
        ("raw/exiftool_DNG.dng", "Canon EOS 350D DIGITAL", 55.0, 8.0, "1/15", 400),
        ("raw/Canon_EOS_R6_pruned.CR3", "Canon EOS R6", 200.0, 25.0, "1/4", 100),
        ("raw/Canon_EOS_D30_RAW_CANON_D30_SRGB.CRW", "Canon EOS D30", None, 11.31, "1/203", None),
        ("raw/GoPro_HERO6_GOPR0024.GPR", "GoPro HERO6 Black", 3.0, 2.8, "1/455", 100),
    ],
)
def test_raw_files_give_camera_fields(
    corpus: dict[str, Any],
    rel: str,
    camera: str,
    focal: float | None,
    aperture: float,
    shutter: str,
    iso: int | None,
) -> None:
    m = corpus[rel]
    assert m["camera"] == camera
    assert m.get("focal_length") == focal
    assert m["aperture"] == pytest.approx(aperture)
    assert m["shutter"] == shutter
    assert m.get("iso") == iso
    assert m["captured_at"]


def test_makernote_needing_quiet_log_level_reads(corpus: dict[str, Any]) -> None:
    """exiftool_DNG.dng has a Canon maker note Exiv2 rejects at its default log level."""
    m = corpus["raw/exiftool_DNG.dng"]
    assert m["camera"] == "Canon EOS 350D DIGITAL"
    assert m["lens"] == "18.0-55.0 mm"
    assert m["original_file_name"] == "Canon350D.CR2"


def test_makernote_still_reads_after_the_catalog_writer_used_exiv2(
    shared_data: Path, copy_shared: Any
) -> None:
    """Exiv2's log level is process-wide: the embedded-XMP writer wants errors raised, the reader wants them
    muted. Each sets its own level per call, so a write before a read cannot break the read (CI ran the
    writer's tests first and this maker note failed)."""
    from catalog.xmp.embed import plan_embedded
    from catalog.xmp.merge import XmpUpdate

    (jpeg,) = copy_shared("jpeg/Canon_EOS_600D_IMG_5910.jpg")
    changes, _reason, error = plan_embedded(jpeg, XmpUpdate(keywords=("dog",)))
    assert error is None and changes
    m = read_metadata(shared_data / "raw/exiftool_DNG.dng", sidecar=None)
    assert m["original_file_name"] == "Canon350D.CR2"


def test_enumerations_are_readable_text(corpus: dict[str, Any]) -> None:
    m = corpus["jpeg/Canon_EOS_600D_IMG_5910.jpg"]
    assert m["exposure_program"] == "Action (high speed)"
    assert m["metering_mode"] == "Multi-segment"
    assert m["white_balance"] == "Auto"
    assert m["flash"] == "Off, did not fire"
    assert m["flash_fired"] is False
    assert m["color_space"] == "sRGB"
    assert m["resolution_unit"] == "cm"
    nef = corpus["raw/exiftool_Nikon_D70.nef"]
    assert nef["lens_specification"] == "18-70mm f/3.5-4.5"
    assert nef["shutter_count"] == 3619
    assert corpus["heic/kimageformats_metadata.heic"]["flash_fired"] is True  # from the XMP Flash struct


@pytest.mark.parametrize(
    ("make", "model", "expected"),
    [
        ("Canon", "Canon EOS 600D", "Canon EOS 600D"),
        ("Canon", "EOS R5", "Canon EOS R5"),
        ("NIKON CORPORATION", "NIKON D70", "NIKON D70"),
        ("OLYMPUS IMAGING CORP.", "E-P3", "OLYMPUS E-P3"),
        ("CASIO COMPUTER CO.,LTD.", "EX-S1", "CASIO EX-S1"),
        ("EASTMAN KODAK COMPANY", "KODAK DC240 ZOOM DIGITAL CAMERA", "KODAK DC240 ZOOM DIGITAL CAMERA"),
        ("Konica Minolta Camera, Inc.", "DiMAGE A2", "Konica Minolta DiMAGE A2"),
        ("Nikon", None, "Nikon"),
        (None, "iPhone 7", "iPhone 7"),
        (None, None, None),
    ],
)
def test_camera_name(make: str | None, model: str | None, expected: str | None) -> None:
    assert camera_name(make, model) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1 / 250, "1/250"), (0.004, "1/250"), (0.25, "1/4"), (0.3, "0.3"), (2.0, "2"), (30, "30")],
)
def test_shutter_text(seconds: float, text: str) -> None:
    assert shutter_text(seconds) == text


@pytest.mark.parametrize("token", ["1/0", "0/0", "abc", "", "1/x", "nan", "inf", "1e999"])
def test_malformed_numbers_are_none(token: str) -> None:
    assert parse_number(token) is None


_KEYS = sorted(
    {k for f in FIELDS for k in f.keys} | {"Exif.GPSInfo.GPSLatitudeRef", "Exif.Photo.OffsetTimeOriginal"}
)
_RAW_VALUES = st.one_of(
    st.text(max_size=30),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.sampled_from(['lang="x-default"', 'lang="fr"']), st.text(max_size=10), max_size=2),
    st.sampled_from(
        ["1/0", "0/0", "-1/3", "4294967295/1", "0000:00:00 00:00:00", "2024:13:45 25:61:61", "N", ""]
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _RAW_VALUES, max_size=25))
def test_garbage_values_never_raise(raw: dict[str, Any]) -> None:
    fields = extract_fields(raw)
    assert all(v is not None for v in fields.values())


# --------------------------------------------------------------------------------------------
# GPS
# --------------------------------------------------------------------------------------------


def _pillow_gps(path: Path) -> tuple[float, float] | None:
    with Image.open(path) as im:
        gps = im.getexif().get_ifd(0x8825)
    if 2 not in gps or 4 not in gps:
        return None

    def degrees(dms: Any, ref: str, negative: str) -> float:
        # Pillow reads Nikon's "0/0" seconds as NaN; they mean 0 (minutes carry the decimals).
        d, m, s = (0.0 if math.isnan(float(x)) else float(x) for x in dms)
        value = d + m / 60 + s / 3600
        return -value if ref == negative else value

    return degrees(gps[2], gps.get(1), "S"), degrees(gps[4], gps.get(3), "W")


GPS_FILES = [
    "jpeg/Apple_iPhone_4.jpg",
    "jpeg/Google_Pixel_IMG_20180725_163423-tiny.jpg",
    "jpeg/FujiFilm_FinePixS1Pro_IPTC_GPS.jpg",
    "jpeg/HTC_Desire_GPS.jpg",
    "jpeg/Nikon_D5000_GPS.jpg",
    "jpeg/Nikon_COOLPIX_P6000_GPS_DSCN0010.jpg",
    "jpeg/Nokia_Lumia_800_GPS_keywords.jpg",
    "jpeg/Sony_DSC-HX5V_GPS.jpg",
    "jpeg/Canon_EOS_600D_IMG_5910.jpg",
    "jpeg/immich_thompson-springs_GPS.jpg",
    "jpeg/immich_datetimeoriginal-gps.jpg",
    "jpeg/immich_gps-datetime.jpg",
    "heic/immich_iPhone7_IMG_2682.heic",
    "heic/Apple_iPhone15Pro.heic",
    "heic/Apple_iPhone11ProMax_IMG_5195.HEIC",
    "heic/Nikon_D5300_Stonehenge_GPS.heic",
    "webp/HTC_Desire_GPS.webp",
    "webp/Nikon_D5300_exif_xmp.webp",
    "png/png_with_exif_and_gps.png",
]


@pytest.mark.parametrize("rel", GPS_FILES)
def test_gps_matches_pillow(shared_data: Path, corpus: dict[str, Any], rel: str) -> None:
    expected = _pillow_gps(shared_data / rel)
    assert expected is not None, "Pillow should see GPS in this file"
    m = corpus[rel]
    assert m["gps_lat"] == pytest.approx(expected[0], abs=1e-6)
    assert m["gps_lon"] == pytest.approx(expected[1], abs=1e-6)


def test_gps_hard_coded_values_and_signs(corpus: dict[str, Any]) -> None:
    berkeley = corpus["jpeg/Canon_EOS_600D_IMG_5910.jpg"]  # N / W
    assert (berkeley["gps_lat"], berkeley["gps_lon"], berkeley["gps_alt"]) == (37.8710933, -122.25678, 90.0)
    japan = corpus["heic/Apple_iPhone7.heic"]  # N / E
    assert (japan["gps_lat"], japan["gps_lon"]) == (34.79745, 134.7646333)
    gopro = corpus["raw/GoPro_HERO6_GOPR0024.GPR"]  # altitude reference 1: below sea level
    assert gopro["gps_alt"] == pytest.approx(-14.29)
    springs = corpus["jpeg/immich_thompson-springs_GPS.jpg"]
    assert springs["gps_timestamp"] == "2022-01-10T21:15:33.519+00:00"
    assert springs["gps_direction"] == 206.0
    assert springs["gps_direction_ref"] == "magnetic north"
    assert springs["gps_map_datum"] == "WGS-84"


def test_southern_and_western_hemispheres_are_negative(copy_shared) -> None:
    (photo,) = copy_shared("jpeg/Canon_40D_small.jpg")
    with pyexiv2.Image(str(photo)) as img:  # writing to a temp copy only
        img.modify_exif(
            {
                "Exif.GPSInfo.GPSLatitude": "33/1 51/1 3120/100",
                "Exif.GPSInfo.GPSLatitudeRef": "S",
                "Exif.GPSInfo.GPSLongitude": "151/1 12/1 3600/100",
                "Exif.GPSInfo.GPSLongitudeRef": "W",
                "Exif.GPSInfo.GPSAltitude": "5/1",
                "Exif.GPSInfo.GPSAltitudeRef": "1",
            }
        )
    m = read_metadata(photo)
    assert m["gps_lat"] == pytest.approx(-(33 + 51 / 60 + 31.2 / 3600), abs=1e-7)
    assert m["gps_lon"] == pytest.approx(-(151 + 12 / 60 + 36 / 3600), abs=1e-7)
    assert m["gps_alt"] == -5.0


# --------------------------------------------------------------------------------------------
# Capture time
# --------------------------------------------------------------------------------------------


def _utc(text: str) -> float:
    return float(calendar.timegm(datetime.fromisoformat(text).utctimetuple()))


def test_capture_time_with_offset_original(corpus: dict[str, Any]) -> None:
    m = corpus["heic/Apple_iPhone11ProMax_IMG_5195.HEIC"]  # OffsetTimeOriginal -05:00
    assert m["captured_at"] == "2021-04-11T15:47:53.054-05:00"
    assert m["capture_tz_known"] is True
    assert m["captured_ts"] == pytest.approx(_utc("2021-04-11T20:47:53") + 0.054)
    assert m["offset_time_original"] == "-05:00"


def test_capture_time_without_offset_is_local_read_as_utc(corpus: dict[str, Any]) -> None:
    m = corpus["jpeg/Canon_40D_small.jpg"]
    assert m["captured_at"] == "2008-05-30T15:56:01"
    assert m["capture_tz_known"] is False
    assert m["captured_ts"] == _utc("2008-05-30T15:56:01+00:00")


def test_subseconds_are_kept(corpus: dict[str, Any]) -> None:
    m = corpus["jpeg/Canon_EOS_600D_IMG_5910.jpg"]  # SubSecTimeOriginal "69"
    assert m["captured_at"] == "2015-06-11T10:29:26.69"
    assert m["subsec_time_original"] == "69"
    assert m["captured_ts"] == pytest.approx(_utc("2015-06-11T10:29:26+00:00") + 0.69)


def test_offset_borrowed_from_xmp_date_with_same_wall_clock(corpus: dict[str, Any]) -> None:
    """EXIF has no OffsetTimeOriginal; Lightroom's XMP copy of the same time carries +01:00."""
    m = corpus["jpeg/Canon_EOS-1D_Mark_III_via_Adobe_Lightroom.jpg"]
    assert m["captured_at"] == "2008-09-20T09:01:07.09+01:00"
    assert m["capture_tz_known"] is True
    assert m["captured_ts"] == pytest.approx(_utc("2008-09-20T08:01:07+00:00") + 0.09)
    assert corpus["jpeg/Nikon_D70_small.jpg"]["captured_at"] == "2008-03-15T09:52:01-04:00"


def test_iptc_offsets_are_not_trusted(corpus: dict[str, Any]) -> None:
    # IPTC TimeCreated says -04:00, the XMP copy has no offset and the GPS time disagrees.
    m = corpus["jpeg/immich_thompson-springs_GPS.jpg"]
    assert m["captured_at"] == "2022-01-10T15:15:44.31"
    assert m["capture_tz_known"] is False


def test_immich_date_files(corpus: dict[str, Any]) -> None:
    # DateTimeOriginal wins over DateTimeDigitized, IPTC, XMP GPS and PDF dates.
    priority = corpus["jpeg/immich_date-priority-test.jpg"]
    assert priority["captured_at"] == "2023-02-02T02:00:00"
    assert priority["create_date"] == "2023-04-04T04:00:00"
    dto_gps = corpus["jpeg/immich_datetimeoriginal-gps.jpg"]
    assert dto_gps["captured_at"] == "2025-12-01T11:30:00"
    assert (dto_gps["gps_lat"], dto_gps["gps_lon"]) == (39.0, -108.0)
    # Only a GPS time (UTC by definition): used as the last resort, with a known offset.
    gps_only = corpus["jpeg/immich_gps-datetime.jpg"]
    assert gps_only["captured_at"] == "2023-11-15T12:30:00+00:00"
    assert gps_only["capture_tz_known"] is True
    assert gps_only["captured_ts"] == _utc("2023-11-15T12:30:00+00:00")
    # IPTC TimeCreated without a date is not a capture time.
    time_only = corpus["jpeg/immich_time-created.jpg"]
    assert "captured_at" not in time_only
    assert time_only["camera"] == "Canon EOS R5"


def test_immich_rating_and_tag_files(corpus: dict[str, Any]) -> None:
    assert corpus["jpeg/immich_mongolels_rating.jpg"]["rating"] == 3
    assert corpus["jpeg/immich_picasa_tags.jpg"]["keywords"] == ["Frost", "Yard"]
    curie = corpus["jpeg/immich_portrait-orientation-6.jpg"]
    # lr:hierarchicalSubject, digiKam TagsList (A/B), Media Pro and Microsoft copies: one list.
    assert curie["keyword_paths"] == ["People|Marie Curie", "People|Pierre Curie"]
    assert curie["keywords"] == ["Marie Curie", "Pierre Curie"]
    assert curie["orientation"] == 6
    assert curie["face_names"] == ["Marie Curie", "Pierre Curie"]


def test_keyword_union_dedupes_case_insensitively() -> None:
    raw = {
        "Xmp.dc.subject": ["Bird", "sky"],
        "Iptc.Application2.Keywords": ["bird", "Sea"],
        "Xmp.lr.hierarchicalSubject": ["Animals|Birds|Bird", "Places| Coast |", "Sky"],
        "Xmp.digiKam.TagsList": ["Animals/Birds/Bird", "Places/Harbour"],
    }
    f = extract_fields(raw)
    assert f["keywords"] == ["Bird", "sky", "Sea", "Coast", "Harbour"]
    assert f["keyword_paths"] == ["Animals|Birds|Bird", "Places|Coast", "Sky", "Places|Harbour"]


def test_rating_variants() -> None:
    assert extract_fields({"Xmp.xmp.Rating": "1.0"})["rating"] == 1
    assert extract_fields({"Xmp.xmp.Rating": "-1"})["rating"] == -1
    assert extract_fields({"Xmp.MicrosoftPhoto.Rating": "75"})["rating"] == 4
    assert extract_fields({"Exif.Image.RatingPercent": "99"})["rating"] == 5
    assert "rating" not in extract_fields({"Xmp.xmp.Rating": "7"})


# --------------------------------------------------------------------------------------------
# Descriptive metadata (IPTC / XMP)
# --------------------------------------------------------------------------------------------


def test_iptc_xmp_title_caption_keywords(corpus: dict[str, Any]) -> None:
    m = corpus["jpeg/IPTC_XMP_title_caption_keywords_issue258.jpg"]
    assert m["title"] == "The Title (ref2019.1)"
    assert m["caption"] == "The description aka caption (ref2019.1)"
    assert m["headline"] == "The Headline (ref2019.1)"
    assert m["keywords"] == ["Keyword1ref2019.1", "Keyword2ref2019.1", "Keyword3ref2019.1"]
    assert m["creator"] == "Creator1 (ref2019.1); Creator2 (ref2019.1)"
    assert m["city"] == "City (Core) (ref2019.1)"
    assert m["sublocation"] == "Sublocation (Core) (ref2019.1)"
    assert m["country_code"] == "R19"
    assert m["credit"] == "Credit Line (ref2019.1)"
    assert m["instructions"] == "An Instruction (ref2019.1)"
    assert m["usage_terms"] == "Rights Usage Termns (ref2019.1)"
    assert m["rating"] == 1  # written as "1.0"
    assert m["digital_source_type"] == "softwareImage"
    assert m["metadata_sources"] == ["exif", "iptc", "xmp"]


def test_lightroom_export_hierarchy_and_label(corpus: dict[str, Any]) -> None:
    m = corpus["jpeg/Canon_EOS-1D_Mark_III_via_Adobe_Lightroom.jpg"]
    assert "Sports|Motor Sports|Circuits|Brands Hatch" in m["keyword_paths"]
    assert "Brands Hatch" in m["keywords"]
    assert m["label"] == "label"


def test_camera_boilerplate_is_not_a_caption(corpus: dict[str, Any]) -> None:
    m = corpus["jpeg/Olympus_PEN_E-P3.jpg"]  # ImageDescription "OLYMPUS DIGITAL CAMERA"
    assert "caption" not in m
    assert m["image_description"] == "OLYMPUS DIGITAL CAMERA"


def test_gimp_type_prefix_is_dropped(corpus: dict[str, Any]) -> None:
    m = corpus["heic/avif_exif_xmp.avif"]  # GIMP wrote dc:creator 'type="Seq" Developer'
    assert m["creator"] == "Developer"
    assert (m["title"], m["rating"]) == ("Personal photo", 5)


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------


def test_heic_metadata(corpus: dict[str, Any]) -> None:
    m = corpus["heic/Apple_iPhone15Pro.heic"]
    assert m["camera"] == "Apple iPhone 15 Pro"
    assert m["orientation"] == 6
    assert m["captured_at"] == "2023-10-31T11:44:43.432+01:00"
    assert m["mime_type"] == "image/heic"
    hif = corpus["heic/Sony_ILCE-1.HIF"]
    assert (hif["lens"], hif["lens_specification"], hif["iso"]) == ("FE 35mm F1.4 GM", "35mm f/1.4", 100)
    for n in range(1, 9):
        assert corpus[f"heic/orientation/kimageformats_orientation{n}.heic"]["orientation"] == n


def test_tiff_metadata(corpus: dict[str, Any]) -> None:
    m = corpus["tiff/Canon_5DMkIII_tif-with-iptc-icc-xmp.tif"]
    assert m["camera"] == "Canon EOS 5D Mark III"
    assert m["label"] == "Approved"
    assert m["icc_profile_name"] == "ProPhoto RGB"
    assert "Jet2.com_Keywords|Geographic Keywords|Europe|Turkey|DLM_Dalaman|Dalyan" in m["keyword_paths"]
    assert m["compression"] == "Uncompressed"
    reagan = corpus["tiff/Nikon_D1X_Reagan.tiff"]
    assert reagan["title"] == "040621-N-6536T-062"
    assert "carrier" in reagan["keywords"]


def test_png_metadata(corpus: dict[str, Any]) -> None:
    xmp_only = corpus["png/BlueSquare_XMP_sample.png"]  # XMP in an iTXt chunk
    assert xmp_only["title"] == "Blue Square Test File - .psd"
    assert xmp_only["metadata_sources"] == ["xmp"]
    exif = corpus["png/png_with_exif_and_gps.png"]  # eXIf chunk
    assert exif["camera"] == "Canon PowerShot S40"
    assert (exif["width"], exif["height"]) == (1, 1)
    bare = corpus["png/photo_food_coffee.png"]
    assert bare == {"width": 600, "height": 400, "mime_type": "image/png", "metadata_sources": []}


def test_webp_metadata(corpus: dict[str, Any]) -> None:
    m = corpus["webp/Nikon_D5300_exif_xmp.webp"]
    assert m["camera"] == "NIKON D5300"
    assert m["title"] == "Stonehenge"
    assert m["mime_type"] == "image/webp"
    assert corpus["webp/HTC_Desire_GPS.webp"]["gps_lat"] == pytest.approx(45.5006667)


def test_orientation_values(corpus: dict[str, Any]) -> None:
    assert "orientation" not in corpus["jpeg/orientation/recurser_Landscape_0.jpg"]  # 0 is invalid
    for n in range(1, 9):
        assert corpus[f"jpeg/orientation/recurser_Landscape_{n}.jpg"]["orientation"] == n
    assert corpus["jpeg/Samsung_SM-J327T1_orient6.jpg"]["orientation"] == 6


# --------------------------------------------------------------------------------------------
# Sidecars
# --------------------------------------------------------------------------------------------


def test_sidecar_candidates_order(tmp_path: Path) -> None:
    photo = tmp_path / "IMG_0001.CR2"
    assert sidecar_candidates(photo) == [
        tmp_path / "IMG_0001.xmp",
        tmp_path / "IMG_0001.XMP",
        tmp_path / "IMG_0001.CR2.xmp",
        tmp_path / "IMG_0001.CR2.XMP",
    ]
    assert sidecar_candidates(tmp_path / "x.xmp") == []


def test_lightroom_sidecar_next_to_jpeg_is_read(corpus: dict[str, Any]) -> None:
    m = corpus["jpeg/Canon_EOS_600D_IMG_5910.jpg"]
    assert m["sidecar_file"] == "Canon_EOS_600D_IMG_5910.xmp"
    assert m["metadata_sources"] == ["exif", "iptc", "xmp", "sidecar"]
    assert m["keywords"] == ["Alvin the Squirrel", "Berkley", "USA"]
    assert m["rating"] == 3


def _edit_sidecar(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_sidecar_overrides_user_fields(copy_shared) -> None:
    photo, xmp = copy_shared("jpeg/Canon_EOS_600D_IMG_5910.jpg", "jpeg/Canon_EOS_600D_IMG_5910.xmp")
    _edit_sidecar(xmp, 'xmp:Rating="3"', 'xmp:Rating="5" xmp:Label="Red"')
    _edit_sidecar(xmp, "<rdf:li>USA</rdf:li>", "<rdf:li>Places|USA|California</rdf:li>")
    _edit_sidecar(xmp, "Squirrel at berkely", "Edited in Lightroom")
    m = read_metadata(photo)
    assert m["rating"] == 5
    assert m["label"] == "Red"
    assert m["title"] == "Edited in Lightroom"
    assert m["caption"] == "Edited in Lightroom"
    assert "Places|USA|California" in m["keyword_paths"]
    assert "California" in m["keywords"]
    assert m["iso"] == 3200  # embedded camera fields stay
    embedded_only = read_metadata(photo, sidecar=None)
    assert embedded_only["rating"] == 3
    assert "label" not in embedded_only
    assert "sidecar" not in embedded_only["metadata_sources"]


def test_explicit_and_darktable_style_sidecars(copy_shared, tmp_path: Path) -> None:
    (photo,) = copy_shared("jpeg/Canon_40D_small.jpg")
    source = Path(copy_shared("jpeg/Canon_EOS_600D_IMG_5910.xmp", dest=tmp_path / "src")[0])
    darktable = photo.with_name(photo.name + ".xmp")  # Canon_40D_small.jpg.xmp
    shutil.copy(source, darktable)
    m = read_metadata(photo)
    assert m["sidecar_file"] == darktable.name
    assert m["keywords"] == ["Alvin the Squirrel", "Berkley", "USA"]
    assert m["camera"] == "Canon EOS 40D"  # the sidecar does not replace camera fields
    explicit = read_metadata(photo, sidecar=source)
    assert explicit["sidecar_file"] == source.name


def test_dng_with_camera_raw_sidecar(corpus: dict[str, Any], copy_shared) -> None:
    m = corpus["raw/canon_eos_6d.dng"]
    assert m["sidecar_file"] == "canon_eos_6d.xmp"
    assert m["camera"] == "Canon EOS 6D"
    assert (m["lens"], m["lens_serial_number"]) == ("EF24-105mm f/4L IS USM", "00001066ba")
    assert m["original_file_name"] == "IMG_2533.CR2"
    # The real sidecar has no keywords: add Lightroom-style ones to a copy.
    dng, xmp = copy_shared("raw/canon_eos_6d.dng", "raw/canon_eos_6d.xmp")
    keywords = """
 <rdf:Description rdf:about=''
  xmlns:dc='http://purl.org/dc/elements/1.1/'
  xmlns:lr='http://ns.adobe.com/lightroom/1.0/'
  xmlns:xmp='http://ns.adobe.com/xap/1.0/'>
  <xmp:Rating>4</xmp:Rating>
  <dc:subject><rdf:Bag><rdf:li>Sunrise</rdf:li><rdf:li>Alps</rdf:li></rdf:Bag></dc:subject>
  <lr:hierarchicalSubject><rdf:Bag>
   <rdf:li>Places|Europe|Alps</rdf:li><rdf:li>Light|Sunrise</rdf:li>
  </rdf:Bag></lr:hierarchicalSubject>
 </rdf:Description>
</rdf:RDF>"""
    _edit_sidecar(xmp, "</rdf:RDF>", keywords)
    with_keywords = read_metadata(dng)
    assert with_keywords["keyword_paths"] == ["Places|Europe|Alps", "Light|Sunrise"]
    assert with_keywords["keywords"] == ["Sunrise", "Alps"]
    assert with_keywords["rating"] == 4
    assert with_keywords["metadata_sources"] == ["exif", "xmp", "sidecar"]


def test_utf16_sidecar_is_read(copy_shared, tmp_path: Path) -> None:
    """immich's dates sidecar is UTF-16, which Exiv2 does not detect; it is re-encoded."""
    (photo,) = copy_shared("jpeg/photo_vehicle_rocket.jpg")  # no metadata of its own
    shutil.copy(
        Path(copy_shared("xmp/immich_dates_2000.xmp", dest=tmp_path / "src")[0]), photo.with_suffix(".xmp")
    )
    m = read_metadata(photo)
    assert m["captured_at"] == "2000-09-27T14:35:33+02:00"
    assert m["creator_tool"] == "Adobe Photoshop Lightroom 4.1 (Macintosh)"
    assert m["metadata_sources"] == ["sidecar"]


def test_unreadable_sidecar_is_ignored(copy_shared) -> None:
    (photo,) = copy_shared("jpeg/Canon_40D_small.jpg")
    photo.with_suffix(".xmp").write_text("not xmp at all")
    m = read_metadata(photo)
    assert m["camera"] == "Canon EOS 40D"
    assert "sidecar" not in m["metadata_sources"]


# --------------------------------------------------------------------------------------------
# Broken files, encodings, safety
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", UNREADABLE)
def test_unreadable_files_raise_metadata_error(shared_data: Path, rel: str) -> None:
    with pytest.raises(MetadataError) as info:
        read_metadata(shared_data / rel)
    assert info.value.reason == Reason.METADATA_ERROR
    assert info.value.detail.startswith(("cannot read metadata", "empty file"))
    assert "exiv2:" not in info.value.detail.lower()  # plain words only, never the library's own text


@pytest.mark.parametrize(
    ("rel", "camera"),
    [
        ("broken/truncated_50pct_prairie_falcon.jpg", "Canon EOS R5"),  # EXIF intact, scan data cut
        ("broken/truncated_50pct_canon_eos_6d.dng", "Canon EOS 6D"),
        ("broken/png_renamed_as.jpg", None),  # content wins over the extension
    ],
)
def test_damaged_but_readable_files_give_metadata(
    corpus: dict[str, Any], rel: str, camera: str | None
) -> None:
    m = corpus[rel]
    assert m.get("camera") == camera
    if rel.endswith("png_renamed_as.jpg"):
        assert m["mime_type"] == "image/png"
        assert m["title"] == "Blue Square Test File - .psd"


def test_missing_file_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_metadata(tmp_path / "gone.jpg")


def test_non_utf8_exif_text_is_decoded_per_value(copy_shared) -> None:
    (photo,) = copy_shared("jpeg/Canon_40D_small.jpg")
    with pyexiv2.Image(str(photo)) as img:  # a temp copy: legacy Latin-1 bytes next to UTF-8 ones
        img.modify_exif({"Exif.Image.ImageDescription": "Café crème"}, encoding="latin-1")
        img.modify_exif({"Exif.Image.Artist": "Zoë Ünal"}, encoding="utf-8")
        img.modify_iptc({"Iptc.Application2.City": "München"}, encoding="latin-1")
    with pyexiv2.Image(str(photo)) as img, pytest.raises(UnicodeDecodeError):
        img.read_exif()  # the plain UTF-8 read really fails on this file
    m = read_metadata(photo)
    assert m["caption"] == "Café crème"
    assert m["artist"] == "Zoë Ünal"
    assert m["city"] == "München"
    assert m["camera"] == "Canon EOS 40D"


def test_reading_never_writes(copy_shared) -> None:
    photo, _ = copy_shared("jpeg/Canon_EOS_600D_IMG_5910.jpg", "jpeg/Canon_EOS_600D_IMG_5910.xmp")
    before = (hashlib.sha256(photo.read_bytes()).hexdigest(), photo.stat().st_mtime_ns)
    read_metadata(photo)
    assert (hashlib.sha256(photo.read_bytes()).hexdigest(), photo.stat().st_mtime_ns) == before


def test_bytes_argument_matches_file_read(shared_data: Path) -> None:
    path = shared_data / "raw" / "RAW_KODAK_DC50_é.KDC"  # non-ASCII name
    assert read_metadata(path, data=path.read_bytes()) == read_metadata(path)
    assert read_metadata(path)["camera"] == "Kodak Digital Science DC50 Zoom Camera"


def test_threads_read_identical_results(shared_data: Path) -> None:
    """R9: 8 threads reading every file 3 times agree with a single-threaded read."""
    files = corpus_files(shared_data)
    expected = read_all(shared_data)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(3):
                got = read_all(shared_data)
                with lock:
                    results.append(got)
        except BaseException as exc:  # surface failures from the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(results) == 24
    assert len(expected) == len(files)
    for got in results:
        assert got == expected


def test_captured_ts_is_finite_everywhere(corpus: dict[str, Any]) -> None:
    for payload in corpus.values():
        if isinstance(payload, dict) and "captured_ts" in payload:
            assert math.isfinite(payload["captured_ts"])
            assert isinstance(payload["capture_tz_known"], bool)


def test_every_pyexiv2_call_holds_the_lock(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyexiv2 keeps the GIL today, so the thread test alone would not notice a missing lock."""
    from bridge.metadata import exiv2

    calls: list[str] = []
    real = pyexiv2.ImageData

    class Checked:
        def __init__(self, data: bytes) -> None:
            assert exiv2.LOCK.locked(), "ImageData opened without the lock"
            self._image = real(data)

        def __getattr__(self, name: str) -> Any:
            attr = getattr(self._image, name)

            def call(*args: Any, **kwargs: Any) -> Any:
                assert exiv2.LOCK.locked(), f"{name} called without the lock"
                calls.append(name)
                return attr(*args, **kwargs)

            return call

    monkeypatch.setattr(pyexiv2, "ImageData", Checked)
    read_metadata(shared_data / "jpeg" / "Canon_EOS_600D_IMG_5910.jpg")  # photo + sidecar
    assert {"read_exif", "read_iptc", "read_xmp", "close"} <= set(calls)


def test_date_only_capture_date_is_refined_never_overridden() -> None:
    """IPTC/Photoshop DateCreated with a date only: a later tag on the same day gives the time of day; a tag
    from another day (the file's creation years later) does not replace the day the photo was taken."""
    other_day = extract_fields(
        {"Xmp.photoshop.DateCreated": "2003-04-03", "Xmp.xmp.CreateDate": "2005-03-13T02:01:44-06:00"}
    )
    assert other_day["captured_at"].startswith("2003-04-03")
    same_day = extract_fields(
        {"Xmp.photoshop.DateCreated": "2003-04-03", "Xmp.xmp.CreateDate": "2003-04-03T10:11:12+02:00"}
    )
    assert same_day["captured_at"] == "2003-04-03T10:11:12+02:00"
