"""The metadata field table: every payload field, its type, and where it comes from.

Each `Field` names one payload field (the key in the dict `read_metadata` returns and the
vector store filters on), its Python type, and its candidate source keys in priority order.
Source keys are Exiv2 keys (`Exif.*`, `Iptc.*`, `Xmp.*`) as pyexiv2 reports them, plus three
`File.*` keys the reader adds from the container itself (pixel size, MIME type). The first
source whose value converts to something valid wins; a malformed value is skipped, never
raised, so a broken tag in one place does not hide a good copy of it in another.

A source is either a key (converted with the field's converter) or a `(key, converter)` pair
when that key stores the value differently (APEX aperture vs. f-number, a rating percent vs.
stars). `derived=True` fields are computed in `bridge.metadata.read` from several keys at once
(capture time, GPS, keywords, camera name); their `sources` list those keys for reference.

The converters below are small pure functions: raw pyexiv2 value in, typed value or None out.
Raw pyexiv2 values are strings (`"1/250"`, `"8 8 8"`), lists of strings (IPTC repeatable
tags, XMP bags and sequences) or dicts for XMP language alternatives
(`{'lang="x-default"': "text"}`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

Converter = Callable[[Any], Any]

# --------------------------------------------------------------------------------------------
# Raw-value helpers
# --------------------------------------------------------------------------------------------

# XMP struct and array containers come back as a placeholder string, not a value. GIMP 2.99
# even writes that placeholder into values ('type="Seq" Developer' as dc:creator).
_XMP_CONTAINER = re.compile(r'^type="(?:Struct|Bag|Seq|Alt)"\s*')
_LANG_DEFAULT = 'lang="x-default"'


def first_text(value: Any) -> str | None:
    """The first non-empty text in a raw value (x-default for language alternatives)."""
    if isinstance(value, Mapping):
        preferred = value.get(_LANG_DEFAULT)
        candidates = [preferred, *value.values()] if preferred is not None else list(value.values())
        return _first_nonempty(candidates)
    if isinstance(value, list | tuple):
        return _first_nonempty(value)
    return _clean_text(value)


def _first_nonempty(values: Any) -> str | None:
    for v in values:
        text = _clean_text(v)
        if text is not None:
            return text
    return None


def _clean_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    # Windows XP* tags and fixed-width ASCII fields are NUL- or space-padded.
    text = _XMP_CONTAINER.sub("", value.replace("\x00", "")).strip()
    return text or None


def all_texts(value: Any) -> list[str]:
    """Every non-empty text in a raw value, in order."""
    if isinstance(value, Mapping):
        items: list[Any] = list(value.values())
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    return [t for t in (_clean_text(v) for v in items) if t is not None]


def _first_token(value: Any) -> str | None:
    """First whitespace-separated token: multi-valued EXIF numbers come as "8 8 8" or "100 0"."""
    text = first_text(value)
    if text is None:
        return None
    return text.split()[0]


def parse_number(token: str | None) -> float | None:
    """A rational ("1/250"), integer or decimal token as a finite float; None when malformed."""
    if token is None:
        return None
    token = token.strip()
    try:
        if "/" in token:
            num, den = token.split("/", 1)
            den_f = float(den)
            if den_f == 0:
                return None  # "0/0" means unknown in EXIF
            result = float(num) / den_f
        else:
            result = float(token)
    except ValueError:
        return None
    return result if math.isfinite(result) else None


# --------------------------------------------------------------------------------------------
# Converters (raw value -> typed value or None)
# --------------------------------------------------------------------------------------------


def to_text(value: Any) -> str | None:
    return first_text(value)


def to_joined_text(value: Any) -> str | None:
    """Several values (e.g. dc:creator with two photographers) as one string."""
    texts = all_texts(value)
    return "; ".join(dict.fromkeys(texts)) if texts else None


def to_text_list(value: Any) -> list[str] | None:
    texts = list(dict.fromkeys(all_texts(value)))
    return texts or None


def to_float(value: Any) -> float | None:
    return parse_number(_first_token(value))


def to_int(value: Any) -> int | None:
    number = to_float(value)
    if number is None:
        return None
    return round(number)


def _bounded(convert: Converter, low: float, high: float, *, digits: int | None = None) -> Converter:
    """Wrap a numeric converter so out-of-range values (garbage rationals, sentinels) are skipped."""

    def bounded(value: Any) -> Any:
        number = convert(value)
        if number is None or not (low <= number <= high):
            return None
        return round(number, digits) if digits is not None else number

    return bounded


def to_positive_int(value: Any) -> int | None:
    number = to_int(value)
    return number if number is not None and number > 0 else None


def apex_to_fnumber(value: Any) -> float | None:
    """ApertureValue / MaxApertureValue are APEX: f = 2^(Av/2)."""
    av = to_float(value)
    if av is None or not (-2 <= av <= 32):
        return None
    return round(2 ** (av / 2), 1)


def apex_to_seconds(value: Any) -> float | None:
    """ShutterSpeedValue is APEX: t = 2^-Tv."""
    tv = to_float(value)
    if tv is None or not (-20 <= tv <= 30):
        return None
    return 2 ** (-tv)


def to_bool(value: Any) -> bool | None:
    text = first_text(value)
    if text is None:
        return None
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return None


def to_nonzero_bool(value: Any) -> bool | None:
    """Maker-note on/off codes (burst mode, continuous drive): 0 is off, anything else on."""
    number = to_int(value)
    return None if number is None else number != 0


def to_iso(value: Any) -> int | None:
    # 0 means "not recorded"; 65535 is the EXIF 2.2 saturation value ("65535 or more").
    iso = to_int(value)
    if iso is None or not (1 <= iso < 65535):
        return None
    return iso


def stars_from_rating(value: Any) -> int | None:
    """xmp:Rating / Exif Rating: -1 (reject) .. 5; some writers store "1.0"."""
    number = to_float(value)
    if number is None or not (-1 <= number <= 5):
        return None
    return round(number)


def stars_from_percent(value: Any) -> int | None:
    """Windows' RatingPercent / MicrosoftPhoto:Rating: 1, 25, 50, 75, 99 for 1..5 stars."""
    percent = to_float(value)
    if percent is None or not (0 <= percent <= 100):
        return None
    if percent == 0:
        return 0
    return min(5, 1 + int((percent + 12) // 25))


def to_user_comment(value: Any) -> str | None:
    """EXIF UserComment as Exiv2 prints it: 'charset=Ascii text' or blank padding."""
    text = first_text(value)
    if text is None:
        return None
    text = re.sub(r"^charset=\S+\s?", "", text).strip()
    return text or None


def to_exif_version(value: Any) -> str | None:
    """ExifVersion is 4 ASCII digits stored as bytes ("48 50 51 49" -> "0231"); XMP has the text."""
    text = first_text(value)
    if text is None:
        return None
    parts = text.split()
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        try:
            return bytes(int(p) for p in parts).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            return None
    return text if re.fullmatch(r"\d{4}", text) else None


def to_url_code(value: Any) -> str | None:
    """Controlled-vocabulary URLs (IPTC digital source type, PLUS codes) as their last segment."""
    text = first_text(value)
    if text is None:
        return None
    return text.rstrip("/").rsplit("/", 1)[-1] or None


def lens_spec_text(value: Any) -> str | None:
    """LensSpecification (min/max focal, min/max f-number at those) as "24-105mm f/4"."""
    text = first_text(value)
    if text is None:
        return None
    numbers = [parse_number(t) for t in text.replace(",", " ").split()]
    if len(numbers) != 4 or numbers[0] is None or numbers[0] <= 0:
        return None
    focal_min, focal_max, f_min, f_max = numbers
    focal = _fmt(focal_min)
    if focal_max and focal_max > focal_min:
        focal += f"-{_fmt(focal_max)}"
    spec = f"{focal}mm"
    if f_min:
        spec += f" f/{_fmt(f_min)}"
        if f_max and f_max != f_min:
            spec += f"-{_fmt(f_max)}"
    return spec


def _fmt(number: float) -> str:
    return f"{round(number, 2):g}"


def shutter_text(seconds: float) -> str:
    """Exposure time for display, ExifTool's convention: "1/250" below 1/4 s, else "0.3", "2"."""
    if seconds <= 0.25001:
        return f"1/{round(1 / seconds)}"
    return f"{round(seconds, 1):g}"


def exposure_time_from_rational(value: Any) -> float | None:
    seconds = to_float(value)
    if seconds is None or not (0 < seconds <= 86400):
        return None
    return seconds


def enum(table: Mapping[int, str]) -> Converter:
    """An EXIF enumeration as readable text; unknown codes and "unknown" entries are skipped."""

    def convert(value: Any) -> str | None:
        code = to_int(value)
        return table.get(code) if code is not None else None

    return convert


def flash_text(value: Any) -> str | None:
    """The EXIF Flash bit field as words, e.g. "Auto, fired, red-eye reduction"."""
    code = to_int(value)
    if code is None or code < 0:
        return None
    if code & 0x20:
        return "No flash function"
    if code == 0:
        return "No flash"
    parts = []
    mode = FLASH_MODES.get((code >> 3) & 3)
    if mode:
        parts.append(mode)
    parts.append("fired" if code & 1 else "did not fire")
    strobe_return = (code >> 1) & 3
    if strobe_return == 2:
        parts.append("return not detected")
    elif strobe_return == 3:
        parts.append("return detected")
    if code & 0x40:
        parts.append("red-eye reduction")
    text = ", ".join(parts)
    return text[0].upper() + text[1:]


def flash_fired(value: Any) -> bool | None:
    code = to_int(value)
    return None if code is None or code < 0 else bool(code & 1)


def dms_to_degrees(value: Any) -> float | None:
    """Unsigned degrees from EXIF "d/1 m/1 s/100" rationals or XMP "DD,MM.mmm" / "DD,MM,SS"."""
    text = first_text(value)
    if text is None:
        return None
    text = text.rstrip("NSEWnsew").strip()
    tokens = text.replace(",", " ").split()
    if not 1 <= len(tokens) <= 3:
        return None
    # Nikon writes minutes with decimals and seconds as "0/0" (unknown): read as 0.
    parts = [0.0 if i and t == "0/0" else parse_number(t) for i, t in enumerate(tokens)]
    if any(p is None or p < 0 for p in parts):
        return None
    degrees = sum(p / 60**i for i, p in enumerate(parts))  # type: ignore[operator]
    return degrees


def xmp_gps_hemisphere(value: Any) -> str | None:
    """XMP GPS coordinates carry their reference as the last letter ("34,47.847N")."""
    text = first_text(value)
    if text and text[-1].upper() in "NSEW":
        return text[-1].upper()
    return None


def gps_time_of_day(value: Any) -> float | None:
    """GPSTimeStamp "h/1 m/1 s/100" as seconds since midnight UTC."""
    text = first_text(value)
    if text is None:
        return None
    parts = [parse_number(t) for t in text.split()]
    if len(parts) != 3 or any(p is None or p < 0 for p in parts):
        return None
    hours, minutes, seconds = parts
    total = hours * 3600 + minutes * 60 + seconds  # type: ignore[operator]
    return total if total < 86400 else None


def rational_seconds_text(seconds: float) -> str:
    """Seconds with a fraction, trailing zeros dropped ("33.519")."""
    frac = Fraction(seconds).limit_denominator(1_000_000)
    return f"{float(frac):.6f}".rstrip("0").rstrip(".")


# Camera boilerplate that firmware writes into ImageDescription: not a caption.
_BOILERPLATE = re.compile(
    r"^(?:(?:[\w-]+ )*digital camera|sony dsc|(?:[a-z]:)?[\\/]?dcim[\\/].*)$", re.IGNORECASE
)


def to_caption_text(value: Any) -> str | None:
    text = first_text(value)
    if text is None or _BOILERPLATE.match(text):
        return None
    return text


# --------------------------------------------------------------------------------------------
# EXIF enumerations (EXIF 2.32 / CIPA DC-008, plus Apple's CustomRendered codes)
# --------------------------------------------------------------------------------------------

EXPOSURE_PROGRAMS = {
    1: "Manual",
    2: "Program AE",
    3: "Aperture priority",
    4: "Shutter priority",
    5: "Creative (slow speed)",
    6: "Action (high speed)",
    7: "Portrait",
    8: "Landscape",
    9: "Bulb",
}
METERING_MODES = {
    1: "Average",
    2: "Center-weighted average",
    3: "Spot",
    4: "Multi-spot",
    5: "Multi-segment",
    6: "Partial",
    255: "Other",
}
WHITE_BALANCES = {0: "Auto", 1: "Manual"}
EXPOSURE_MODES = {0: "Auto", 1: "Manual", 2: "Auto bracket"}
SCENE_CAPTURE_TYPES = {0: "Standard", 1: "Landscape", 2: "Portrait", 3: "Night"}
CONTRAST_SHARPNESS = {0: "Normal", 1: "Soft", 2: "Hard"}
SATURATIONS = {0: "Normal", 1: "Low", 2: "High"}
GAIN_CONTROLS = {0: "None", 1: "Low gain up", 2: "High gain up", 3: "Low gain down", 4: "High gain down"}
SUBJECT_DISTANCE_RANGES = {1: "Macro", 2: "Close", 3: "Distant"}
SENSING_METHODS = {
    2: "One-chip color area",
    3: "Two-chip color area",
    4: "Three-chip color area",
    5: "Color sequential area",
    7: "Trilinear",
    8: "Color sequential linear",
}
CUSTOM_RENDERED = {
    0: "Normal",
    1: "Custom",
    2: "HDR (no original saved)",
    3: "HDR (original saved)",
    4: "Original (for HDR)",
    6: "Panorama",
    7: "Portrait HDR",
    8: "Portrait",
}
COLOR_SPACES = {1: "sRGB", 2: "Adobe RGB", 65535: "Uncalibrated"}
RESOLUTION_UNITS = {1: "none", 2: "inches", 3: "cm"}
LIGHT_SOURCES = {
    1: "Daylight",
    2: "Fluorescent",
    3: "Tungsten",
    4: "Flash",
    9: "Fine weather",
    10: "Cloudy",
    11: "Shade",
    12: "Daylight fluorescent",
    13: "Day white fluorescent",
    14: "Cool white fluorescent",
    15: "White fluorescent",
    16: "Warm white fluorescent",
    17: "Standard light A",
    18: "Standard light B",
    19: "Standard light C",
    20: "D55",
    21: "D65",
    22: "D75",
    23: "D50",
    24: "ISO studio tungsten",
    255: "Other",
}
COMPRESSIONS = {
    1: "Uncompressed",
    5: "LZW",
    6: "JPEG (old-style)",
    7: "JPEG",
    8: "Deflate",
    9: "JBIG",
    32773: "PackBits",
    32946: "Deflate",
    34712: "JPEG 2000",
    34892: "Lossy JPEG",
    52546: "JPEG XL",
}
FLASH_MODES = {1: "On", 2: "Off", 3: "Auto"}
GPS_DIRECTION_REFS = {"T": "true north", "M": "magnetic north"}
GPS_SPEED_TO_KMH = {"K": 1.0, "M": 1.609344, "N": 1.852}


def to_direction_ref(value: Any) -> str | None:
    text = first_text(value)
    return GPS_DIRECTION_REFS.get(text.upper()) if text else None


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

Source = str | tuple[str, Converter]


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # payload key
    type: type  # str, int, float, bool or list (of str)
    sources: tuple[Source, ...]  # candidate keys, best first
    convert: Converter = to_text
    derived: bool = False  # computed in bridge.metadata.read from several keys at once
    doc: str = ""
    pairs: tuple[tuple[str, Converter], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pairs = tuple(s if isinstance(s, tuple) else (s, self.convert) for s in self.sources)
        object.__setattr__(self, "pairs", pairs)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.pairs)


def F(name: str, type_: type, *sources: Source, convert: Converter = to_text, doc: str = "") -> Field:
    return Field(name, type_, tuple(sources), convert, doc=doc)


def D(name: str, type_: type, *sources: str, doc: str = "") -> Field:
    return Field(name, type_, tuple(sources), derived=True, doc=doc)


# Source keys shared with the derivations in bridge.metadata.read (one list, used by both).
MAKE_KEYS = ("Exif.Image.Make", "Xmp.tiff.Make")
MODEL_KEYS = ("Exif.Image.Model", "Xmp.tiff.Model", "Exif.Image.UniqueCameraModel")
FLAT_KEYWORD_KEYS = ("Xmp.dc.subject", "Iptc.Application2.Keywords", "Exif.Image.XPKeywords")
# Hierarchical keyword properties and their separators (Lightroom, digiKam, Microsoft, Media Pro).
PATH_KEYWORD_KEYS = (
    ("Xmp.lr.hierarchicalSubject", "|"),
    ("Xmp.digiKam.TagsList", "/"),
    ("Xmp.mediapro.CatalogSets", "|"),
    ("Xmp.MicrosoftPhoto.LastKeywordXMP", "/"),
)
GPS_LAT_KEYS = ("Exif.GPSInfo.GPSLatitude", "Exif.GPSInfo.GPSLatitudeRef", "Xmp.exif.GPSLatitude")
GPS_LON_KEYS = ("Exif.GPSInfo.GPSLongitude", "Exif.GPSInfo.GPSLongitudeRef", "Xmp.exif.GPSLongitude")
GPS_ALT_KEYS = (
    "Exif.GPSInfo.GPSAltitude",
    "Exif.GPSInfo.GPSAltitudeRef",
    "Xmp.exif.GPSAltitude",
    "Xmp.exif.GPSAltitudeRef",
)
GPS_SPEED_KEYS = (
    "Exif.GPSInfo.GPSSpeed",
    "Exif.GPSInfo.GPSSpeedRef",
    "Xmp.exif.GPSSpeed",
    "Xmp.exif.GPSSpeedRef",
)
GPS_TIME_KEYS = ("Exif.GPSInfo.GPSDateStamp", "Exif.GPSInfo.GPSTimeStamp", "Xmp.exif.GPSTimeStamp")
# Capture-time candidates, best first: (date-time key, sub-second key, UTC-offset key).
CAPTURE_DATE_KEYS: tuple[tuple[str, str | None, str | None], ...] = (
    ("Exif.Photo.DateTimeOriginal", "Exif.Photo.SubSecTimeOriginal", "Exif.Photo.OffsetTimeOriginal"),
    ("Xmp.exif.DateTimeOriginal", None, None),
    ("Xmp.photoshop.DateCreated", None, None),
    ("Iptc.Application2.DateCreated", None, "Iptc.Application2.TimeCreated"),
    ("Exif.Image.DateTimeOriginal", None, None),  # TIFF/EP (older Nikon NEF)
    ("Exif.Photo.DateTimeDigitized", "Exif.Photo.SubSecTimeDigitized", "Exif.Photo.OffsetTimeDigitized"),
    ("Xmp.exif.DateTimeDigitized", None, None),
    ("Iptc.Application2.DigitizationDate", None, "Iptc.Application2.DigitizationTime"),
    ("Xmp.xmp.CreateDate", None, None),
)
CREATE_DATE_KEYS = CAPTURE_DATE_KEYS[5:]
MODIFY_DATE_KEYS: tuple[tuple[str, str | None, str | None], ...] = (
    ("Xmp.xmp.ModifyDate", None, None),
    ("Exif.Image.DateTime", "Exif.Photo.SubSecTime", "Exif.Photo.OffsetTime"),
    ("Xmp.tiff.DateTime", None, None),
)
METADATA_DATE_KEYS: tuple[tuple[str, str | None, str | None], ...] = (("Xmp.xmp.MetadataDate", None, None),)
FACE_NAME_PATTERNS = (
    r"^Xmp\.mwg-rs\.Regions/mwg-rs:RegionList\[\d+\]/mwg-rs:Name$",
    r"^Xmp\.MP\.RegionInfo/MPRI:Regions\[\d+\]/MPReg:PersonDisplayName$",
)


def _flat(keys: tuple[tuple[str, str | None, str | None], ...]) -> tuple[str, ...]:
    return tuple(k for triple in keys for k in triple if k)


_aperture = _bounded(to_float, 0.7, 256, digits=2)
_focal = _bounded(to_float, 0.1, 5000, digits=2)

FIELDS: tuple[Field, ...] = (
    # --- camera and lens ---
    F("camera_make", str, *MAKE_KEYS, doc="manufacturer as recorded"),
    F("camera_model", str, *MODEL_KEYS, "Exif.Image.LocalizedCameraModel"),
    D(
        "camera",
        str,
        *MAKE_KEYS,
        *MODEL_KEYS,
        doc='make + model without repeating the brand: "Canon EOS 600D"',
    ),
    F(
        "serial_number",
        str,
        "Exif.Photo.BodySerialNumber",
        "Exif.Image.CameraSerialNumber",
        "Xmp.exifEX.BodySerialNumber",
        "Xmp.aux.SerialNumber",
        "Xmp.MicrosoftPhoto.CameraSerialNumber",
        "Exif.Nikon3.SerialNumber",
        "Exif.OlympusEq.SerialNumber",
        "Exif.Fujifilm.SerialNumber",
    ),
    F(
        "owner_name",
        str,
        "Exif.Photo.CameraOwnerName",
        "Xmp.exifEX.CameraOwnerName",
        "Xmp.aux.OwnerName",
        "Exif.Canon.OwnerName",
    ),
    F("firmware", str, "Xmp.aux.Firmware", "Exif.Canon.FirmwareVersion"),
    F(
        "lens",
        str,
        "Exif.Photo.LensModel",
        "Xmp.exifEX.LensModel",
        "Xmp.aux.Lens",
        "Exif.Canon.LensModel",
        "Exif.OlympusEq.LensModel",
    ),
    F("lens_make", str, "Exif.Photo.LensMake", "Xmp.exifEX.LensMake"),
    F(
        "lens_serial_number",
        str,
        "Exif.Photo.LensSerialNumber",
        "Xmp.exifEX.LensSerialNumber",
        "Xmp.aux.LensSerialNumber",
        "Exif.OlympusEq.LensSerialNumber",
    ),
    F(
        "lens_specification",
        str,
        "Exif.Photo.LensSpecification",
        "Xmp.exifEX.LensSpecification",
        "Xmp.aux.LensInfo",
        "Exif.Image.LensInfo",
        "Exif.Nikon3.Lens",
        convert=lens_spec_text,
        doc='focal and aperture range: "24-105mm f/4"',
    ),
    F("lens_id", int, "Xmp.aux.LensID", convert=to_int),
    # --- exposure ---
    F(
        "focal_length",
        float,
        "Exif.Photo.FocalLength",
        "Xmp.exif.FocalLength",
        "Exif.Image.FocalLength",
        convert=_focal,
    ),
    F(
        "focal_length_35mm",
        int,
        "Exif.Photo.FocalLengthIn35mmFilm",
        "Xmp.exif.FocalLengthIn35mmFilm",
        "Xmp.exif.FocalLenIn35mmFilm",  # misspelt by some writers (scikit-image's chelsea.png)
        convert=to_positive_int,
    ),
    F(
        "aperture",
        float,
        "Exif.Photo.FNumber",
        "Xmp.exif.FNumber",
        "Exif.Image.FNumber",
        ("Exif.Photo.ApertureValue", apex_to_fnumber),
        ("Xmp.exif.ApertureValue", apex_to_fnumber),
        convert=_aperture,
        doc="f-number",
    ),
    F(
        "max_aperture",
        float,
        "Exif.Photo.MaxApertureValue",
        "Xmp.exif.MaxApertureValue",
        convert=apex_to_fnumber,
        doc="widest f-number of the lens at this focal length (from APEX)",
    ),
    F(
        "exposure_time",
        float,
        "Exif.Photo.ExposureTime",
        "Xmp.exif.ExposureTime",
        "Exif.Image.ExposureTime",
        ("Exif.Photo.ShutterSpeedValue", apex_to_seconds),
        ("Xmp.exif.ShutterSpeedValue", apex_to_seconds),
        convert=exposure_time_from_rational,
        doc="seconds",
    ),
    D("shutter", str, "exposure_time", doc='display text: "1/250", "0.5", "30"'),
    F(
        "iso",
        int,
        "Exif.Photo.ISOSpeedRatings",
        "Xmp.exif.ISOSpeedRatings",
        "Xmp.exifEX.PhotographicSensitivity",
        "Exif.Photo.RecommendedExposureIndex",
        "Xmp.exifEX.RecommendedExposureIndex",
        "Exif.Image.ISOSpeedRatings",
        convert=to_iso,
    ),
    F(
        "exposure_bias",
        float,
        "Exif.Photo.ExposureBiasValue",
        "Xmp.exif.ExposureBiasValue",
        convert=_bounded(to_float, -20, 20, digits=2),
        doc="EV",
    ),
    F(
        "exposure_program",
        str,
        "Exif.Photo.ExposureProgram",
        "Xmp.exif.ExposureProgram",
        "Exif.Image.ExposureProgram",
        convert=enum(EXPOSURE_PROGRAMS),
    ),
    F("exposure_mode", str, "Exif.Photo.ExposureMode", "Xmp.exif.ExposureMode", convert=enum(EXPOSURE_MODES)),
    F("metering_mode", str, "Exif.Photo.MeteringMode", "Xmp.exif.MeteringMode", convert=enum(METERING_MODES)),
    F("white_balance", str, "Exif.Photo.WhiteBalance", "Xmp.exif.WhiteBalance", convert=enum(WHITE_BALANCES)),
    F("flash", str, "Exif.Photo.Flash", "Exif.Image.Flash", convert=flash_text),
    F(
        "flash_fired",
        bool,
        "Exif.Photo.Flash",
        "Exif.Image.Flash",
        ("Xmp.exif.Flash/exif:Fired", to_bool),
        convert=flash_fired,
    ),
    F(
        "flash_compensation",
        float,
        "Xmp.aux.FlashCompensation",
        convert=_bounded(to_float, -20, 20, digits=2),
    ),
    F("light_source", str, "Exif.Photo.LightSource", "Xmp.exif.LightSource", convert=enum(LIGHT_SOURCES)),
    F(
        "scene_capture_type",
        str,
        "Exif.Photo.SceneCaptureType",
        "Xmp.exif.SceneCaptureType",
        convert=enum(SCENE_CAPTURE_TYPES),
    ),
    F(
        "digital_zoom",
        float,
        "Exif.Photo.DigitalZoomRatio",
        "Xmp.exif.DigitalZoomRatio",
        convert=_bounded(to_float, 0.01, 1000, digits=2),  # 0 means "not used"
    ),
    F(
        "subject_distance",
        float,
        "Exif.Photo.SubjectDistance",
        "Xmp.exif.SubjectDistance",
        "Exif.Image.SubjectDistance",
        convert=_bounded(to_float, 0, 100_000, digits=3),  # 0xFFFFFFFF/1 ("infinity") is skipped
        doc="metres",
    ),
    F(
        "focus_distance",
        float,
        "Xmp.aux.ApproximateFocusDistance",
        convert=_bounded(to_float, 0.001, 100_000, digits=3),
        doc="metres, as Adobe records it",
    ),
    F(
        "subject_distance_range",
        str,
        "Exif.Photo.SubjectDistanceRange",
        "Xmp.exif.SubjectDistanceRange",
        "Xmp.exif.SubjectDistRange",
        convert=enum(SUBJECT_DISTANCE_RANGES),
    ),
    F(
        "brightness",
        float,
        "Exif.Photo.BrightnessValue",
        "Xmp.exif.BrightnessValue",
        convert=_bounded(to_float, -100, 100, digits=2),
        doc="APEX brightness value (Bv)",
    ),
    F("contrast", str, "Exif.Photo.Contrast", "Xmp.exif.Contrast", convert=enum(CONTRAST_SHARPNESS)),
    F("saturation", str, "Exif.Photo.Saturation", "Xmp.exif.Saturation", convert=enum(SATURATIONS)),
    F("sharpness", str, "Exif.Photo.Sharpness", "Xmp.exif.Sharpness", convert=enum(CONTRAST_SHARPNESS)),
    F("gain_control", str, "Exif.Photo.GainControl", "Xmp.exif.GainControl", convert=enum(GAIN_CONTROLS)),
    F(
        "sensing_method",
        str,
        "Exif.Photo.SensingMethod",
        "Xmp.exif.SensingMethod",
        "Exif.Image.SensingMethod",
        convert=enum(SENSING_METHODS),
    ),
    F(
        "custom_rendered",
        str,
        "Exif.Photo.CustomRendered",
        "Xmp.exif.CustomRendered",
        convert=enum(CUSTOM_RENDERED),
    ),
    F("color_space", str, "Exif.Photo.ColorSpace", "Xmp.exif.ColorSpace", convert=enum(COLOR_SPACES)),
    F("icc_profile_name", str, "Xmp.photoshop.ICCProfile"),
    # --- bursts and counters ---
    F(
        "sequence_number",
        int,
        "Exif.Image.ImageNumber",
        "Xmp.aux.ImageNumber",
        "Exif.SonyMisc3c.SequenceImageNumber",
        "Exif.Sony1.SequenceNumber",
        "Exif.Sony2.SequenceNumber",
        "Exif.Fujifilm.SequenceNumber",
        "Exif.Panasonic.SequenceNumber",
        "Exif.CanonSi.Sequence",
        "Xmp.pmi.sequenceNumber",
        convert=_bounded(to_int, 0, 10**9),
        doc="image number within a burst/sequence (0: single shot for most makers)",
    ),
    F(
        "continuous_drive",
        bool,
        "Exif.Fujifilm.Continuous",
        "Exif.Panasonic.BurstMode",
        convert=to_nonzero_bool,
        doc="burst/continuous shooting was on (maker notes)",
    ),
    F(
        "shutter_count",
        int,
        "Exif.Nikon3.ShutterCount",
        "Exif.SonyMisc3c.ShotNumberSincePowerUp",
        convert=to_positive_int,
        doc="shutter actuations (Nikon) or shots since power-up (Sony)",
    ),
    F("file_number", int, "Exif.Canon.FileNumber", "Exif.NikonFi.FileNumber", convert=to_positive_int),
    # --- image ---
    F(
        "width",
        int,
        "File.PixelWidth",
        "Exif.Photo.PixelXDimension",
        "Xmp.exif.PixelXDimension",
        "Exif.Image.ImageWidth",
        "Xmp.tiff.ImageWidth",
        convert=to_positive_int,
        doc="pixels as stored, before orientation is applied",
    ),
    F(
        "height",
        int,
        "File.PixelHeight",
        "Exif.Photo.PixelYDimension",
        "Xmp.exif.PixelYDimension",
        "Exif.Image.ImageLength",
        "Xmp.tiff.ImageLength",
        convert=to_positive_int,
    ),
    F(
        "orientation",
        int,
        "Exif.Image.Orientation",
        "Xmp.tiff.Orientation",
        convert=_bounded(to_int, 1, 8),
        doc="EXIF orientation 1-8 (0 and other values are skipped)",
    ),
    F(
        "x_resolution",
        float,
        "Exif.Image.XResolution",
        "Xmp.tiff.XResolution",
        convert=_bounded(to_float, 0.01, 1e6, digits=3),
    ),
    F(
        "y_resolution",
        float,
        "Exif.Image.YResolution",
        "Xmp.tiff.YResolution",
        convert=_bounded(to_float, 0.01, 1e6, digits=3),
    ),
    F(
        "resolution_unit",
        str,
        "Exif.Image.ResolutionUnit",
        "Xmp.tiff.ResolutionUnit",
        convert=enum(RESOLUTION_UNITS),
    ),
    F(
        "bits_per_sample",
        int,
        "Exif.Image.BitsPerSample",
        "Xmp.tiff.BitsPerSample",
        convert=_bounded(to_int, 1, 64),
    ),
    F("compression", str, "Exif.Image.Compression", "Xmp.tiff.Compression", convert=enum(COMPRESSIONS)),
    F("mime_type", str, "File.MimeType", doc="container type as Exiv2 detected it from the content"),
    F("exif_version", str, "Exif.Photo.ExifVersion", "Xmp.exif.ExifVersion", convert=to_exif_version),
    # --- dates ---
    D(
        "captured_at",
        str,
        *_flat(CAPTURE_DATE_KEYS),
        *GPS_TIME_KEYS,
        doc="ISO 8601 local capture time with sub-seconds, and offset when known",
    ),
    D(
        "captured_ts",
        float,
        "captured_at",
        doc="POSIX seconds: true UTC when the offset is known, else the local time read as UTC",
    ),
    D("capture_tz_known", bool, "captured_at", doc="captured_at carries a real UTC offset"),
    F("subsec_time_original", str, "Exif.Photo.SubSecTimeOriginal", convert=to_text),
    F("offset_time_original", str, "Exif.Photo.OffsetTimeOriginal", convert=to_text),
    D("create_date", str, *_flat(CREATE_DATE_KEYS), doc="digitized/created time, ISO 8601"),
    D("modify_date", str, *_flat(MODIFY_DATE_KEYS), doc="last edit time, ISO 8601"),
    D("metadata_date", str, *_flat(METADATA_DATE_KEYS)),
    # --- description (IPTC Core / XMP) ---
    F(
        "title",
        str,
        "Xmp.dc.title",
        "Iptc.Application2.ObjectName",
        "Exif.Image.XPTitle",
        "Exif.Photo.ImageTitle",
    ),
    F(
        "caption",
        str,
        "Xmp.dc.description",
        "Iptc.Application2.Caption",
        "Exif.Image.ImageDescription",
        convert=to_caption_text,
        doc="description; camera boilerplate like 'OLYMPUS DIGITAL CAMERA' is skipped",
    ),
    F("headline", str, "Xmp.photoshop.Headline", "Iptc.Application2.Headline"),
    D(
        "keywords",
        list,
        *FLAT_KEYWORD_KEYS,
        *(k for k, _ in PATH_KEYWORD_KEYS),
        doc="flat keywords + leaves of hierarchical paths, de-duplicated case-insensitively",
    ),
    D(
        "keyword_paths",
        list,
        *(k for k, _ in PATH_KEYWORD_KEYS),
        doc='hierarchical keywords as "A|B|C"',
    ),
    F(
        "rating",
        int,
        "Xmp.xmp.Rating",
        "Exif.Image.Rating",
        ("Xmp.MicrosoftPhoto.Rating", stars_from_percent),
        ("Exif.Image.RatingPercent", stars_from_percent),
        convert=stars_from_rating,
        doc="-1 (rejected) .. 5 stars",
    ),
    F("label", str, "Xmp.xmp.Label", doc="colour label text"),
    F(
        "creator",
        str,
        "Xmp.dc.creator",
        "Iptc.Application2.Byline",
        "Exif.Image.Artist",
        "Exif.Image.XPAuthor",
        convert=to_joined_text,
        doc="several creators joined with '; '",
    ),
    F("creator_job_title", str, "Xmp.photoshop.AuthorsPosition", "Iptc.Application2.BylineTitle"),
    F("copyright", str, "Xmp.dc.rights", "Iptc.Application2.Copyright", "Exif.Image.Copyright"),
    F("credit", str, "Xmp.photoshop.Credit", "Iptc.Application2.Credit"),
    F("source", str, "Xmp.photoshop.Source", "Iptc.Application2.Source"),
    F("instructions", str, "Xmp.photoshop.Instructions", "Iptc.Application2.SpecialInstructions"),
    F("usage_terms", str, "Xmp.xmpRights.UsageTerms", "Xmp.xmpRights.RightsUsageTerms"),
    F("web_statement", str, "Xmp.xmpRights.WebStatement"),
    F("caption_writer", str, "Xmp.photoshop.CaptionWriter", "Iptc.Application2.Writer"),
    F("job_id", str, "Xmp.photoshop.TransmissionReference", "Iptc.Application2.TransmissionReference"),
    F("category", str, "Xmp.photoshop.Category", "Iptc.Application2.Category"),
    F(
        "supplemental_categories",
        list,
        "Xmp.photoshop.SupplementalCategories",
        "Iptc.Application2.SuppCategory",
        convert=to_text_list,
    ),
    F("urgency", int, "Xmp.photoshop.Urgency", "Iptc.Application2.Urgency", convert=_bounded(to_int, 0, 9)),
    F("intellectual_genre", str, "Xmp.iptc.IntellectualGenre", "Iptc.Application2.ObjectAttribute"),
    F("scene_codes", list, "Xmp.iptc.Scene", convert=to_text_list),
    F("subject_codes", list, "Xmp.iptc.SubjectCode", "Iptc.Application2.Subject", convert=to_text_list),
    F("event", str, "Xmp.iptcExt.Event"),
    F("persons_shown", list, "Xmp.iptcExt.PersonInImage", convert=to_text_list),
    D("face_names", list, *FACE_NAME_PATTERNS, doc="names of tagged face/person regions (MWG, Microsoft)"),
    F(
        "digital_source_type",
        str,
        "Xmp.iptcExt.DigitalSourceType",
        convert=to_url_code,
        doc='IPTC code, e.g. "digitalCapture", "trainedAlgorithmicMedia" (AI-generated)',
    ),
    F("model_release_status", str, "Xmp.plus.ModelReleaseStatus", convert=to_url_code),
    F("property_release_status", str, "Xmp.plus.PropertyReleaseStatus", convert=to_url_code),
    # --- location (IPTC Core "location shown" legacy fields) ---
    F("city", str, "Xmp.photoshop.City", "Iptc.Application2.City"),
    F("state", str, "Xmp.photoshop.State", "Iptc.Application2.ProvinceState"),
    F("country", str, "Xmp.photoshop.Country", "Iptc.Application2.CountryName"),
    F("country_code", str, "Xmp.iptc.CountryCode", "Iptc.Application2.CountryCode"),
    F("sublocation", str, "Xmp.iptc.Location", "Iptc.Application2.SubLocation"),
    # --- GPS ---
    D("gps_lat", float, *GPS_LAT_KEYS, doc="signed decimal degrees, north positive"),
    D("gps_lon", float, *GPS_LON_KEYS, doc="signed decimal degrees, east positive"),
    D("gps_alt", float, *GPS_ALT_KEYS, doc="metres, negative below sea level"),
    F(
        "gps_direction",
        float,
        "Exif.GPSInfo.GPSImgDirection",
        "Xmp.exif.GPSImgDirection",
        convert=_bounded(to_float, 0, 360, digits=2),
        doc="degrees the camera pointed",
    ),
    F(
        "gps_direction_ref",
        str,
        "Exif.GPSInfo.GPSImgDirectionRef",
        "Xmp.exif.GPSImgDirectionRef",
        convert=to_direction_ref,
    ),
    D("gps_speed", float, *GPS_SPEED_KEYS, doc="km/h"),
    F(
        "gps_track",
        float,
        "Exif.GPSInfo.GPSTrack",
        "Xmp.exif.GPSTrack",
        convert=_bounded(to_float, 0, 360, digits=2),
        doc="direction of movement, degrees",
    ),
    F("gps_map_datum", str, "Exif.GPSInfo.GPSMapDatum", "Xmp.exif.GPSMapDatum"),
    F(
        "gps_dop",
        float,
        "Exif.GPSInfo.GPSDOP",
        "Xmp.exif.GPSDOP",
        convert=_bounded(to_float, 0, 10_000, digits=2),
    ),
    F(
        "gps_satellites",
        str,
        "Exif.GPSInfo.GPSSatellites",
        "Xmp.exif.GPSSatellites",
    ),
    D("gps_timestamp", str, *GPS_TIME_KEYS, doc="UTC time of the GPS fix, ISO 8601"),
    # --- software and provenance ---
    F("software", str, "Exif.Image.Software", "Xmp.tiff.Software"),
    F("creator_tool", str, "Xmp.xmp.CreatorTool"),
    F("host_computer", str, "Exif.Image.HostComputer"),
    F("artist", str, "Exif.Image.Artist", "Xmp.tiff.Artist", "Exif.Image.XPAuthor"),
    F("image_description", str, "Exif.Image.ImageDescription", "Exif.Image.XPSubject"),
    F(
        "user_comment",
        str,
        "Exif.Photo.UserComment",
        "Xmp.exif.UserComment",
        "Exif.Image.XPComment",
        convert=to_user_comment,
    ),
    F("image_unique_id", str, "Exif.Photo.ImageUniqueID"),
    F("document_id", str, "Xmp.xmpMM.DocumentID"),
    F("original_document_id", str, "Xmp.xmpMM.OriginalDocumentID", doc="links an export to its original"),
    F(
        "original_file_name",
        str,
        "Exif.Image.OriginalRawFileName",
        "Xmp.crs.RawFileName",
        doc="the raw file an export or DNG came from",
    ),
    # --- reader bookkeeping ---
    D("metadata_sources", list, doc='blocks that held data: "exif", "iptc", "xmp", "sidecar"'),
    D("sidecar_file", str, doc="file name of the XMP sidecar that was read"),
)

FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
