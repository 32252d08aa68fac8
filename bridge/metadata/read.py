"""Read photo metadata (EXIF, IPTC, XMP and an XMP sidecar) into a flat, typed payload dict.

`read_metadata(path)` returns the fields of `bridge.metadata.fields.FIELDS` that the photo has:
JSON-serializable values only (str, int, float, bool, list[str]); a missing field is absent,
never None. It raises `MetadataError` when Exiv2 cannot read the file at all (empty, not an
image, truncated inside the header); OSError (missing, permission) propagates unchanged so the
caller can name the real reason.

Threads and processes: Exiv2's XMP parser is not thread-safe, so every pyexiv2 call runs under
one module-level lock. The file is read as bytes and opened with `pyexiv2.ImageData`: nothing is
ever written to the photo, and non-ASCII file names work on every platform.

Sidecars: with `sidecar="auto"` the first existing of `NAME.xmp`, `NAME.XMP`, `NAME.ext.xmp`,
`NAME.ext.XMP` next to the photo is read (Lightroom / Capture One replace the extension, darktable
and digiKam append to it). Its XMP values replace the embedded ones for rating, label, title,
caption and keywords (keywords and keyword paths as one group): they are what Lightroom wrote
last. For every other field the sidecar only fills gaps. Only the sidecar's XMP is used; the
EXIF/IPTC that Exiv2 synthesizes from it would duplicate the same values.

Capture time: `captured_at` is the first valid candidate of `CAPTURE_DATE_KEYS` (EXIF
DateTimeOriginal with SubSecTimeOriginal and OffsetTimeOriginal first), as ISO 8601 local time.
When that candidate has no UTC offset but another date tag with the same wall-clock time has one
(Lightroom's XMP copies often do), that offset is used. IPTC offsets are never trusted: the
format requires one, so writers fill in +0000 or their computer's zone when they do not know it. `captured_ts` is POSIX seconds:
real UTC when `capture_tz_known`, otherwise the local wall-clock time read as if it were UTC
(stable and sortable, but up to ±14 h off true UTC). A GPS timestamp (always UTC) is the last
resort when no other date exists.
"""

from __future__ import annotations

import calendar
import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pyexiv2

from bridge.files.formats import limits_for
from bridge.files.paths import read_regular
from bridge.metadata.fields import (
    CAPTURE_DATE_KEYS,
    CREATE_DATE_KEYS,
    FACE_NAME_PATTERNS,
    FIELDS,
    FIELDS_BY_NAME,
    FLAT_KEYWORD_KEYS,
    GPS_SPEED_TO_KMH,
    MAKE_KEYS,
    METADATA_DATE_KEYS,
    MODEL_KEYS,
    MODIFY_DATE_KEYS,
    PATH_KEYWORD_KEYS,
    all_texts,
    dms_to_degrees,
    first_text,
    gps_time_of_day,
    rational_seconds_text,
    shutter_text,
    to_float,
    xmp_gps_hemisphere,
)
from bridge.records import MetadataError

log = logging.getLogger(__name__)
SIDECAR_MAX_BYTES = 32 * 1024 * 1024  # real XMP sidecars are kilobytes; Lightroom's biggest a few MB

__all__ = [
    "SIDECAR_OVERRIDES",
    "camera_name",
    "extract_fields",
    "field_names",
    "merge_sidecar",
    "parse_datetime",
    "read_metadata",
    "sidecar_candidates",
]

# One lock for every pyexiv2 call in this process: Exiv2's XMP parser keeps global state.
_EXIV2_LOCK = threading.Lock()
_exiv2_ready = False

# Sidecar values that replace embedded ones (each tuple is replaced as a unit).
SIDECAR_OVERRIDES: tuple[tuple[str, ...], ...] = (
    ("rating",),
    ("label",),
    ("title",),
    ("caption",),
    ("keywords", "keyword_paths"),
)

