"""Read photo metadata (EXIF, IPTC, XMP and an XMP sidecar) into a flat, typed payload dict.

`read_metadata(path)` returns the fields of `bridge.metadata.fields.FIELDS` that the photo has:
JSON-serializable values only (str, int, float, bool, list[str], and the `field_sources` map); a missing
field is absent, never None. Metadata degrades, it does not disappear: when Exiv2 rejects the file or
one of its blocks, the fallback readers (`bridge.metadata.fallback`) look for EXIF and XMP on their
own, and `field_sources` names the reader of each field they supplied. `MetadataError` (plain words)
only when no reader finds anything in a file Exiv2 cannot open (empty, not an image); OSError
(missing, permission) propagates unchanged so the caller can name the real reason.

Exiv2 access (one lock for every pyexiv2 call, photos opened from their bytes, nothing written) is
in `bridge.metadata.exiv2`; sidecars (which file, reading it, what it overrides) in
`bridge.metadata.sidecar`; the field table in `bridge.metadata.fields`, its converters in
`bridge.metadata.convert`. This module extracts the table's fields, derives the ones built from
several keys at once (camera name, shutter, keywords, face names, GPS, dates) and types the result.

Capture time: `captured_at` is the first valid candidate of `CAPTURE_DATE_KEYS` (EXIF
DateTimeOriginal with SubSecTimeOriginal and OffsetTimeOriginal first), as ISO 8601 local time.
When that candidate has no UTC offset but another date tag with the same wall-clock time has one
(Lightroom's XMP copies often do), that offset is used. IPTC offsets are never trusted: the
format requires one, so writers fill in +0000 or their computer's zone when they do not know it. `captured_ts` is POSIX seconds:
real UTC when `capture_tz_known`, otherwise the local wall-clock time read as if it were UTC
(stable and sortable, but up to ±14 h off true UTC). A GPS timestamp (always UTC) is the last
resort when no other date exists (date parsing: `bridge.metadata.dates`).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from bridge.files.formats import limits_for
from bridge.files.paths import read_regular
from bridge.metadata import exiv2, fallback
from bridge.metadata.clean import CLEANED_FIELDS, is_placeholder
from bridge.metadata.codes import GPS_SPEED_TO_KMH
from bridge.metadata.convert import (
    all_texts,
    dms_to_degrees,
    first_text,
    gps_time_of_day,
    rational_seconds_text,
    shutter_text,
    to_float,
    xmp_gps_hemisphere,
)
from bridge.metadata.dates import Stamp, best_stamp, candidates_from, parse_datetime
from bridge.metadata.fields import (
    CAPTURE_DATE_KEYS,
    CREATE_DATE_KEYS,
    FACE_NAME_PATTERNS,
    FIELDS,
    FIELDS_BY_NAME,
    FLAT_KEYWORD_KEYS,
    MAKE_KEYS,
    METADATA_DATE_KEYS,
    MODEL_KEYS,
    MODIFY_DATE_KEYS,
    PATH_KEYWORD_KEYS,
)
from bridge.metadata.sidecar import choose_sidecar, merge_sidecar, read_sidecar
from bridge.records import MetadataError

log = logging.getLogger(__name__)

__all__ = [
    "camera_name",
    "extract_fields",
    "field_names",
    "read_metadata",
]


def field_names() -> list[str]:
    """Every payload field `read_metadata` can return, in table order."""
    return [f.name for f in FIELDS]


def read_metadata(
    path: str | Path,
    *,
    sidecar: str | Path | None | Literal["auto"] = "auto",
    data: bytes | None = None,
) -> dict[str, Any]:
    """The metadata payload of one photo (see the module docstring).

    `data`: the file's bytes when the caller already has them (decode workers), to avoid a
    second read. `sidecar`: "auto" (look next to the file), an explicit path, or None.
    """
    path = Path(path)
    if data is None:
        # Only a regular file, never above its format's size cap (a FIFO would hang, a 1 GB file cost GBs).
        data = read_regular(path, limits_for(path).max_bytes)
    if not data:
        raise MetadataError("empty file (0 bytes): there is no metadata to read")
    readings, error = _readings(data)
    if error is not None and not readings:
        raise error
    merged: dict[str, Any] = {}
    for _, raw in reversed(readings):  # earlier readers win key by key
        merged.update(raw)
    fields = extract_fields(merged)
    sources = [name for name, prefix in _BLOCK_PREFIXES if any(k.startswith(prefix) for k in merged)]
    origin = _field_sources(fields, readings)

    sidecar_path = choose_sidecar(path, sidecar)
    if sidecar_path is not None:
        sidecar_xmp = read_sidecar(sidecar_path)
        if sidecar_xmp:
            before = fields
            fields = merge_sidecar(fields, extract_fields(sidecar_xmp))
            origin.update({k: "sidecar" for k, v in fields.items() if before.get(k) != v})
            fields["sidecar_file"] = sidecar_path.name
            sources.append("sidecar")
    fields["metadata_sources"] = sources
    if origin:
        fields["field_sources"] = {k: v for k, v in origin.items() if k in fields and k not in _BOOKKEEPING}
    return _typed(fields)


_BLOCK_PREFIXES = (("exif", "Exif."), ("iptc", "Iptc."), ("xmp", "Xmp."))
_BOOKKEEPING = frozenset({"metadata_sources", "sidecar_file", "field_sources"})
# Fallback readers (bridge.metadata.fallback), tried for a block Exiv2 did not deliver: the first EXIF
# reader that finds something wins; the XMP scan runs when Exiv2 found no XMP.
_EXIF_FALLBACKS: tuple[tuple[str, Callable[[bytes], dict[str, Any]]], ...] = (
    ("pillow-exif", fallback.pillow_exif),
    ("container-exif", fallback.container_exif),
)


def _readings(data: bytes) -> tuple[list[tuple[str, dict[str, Any]]], MetadataError | None]:
    """(source, raw Exiv2 keys) per reader that found something, main reader first, and Exiv2's error
    when it could not open the file at all."""
    readings: list[tuple[str, dict[str, Any]]] = []
    error: MetadataError | None = None
    have_exif = have_xmp = False
    try:
        blocks, file_info = exiv2.read_image(data)
    except MetadataError as exc:
        error = exc
    else:
        readings.append(("exiv2", {**blocks["exif"], **blocks["iptc"], **blocks["xmp"], **file_info}))
        have_exif, have_xmp = bool(blocks["exif"]), bool(blocks["xmp"])
    if not have_exif:
        for source, reader in _EXIF_FALLBACKS:
            raw = _best_effort(source, reader, data)
            if raw:
                readings.append((source, raw))
                break
    if not have_xmp:
        raw = _best_effort("xmp-scan", fallback.scan_xmp, data)
        if raw:
            readings.append(("xmp-scan", raw))
    return readings, error


def _best_effort(source: str, reader: Callable[[bytes], dict[str, Any]], data: bytes) -> dict[str, Any]:
    try:
        return reader(data)
    except Exception:  # noqa: BLE001 - a fallback reader must never cost the photo its decode and index
        log.warning("the %s metadata reader failed on this file; it is indexed without it", source)
        log.debug("%s failure", source, exc_info=True)
        return {}


def _field_sources(fields: Mapping[str, Any], readings: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """field → reader, for the fields a fallback reader supplied (absent: Exiv2 read the file itself)."""
    if not readings or (len(readings) == 1 and readings[0][0] == "exiv2"):
        return {}
    if len(readings) == 1:
        return {name: readings[0][0] for name in fields}
    per_reader = [(source, extract_fields(raw)) for source, raw in readings]
    origin: dict[str, str] = {}
    for name, value in fields.items():
        having = [source for source, found in per_reader if name in found]
        exact = [source for source, found in per_reader if found.get(name) == value]
        source = (exact or having or [readings[0][0]])[0]
        if source != "exiv2":
            origin[name] = source
    return origin


# --------------------------------------------------------------------------------------------
# Field extraction
# --------------------------------------------------------------------------------------------


def extract_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Payload fields from raw Exiv2 key/value pairs (no file access; usable on any raw dict)."""
    out: dict[str, Any] = {}
    make, model = _first_text_of(raw, MAKE_KEYS), _first_text_of(raw, MODEL_KEYS)
    for f in FIELDS:
        if f.derived:
            continue
        pairs = f.pairs
        if f.name in CLEANED_FIELDS:  # "OLYMPUS DIGITAL CAMERA" is skipped: the next source may be real
            pairs = tuple((key, _unless_placeholder(convert, make, model)) for key, convert in pairs)
        value = _first_valid(raw, pairs)
        if value is not None:
            out[f.name] = value
    for derive in _DERIVATIONS:
        derive(raw, out)
    return out


