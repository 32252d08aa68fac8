"""Value converters for the metadata field table: raw pyexiv2 value in, typed value or None out.

Raw pyexiv2 values are strings (`"1/250"`, `"8 8 8"`), lists of strings (IPTC repeatable tags, XMP
bags and sequences) or dicts for XMP language alternatives (`{'lang="x-default"': "text"}`). Every
converter is a small pure function that returns None for a malformed value instead of raising, so a
broken tag in one place does not hide a good copy of it in another (`bridge.metadata.fields`).
`bounded` and `enum` make converters; `shutter_text` and `rational_seconds_text` format derived values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from bridge.metadata.codes import FLASH_MODES, GPS_DIRECTION_REFS

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


def to_first_word(value: Any) -> str | None:
    """The first word of a text: maker-note serial numbers stored as "171048961 2904205200"."""
    return _first_token(value)


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


def bounded(convert: Converter, low: float, high: float, *, digits: int | None = None) -> Converter:
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
    if len(numbers) != 4:
        return None
    focal_min, focal_max, f_min, f_max = numbers
    if focal_min is None or focal_min <= 0:
        return None
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
    numbers = [p for p in parts if p is not None and p >= 0]
    if len(numbers) != len(parts):  # a malformed or negative part
        return None
    degrees = sum(p / 60**i for i, p in enumerate(numbers))
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


def to_direction_ref(value: Any) -> str | None:
    text = first_text(value)
    return GPS_DIRECTION_REFS.get(text.upper()) if text else None