# Exiv2's terse errors, in plain words for the ledger and the user.
_PLAIN_ERRORS = (
    ("unknown image type", "not an image format Exiv2 recognizes"),
    ("Failed to read input data", "the file could not be read (empty or unreadable)"),
    ("Failed to read image data", "the file ends before its metadata does (truncated)"),
    ("corrupted image metadata", "the metadata is corrupt or cut off"),
    ("not a valid", "the file structure is invalid"),
)


def field_names() -> list[str]:
    """Every payload field `read_metadata` can return, in table order."""
    return [f.name for f in FIELDS]


def sidecar_candidates(path: str | Path) -> list[Path]:
    """Sidecar file names for `path`, best first (existence is not checked).

    Lightroom/Capture One: `IMG_0001.xmp` (extension replaced); darktable/digiKam:
    `IMG_0001.CR2.xmp` (appended). Both cases of `.xmp`, since sidecars travel between
    case-sensitive and case-insensitive file systems.
    """
    p = Path(path)
    if p.suffix.lower() == ".xmp":
        return []
    stem = p.with_suffix("")
    return [
        stem.with_name(stem.name + ".xmp"),
        stem.with_name(stem.name + ".XMP"),
        p.with_name(p.name + ".xmp"),
        p.with_name(p.name + ".XMP"),
    ]


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
    blocks, file_info = _read_exiv2(data)
    raw: dict[str, Any] = {**blocks["exif"], **blocks["iptc"], **blocks["xmp"], **file_info}
    fields = extract_fields(raw)
    sources = [name for name in ("exif", "iptc", "xmp") if blocks[name]]

    sidecar_path = _choose_sidecar(path, sidecar)
    if sidecar_path is not None:
        sidecar_xmp = _read_sidecar(sidecar_path)
        if sidecar_xmp:
            fields = merge_sidecar(fields, extract_fields(sidecar_xmp))
            fields["sidecar_file"] = sidecar_path.name
            sources.append("sidecar")
    fields["metadata_sources"] = sources
    return _typed(fields)


# --------------------------------------------------------------------------------------------
# Exiv2 access (always under the lock)
# --------------------------------------------------------------------------------------------


def _ensure_exiv2() -> None:
    """One-time setup; call with the lock held."""
    global _exiv2_ready
    if not _exiv2_ready:
        # Level 4 mutes Exiv2: at the default level some maker notes ("Directory Canon with
        # 16740 entries considered invalid") raise instead of being skipped.
        pyexiv2.set_log_level(4)
        _exiv2_ready = True


def _read_exiv2(data: bytes) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    with _EXIV2_LOCK:
        _ensure_exiv2()
        try:
            image = pyexiv2.ImageData(data)
        except (RuntimeError, ValueError) as exc:
            raise MetadataError(_plain_error(exc)) from exc
        try:
            blocks = {name: _read_block(image, name) for name in ("exif", "iptc", "xmp")}
            file_info = _file_info(image)
        finally:
            image.close()
    return blocks, file_info


def _read_block(image: pyexiv2.Image, name: str) -> dict[str, Any]:
    reader: Callable[..., dict[str, Any]] = getattr(image, f"read_{name}")
    try:
        return reader(encoding="utf-8")
    except UnicodeDecodeError:
        # Some cameras and old Windows tools write Latin-1/CP1252 text. Latin-1 maps every byte,
        # so this read cannot fail; each value is then re-decoded on its own (UTF-8 first).
        return _repair_text(reader(encoding="latin-1"))
    except RuntimeError as exc:  # one unreadable block must not hide the others
        log.debug("exiv2 could not read the %s block: %s", name, exc)
        return {}


def _file_info(image: pyexiv2.Image) -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        info["File.PixelWidth"] = str(image.get_pixel_width())
        info["File.PixelHeight"] = str(image.get_pixel_height())
        info["File.MimeType"] = image.get_mime_type()
    except RuntimeError as exc:
        log.debug("exiv2 could not report the image size: %s", exc)
    return info