def _unless_placeholder(
    convert: Callable[[Any], Any], make: str | None, model: str | None
) -> Callable[[Any], Any]:
    def converted(value: Any) -> Any:
        text = convert(value)
        return None if isinstance(text, str) and is_placeholder(text, make, model) else text

    return converted


def _first_valid(raw: Mapping[str, Any], pairs: Iterable[tuple[str, Callable[[Any], Any]]]) -> Any:
    for key, convert in pairs:
        if key not in raw:
            continue
        try:
            value = convert(raw[key])
        except (ValueError, TypeError, ArithmeticError) as exc:  # malformed: skip, never raise
            log.debug("skipping malformed %s=%r: %s", key, raw[key], exc)
            continue
        if value is not None and value != [] and value != "":
            return value
    return None


def _derive_camera(raw: Mapping[str, Any], out: dict[str, Any]) -> None:
    make = _first_text_of(raw, MAKE_KEYS)
    model = _first_text_of(raw, MODEL_KEYS)
    name = camera_name(make, model)
    if name:
        out["camera"] = name


# Corporate words that make "NIKON CORPORATION" or "CASIO COMPUTER CO.,LTD." long.
_CORPORATE = frozenset(
    [
        "corporation",
        "corp",
        "co",
        "ltd",
        "limited",
        "company",
        "inc",
        "imaging",
        "computer",
        "camera",
        "optical",
        "gmbh",
        "ag",
    ]
)