def _repair_text(value: Any) -> Any:
    """Undo a Latin-1 read value by value: UTF-8 if the bytes are UTF-8, else CP1252, else Latin-1."""
    if isinstance(value, str):
        raw = value.encode("latin-1")
        for encoding in ("utf-8", "cp1252"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
        return value
    if isinstance(value, list):
        return [_repair_text(v) for v in value]
    if isinstance(value, dict):
        return {_repair_text(k): _repair_text(v) for k, v in value.items()}
    return value


def _plain_error(exc: Exception) -> str:
    message = str(exc).strip()
    for needle, plain in _PLAIN_ERRORS:
        if needle.lower() in message.lower():
            return f"cannot read metadata: {plain} (exiv2: {message})"
    return f"cannot read metadata (exiv2: {message})"


# --------------------------------------------------------------------------------------------
# Sidecars
# --------------------------------------------------------------------------------------------


def _choose_sidecar(path: Path, sidecar: str | Path | None) -> Path | None:
    if sidecar is None:
        return None
    if sidecar == "auto":
        return next((c for c in sidecar_candidates(path) if c.is_file()), None)
    return Path(sidecar)


def _read_sidecar(path: Path) -> dict[str, Any]:
    """The XMP properties of a sidecar; {} when it cannot be read (the photo is still fine)."""
    try:
        data = read_regular(path, SIDECAR_MAX_BYTES)  # a FIFO or a 1 GB file named .xmp is never read
    except OSError as exc:
        log.warning("cannot read XMP sidecar %s: %s", path, exc)
        return {}
    for attempt in (data, _as_utf8(data)):
        if not attempt:
            continue
        try:
            with _EXIV2_LOCK:
                _ensure_exiv2()
                image = pyexiv2.ImageData(attempt)
                try:
                    return _read_block(image, "xmp")
                finally:
                    image.close()
        except (RuntimeError, ValueError) as exc:
            log.debug("exiv2 rejected sidecar %s: %s", path, exc)
    log.warning("ignoring unreadable XMP sidecar %s", path)
    return {}


def _as_utf8(data: bytes) -> bytes | None:
    """UTF-16/32 sidecars (some Windows tools write them) re-encoded as the UTF-8 Exiv2 detects."""
    boms = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")
    if not data.startswith(boms):
        return None
    encoding = "utf-32" if data.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")) else "utf-16"
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeError:
        return None


def merge_sidecar(embedded: Mapping[str, Any], sidecar: Mapping[str, Any]) -> dict[str, Any]:
    """Embedded fields with the sidecar's user-edited fields on top and its others filling gaps."""
    merged = dict(embedded)
    overridden: set[str] = set()
    for group in SIDECAR_OVERRIDES:
        if any(name in sidecar for name in group):
            for name in group:
                merged.pop(name, None)
                if name in sidecar:
                    merged[name] = sidecar[name]
            overridden.update(group)
    for name, value in sidecar.items():
        if name not in overridden:
            merged.setdefault(name, value)
    return merged


# --------------------------------------------------------------------------------------------
# Field extraction
# --------------------------------------------------------------------------------------------


def extract_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Payload fields from raw Exiv2 key/value pairs (no file access; usable on any raw dict)."""
    out: dict[str, Any] = {}
    for f in FIELDS:
        if f.derived:
            continue
        value = _first_valid(raw, f.pairs)
        if value is not None:
            out[f.name] = value
    for derive in _DERIVATIONS:
        derive(raw, out)
    return out


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


@dataclass(frozen=True, slots=True)
class Stamp:
    """A parsed date: naive local wall-clock time, sub-second digits, UTC offset if known."""

    local: datetime
    frac: str = ""
    offset: timedelta | None = None
    has_time: bool = True

    def iso(self) -> str:
        if not self.has_time:
            return self.local.strftime("%Y-%m-%d")
        text = self.local.strftime("%Y-%m-%dT%H:%M:%S")
        if self.frac:
            text += "." + self.frac
        if self.offset is not None:
            text += _format_offset(self.offset)
        return text

    def timestamp(self) -> float:
        seconds = calendar.timegm(self.local.timetuple())
        if self.frac:
            seconds += float("0." + self.frac)
        if self.offset is not None:
            seconds -= self.offset.total_seconds()
        return float(seconds)


_DATE_RE = re.compile(
    r"^(\d{4})[:\-/](\d{2})[:\-/](\d{2})"
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_OFFSET_RE = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def parse_datetime(text: str | None) -> Stamp | None:
    """EXIF ("2015:06:11 10:29:26"), XMP/ISO ("2015-06-11T10:29:26.69+02:00") or date-only text."""
    if not text:
        return None
    match = _DATE_RE.match(text.strip().replace("\x00", ""))
    if not match:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        local = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None  # "0000:00:00 00:00:00" and other impossible dates
    if local.year < 1800:
        return None
    return Stamp(local, (frac or "").rstrip("0"), parse_offset(zone), has_time=hour is not None)


def parse_offset(text: str | None) -> timedelta | None:
    if not text:
        return None
    text = text.strip()
    if text == "Z":
        return timedelta(0)
    match = _OFFSET_RE.match(text)
    if not match:
        return None
    sign, hours, minutes = match.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    if offset > timedelta(hours=14):
        return None
    return -offset if sign == "-" else offset


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _stamp_from(raw: Mapping[str, Any], keys: tuple[str, str | None, str | None]) -> Stamp | None:
    date_key, subsec_key, offset_key = keys
    stamp = parse_datetime(first_text(raw.get(date_key)))
    if stamp is None:
        return None
    if date_key.startswith("Iptc."):
        return _iptc_stamp(stamp, first_text(raw.get(offset_key)) if offset_key else None)
    if subsec_key and not stamp.frac:
        digits = (first_text(raw.get(subsec_key)) or "").strip()
        if digits.isdigit():
            stamp = replace(stamp, frac=digits.rstrip("0"))
    if offset_key and stamp.offset is None:
        stamp = replace(stamp, offset=parse_offset(first_text(raw.get(offset_key))))
    return stamp


def _iptc_stamp(day: Stamp, time_text: str | None) -> Stamp:
    """IPTC keeps date and time ("10:29:26+00:00") apart. Its offset is mandatory in the format,
    so writers fill in +00:00 or their computer's zone when they do not know the camera's
    (Capture One wrote -04:00 on a Utah photo whose GPS time says otherwise): never trusted."""
    match = re.match(r"^(\d{2}):?(\d{2}):?(\d{2})\s*([+-]\d{2}:?\d{2})?$", (time_text or "").strip())
    if not match:
        return day
    hour, minute, second, _zone = match.groups()
    try:
        local = day.local.replace(hour=int(hour), minute=int(minute), second=int(second))
    except ValueError:
        return day
    return Stamp(local, "", None, has_time=True)


def _candidates(raw: Mapping[str, Any], keys: Iterable[tuple[str, str | None, str | None]]) -> list[Stamp]:
    return [s for k in keys if (s := _stamp_from(raw, k)) is not None]


def _best_stamp(candidates: list[Stamp], others: list[Stamp]) -> Stamp | None:
    """The first candidate with a time (else the first date-only one), with an offset borrowed
    from another tag recording the same wall-clock second when it has none."""
    timed = [s for s in candidates if s.has_time]
    best = timed[0] if timed else (candidates[0] if candidates else None)
    if best is None or best.offset is not None or not best.has_time:
        return best
    for other in others:
        if other.offset is not None and other.has_time and other.local == best.local:
            return replace(best, offset=other.offset)
    return best


def _derive_dates(raw: Mapping[str, Any], out: dict[str, Any]) -> None:
    every = _candidates(raw, (*CAPTURE_DATE_KEYS, *MODIFY_DATE_KEYS))
    captured = _best_stamp(_candidates(raw, CAPTURE_DATE_KEYS), every)
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
        stamp = _best_stamp(_candidates(raw, keys), every)
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
    return value if isinstance(value, str) and value else None