def camera_name(make: str | None, model: str | None) -> str | None:
    """Make and model as one name without repeating the brand.

    ("Canon", "Canon EOS 600D") -> "Canon EOS 600D"; ("NIKON CORPORATION", "NIKON D70") ->
    "NIKON D70"; ("OLYMPUS IMAGING CORP.", "E-P3") -> "OLYMPUS E-P3".
    """
    make = (make or "").strip()
    model = (model or "").strip()
    if not model:
        return make or None
    if not make:
        return model
    words = re.findall(r"[^\s,]+", make)
    brand_words = [w for w in words if w.lower().rstrip(".") not in _CORPORATE] or words
    brand = " ".join(brand_words)
    model_first = model.split()[0].casefold()
    if model.casefold().startswith(brand.casefold()) or model_first in {w.casefold() for w in brand_words}:
        return model
    return f"{brand} {model}"


def _first_text_of(raw: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    for key in keys:
        text = first_text(raw.get(key))
        if text:
            return text
    return None


def _derive_shutter(raw: Mapping[str, Any], out: dict[str, Any]) -> None:
    seconds = out.get("exposure_time")
    if seconds:
        out["shutter"] = shutter_text(seconds)


def _derive_keywords(raw: Mapping[str, Any], out: dict[str, Any]) -> None:
    paths = _dedupe(
        path
        for key, separator in PATH_KEYWORD_KEYS
        for text in all_texts(raw.get(key))
        if (path := normalize_keyword_path(text, separator))
    )
    flat: list[str] = []
    for key in FLAT_KEYWORD_KEYS:
        texts = all_texts(raw.get(key))
        if key == "Exif.Image.XPKeywords":  # Windows stores one ';'-separated string
            texts = [t.strip() for text in texts for t in text.split(";")]
        flat.extend(texts)
    keywords = _dedupe([*flat, *(p.rsplit("|", 1)[-1] for p in paths)])
    if keywords:
        out["keywords"] = keywords
    if paths:
        out["keyword_paths"] = paths


def normalize_keyword_path(text: str, separator: str = "|") -> str | None:
    """A hierarchical keyword as "A|B|C": trimmed components, empty ones dropped."""
    parts = [p.strip() for p in text.split(separator)]
    parts = [p for p in parts if p]
    return "|".join(parts) if parts else None


def _dedupe(values: Iterable[str]) -> list[str]:
    """Case-insensitive de-duplication keeping the first spelling and order."""
    seen: set[str] = set()
    result = []
    for value in values:
        value = value.strip()
        folded = value.casefold()
        if value and folded not in seen:
            seen.add(folded)
            result.append(value)
    return result


def _derive_face_names(raw: Mapping[str, Any], out: dict[str, Any]) -> None:
    patterns = [re.compile(p) for p in FACE_NAME_PATTERNS]
    names = [
        text
        for key in sorted(raw, key=_natural_key)
        if any(p.match(key) for p in patterns) and (text := first_text(raw[key]))
    ]
    if names:
        out["face_names"] = _dedupe(names)


def _natural_key(key: str) -> list[Any]:
    # RegionList[10] after RegionList[9]
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]


# --- GPS ---


def _derive_gps(raw: Mapping[str, Any], out: dict[str, Any]) -> None:
    lat = _coordinate(raw, "Latitude", "SN", 90)
    lon = _coordinate(raw, "Longitude", "WE", 180)
    # (0, 0) is what receivers without a fix write; nobody photographs at "Null Island".
    if lat is not None and lon is not None and (lat, lon) != (0.0, 0.0):
        out["gps_lat"] = lat
        out["gps_lon"] = lon
    altitude = _gps_signed(raw, "GPSAltitude", "GPSAltitudeRef", below="1")
    if altitude is not None and -12_000 <= altitude <= 100_000:
        out["gps_alt"] = round(altitude, 2)
    speed = _gps_speed(raw)
    if speed is not None:
        out["gps_speed"] = speed
    stamp = _gps_timestamp(raw)
    if stamp is not None:
        out["gps_timestamp"] = stamp.iso()


def _coordinate(raw: Mapping[str, Any], axis: str, refs: str, limit: float) -> float | None:
    """Signed decimal degrees: EXIF rationals + N/S/E/W ref, else XMP "DD,MM.mmmX"."""
    exif_value = raw.get(f"Exif.GPSInfo.GPS{axis}")
    degrees = dms_to_degrees(exif_value)
    ref = first_text(raw.get(f"Exif.GPSInfo.GPS{axis}Ref"))
    if degrees is None:
        xmp_value = raw.get(f"Xmp.exif.GPS{axis}")
        degrees = dms_to_degrees(xmp_value)
        ref = xmp_gps_hemisphere(xmp_value) or first_text(raw.get(f"Xmp.exif.GPS{axis}Ref"))
    if degrees is None or degrees > limit:
        return None
    negative = ref is not None and ref[:1].upper() == refs[0]
    return round(-degrees if negative else degrees, 7)


def _gps_signed(raw: Mapping[str, Any], tag: str, ref_tag: str, *, below: str) -> float | None:
    for prefix in ("Exif.GPSInfo.", "Xmp.exif."):
        value = to_float(raw.get(prefix + tag))
        if value is not None:
            ref = first_text(raw.get(prefix + ref_tag))
            return -abs(value) if ref == below else value
    return None


def _gps_speed(raw: Mapping[str, Any]) -> float | None:
    for prefix in ("Exif.GPSInfo.", "Xmp.exif."):
        value = to_float(raw.get(prefix + "GPSSpeed"))
        if value is not None and 0 <= value < 100_000:
            ref = (first_text(raw.get(prefix + "GPSSpeedRef")) or "K").upper()
            return round(value * GPS_SPEED_TO_KMH.get(ref, 1.0), 2)
    return None


def _gps_timestamp(raw: Mapping[str, Any]) -> Stamp | None:
    day = parse_datetime(first_text(raw.get("Exif.GPSInfo.GPSDateStamp")))
    seconds = gps_time_of_day(raw.get("Exif.GPSInfo.GPSTimeStamp"))
    if day is not None and seconds is not None:
        whole = int(seconds)
        local = day.local.replace(hour=0, minute=0, second=0) + timedelta(seconds=whole)
        frac = rational_seconds_text(seconds - whole).partition(".")[2]
        return Stamp(local, frac, timedelta(0), has_time=True)
    stamp = parse_datetime(first_text(raw.get("Xmp.exif.GPSTimeStamp")))
    if stamp is not None and stamp.has_time:
        # XMP GPSTimeStamp is UTC by definition even when written without "Z".
        return stamp if stamp.offset is not None else replace(stamp, offset=timedelta(0))
    return None


# --- dates ---


def _derive_dates(raw: Mapping[str, Any], out: dict[str, Any]) -> None:
    every = candidates_from(raw, (*CAPTURE_DATE_KEYS, *MODIFY_DATE_KEYS))
    captured = best_stamp(candidates_from(raw, CAPTURE_DATE_KEYS), every)
    if captured is None:
        captured = _gps_timestamp(raw)
    if captured is not None:
        out["captured_at"] = captured.iso()
        out["captured_ts"] = captured.timestamp()
        out["capture_tz_known"] = captured.offset is not None
    for name, keys in (
        ("create_date", CREATE_DATE_KEYS),
        ("modify_date", MODIFY_DATE_KEYS),
        ("metadata_date", METADATA_DATE_KEYS),
    ):
        stamp = best_stamp(candidates_from(raw, keys), every)
        if stamp is not None:
            out[name] = stamp.iso()


_DERIVATIONS: tuple[Callable[[Mapping[str, Any], dict[str, Any]], None], ...] = (
    _derive_camera,
    _derive_shutter,
    _derive_keywords,
    _derive_face_names,
    _derive_gps,
    _derive_dates,
)


# --------------------------------------------------------------------------------------------
# Final typing: the payload contract (JSON types only, declared type per field)
# --------------------------------------------------------------------------------------------


def _typed(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Values coerced to their declared type; anything that does not fit is dropped."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        spec = FIELDS_BY_NAME.get(name)
        if spec is None:
            log.debug("dropping undeclared field %s", name)
            continue
        typed = _coerce(value, spec.type)
        if typed is not None:
            out[name] = typed
    return out


def _coerce(value: Any, kind: type) -> Any:
    if kind is bool:
        return value if isinstance(value, bool) else None
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
            return number if math.isfinite(number) else None
        return None
    if kind is list:
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else None
    if kind is dict:
        if not isinstance(value, Mapping):
            return None
        pairs = {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
        return pairs or None
    return value if isinstance(value, str) and value else None
