"""Agreement with ExifTool, field by field, over every photo and sidecar in ../shared/data.

ExifTool (`exiftool -j -n -G`) is the reference reader. Each photo is read by the indexer's worker (`process`:
`read_metadata(path, sidecar=None)` + the decoder's displayed size: the content record the index stores) and each XMP sidecar by `read_sidecar_fields` (what it does with a
sidecar), then compared where both have a value. Every difference, and every value ExifTool has and we do
not, must be explained, with a reason, in
`exiftool_known_differences.toml` (file → field → reason); the test fails on an unexplained difference, on a
stale entry (one that no longer differs), below 99 % agreement, and on any file where ExifTool reads camera data
(Make, Model or DateTimeOriginal) and our record has none.

ExifTool keeps every copy of a value (EXIF, IPTC, XMP, maker notes); we keep one per field. For text fields our
value agrees when it equals any of ExifTool's copies (`Spec.tags`); numbers and dates are compared with the
first copy ExifTool has, in the priority order our field table uses.

Displayed width/height (`displayed_size`) are compared like the other fields: ExifTool's File:ImageWidth/Height
swapped for orientations 5–8, against the record the indexer's worker stores (the decoder's size, or the
metadata's after orientation when decoding fails).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bridge.indexing.worker import Job, process
from bridge.metadata.sidecar import read_sidecar_fields

KNOWN = Path(__file__).with_name("exiftool_known_differences.toml")
PHOTO_EXTENSIONS = {
    ".jpg", ".jpeg", ".heic", ".heif", ".hif", ".avif", ".png", ".webp", ".tif", ".tiff",
    ".cr2", ".cr3", ".crw", ".nef", ".raf", ".rw2", ".mrw", ".x3f", ".dng", ".kdc", ".gpr",
}  # fmt: skip
MIN_AGREEMENT = 0.99

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="ExifTool is not installed")


# --------------------------------------------------------------------------------------------
# Normalizing both sides
# --------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text or None


def _texts(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [t for v in values if (t := _text(v))]


def _number(value: Any) -> float | None:
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        number = float(str(value).split()[0])
    except (ValueError, IndexError):
        return None
    return number if math.isfinite(number) else None


_DATE = re.compile(
    r"^(\d{4})[:-](\d\d)[:-](\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d))?(\.\d+)?)?\s*(Z|[+-]\d\d:?\d\d)?$"
)


@dataclass(frozen=True)
class When:
    local: datetime
    subsec: float | None
    offset: timedelta | None
    has_time: bool

    def agrees(self, other: When) -> bool:
        if not (self.has_time and other.has_time):
            return self.local.date() == other.local.date()
        if self.offset is not None and other.offset is not None:  # both instants: compare in UTC
            a = self.local - self.offset
            b = other.local - other.offset
        else:  # at least one is wall-clock time only: compare the wall clock
            a, b = self.local, other.local
        if a != b:
            return False
        if self.subsec is not None and other.subsec is not None:
            return abs(self.subsec - other.subsec) < 0.0015
        return True


def _when(value: Any) -> When | None:
    text = _text(value)
    match = _DATE.match(text or "")
    if not match:
        return None
    y, mo, d, h, mi, s, frac, tz = match.groups()
    try:
        local = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError:
        return None
    offset = None
    if tz == "Z":
        offset = timedelta(0)
    elif tz:
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return When(local, float(frac) if frac else None, offset, has_time=h is not None)


# --------------------------------------------------------------------------------------------
# The compared fields: our payload field, ExifTool's tags (-G group:name) in priority order, a comparison
# --------------------------------------------------------------------------------------------


def _same_text(ours: Any, theirs: list[Any]) -> bool:
    mine = _text(ours)
    for value in theirs:
        if mine == _text(value):
            return True
        # ExifTool's JSON writes number-like text as a number ("1.00" -> 1.0): compare those as numbers
        if isinstance(value, int | float) and not isinstance(value, bool) and _number(mine) == value:
            return True
    return False


def _same_number(tolerance: float) -> Callable[[Any, list[Any]], bool]:
    def same(ours: Any, theirs: list[Any]) -> bool:
        a, b = _number(ours), _number(theirs[0])
        return a is not None and b is not None and math.isclose(a, b, rel_tol=tolerance, abs_tol=1e-6)

    return same


def _same_degrees(ours: Any, theirs: list[Any]) -> bool:
    a, b = _number(ours), _number(theirs[0])
    return a is not None and b is not None and abs(a - b) < 1e-5


def _same_instant(ours: Any, theirs: list[Any]) -> bool:
    a, b = _when(ours), _when(theirs[0])
    return a is not None and b is not None and a.agrees(b)


def _same_set(ours: Any, theirs: list[Any]) -> bool:
    mine = {t.casefold() for t in _texts(ours)}
    reference = {t.casefold() for value in theirs for t in _texts(value)}
    return mine == reference


@dataclass(frozen=True)
class Spec:
    field: str
    tags: tuple[str, ...]
    same: Callable[[Any, list[Any]], bool] = _same_text
    every_tag: bool = False  # the reference is the union of all the tags (keywords), not the first present


def _keywords_reference(tags: dict[str, Any]) -> list[Any]:
    values: list[Any] = []
    for key in ("XMP:Subject", "IPTC:Keywords"):
        values.extend(_texts(tags.get(key)))
    for text in _texts(tags.get("EXIF:XPKeywords")):
        values.extend(t for t in (p.strip() for p in text.split(";")) if t)
    for text in _texts(tags.get("XMP:HierarchicalSubject")):
        values.append(text.rsplit("|", 1)[-1])
    return values


SPECS = (
    Spec("camera_make", ("EXIF:Make", "XMP:Make", "MakerNotes:Make")),
    Spec("camera_model", ("EXIF:Model", "XMP:Model", "EXIF:UniqueCameraModel", "MakerNotes:Model")),
    Spec("lens", ("EXIF:LensModel", "XMP:LensModel", "XMP:Lens", "MakerNotes:LensModel")),
    Spec("focal_length", ("EXIF:FocalLength", "XMP:FocalLength"), _same_number(0.01)),
    Spec(
        "focal_length_35mm", ("EXIF:FocalLengthIn35mmFormat", "XMP:FocalLengthIn35mmFormat"), _same_number(0)
    ),
    Spec(
        "aperture",
        ("EXIF:FNumber", "XMP:FNumber", "EXIF:ApertureValue", "XMP:ApertureValue"),
        _same_number(0.01),
    ),
    Spec(
        "exposure_time",
        ("EXIF:ExposureTime", "XMP:ExposureTime", "EXIF:ShutterSpeedValue", "XMP:ShutterSpeedValue"),
        _same_number(0.01),
    ),
    Spec(
        "iso",
        ("EXIF:ISO", "XMP:ISO", "XMP:ISOSpeedRatings", "EXIF:RecommendedExposureIndex"),
        _same_number(0),
    ),
    Spec(
        "captured_at",
        (
            "Composite:SubSecDateTimeOriginal",
            "EXIF:DateTimeOriginal",
            "XMP:DateTimeOriginal",
            "XMP:DateCreated",
            "Composite:DateTimeCreated",
            "IPTC:DateCreated",
            "EXIF:CreateDate",
            "XMP:CreateDate",
        ),
        _same_instant,
    ),
    Spec("gps_lat", ("Composite:GPSLatitude", "XMP:GPSLatitude"), _same_degrees),
    Spec("gps_lon", ("Composite:GPSLongitude", "XMP:GPSLongitude"), _same_degrees),
    Spec("orientation", ("EXIF:Orientation", "XMP:Orientation"), _same_number(0)),
    Spec("rating", ("XMP:Rating", "EXIF:Rating"), _same_number(0)),
    Spec("label", ("XMP:Label",)),
    Spec("title", ("XMP:Title", "IPTC:ObjectName", "EXIF:XPTitle")),
    Spec("caption", ("XMP:Description", "IPTC:Caption-Abstract", "EXIF:ImageDescription")),
    Spec(
        "keywords",
        ("XMP:Subject", "IPTC:Keywords", "EXIF:XPKeywords", "XMP:HierarchicalSubject"),
        _same_set,
        True,
    ),
    Spec("creator", ("XMP:Creator", "IPTC:By-line", "EXIF:Artist", "EXIF:XPAuthor")),
    Spec("copyright", ("XMP:Rights", "IPTC:CopyrightNotice", "EXIF:Copyright")),
    Spec(
        "serial_number",
        ("EXIF:SerialNumber", "XMP:SerialNumber", "EXIF:CameraSerialNumber", "MakerNotes:SerialNumber"),
    ),
    Spec("software", ("EXIF:Software", "XMP:Software")),
)
CAMERA_TAGS = (
    "EXIF:Make",
    "EXIF:Model",
    "EXIF:DateTimeOriginal",
    "XMP:Make",
    "XMP:Model",
    "XMP:DateTimeOriginal",
)
CAMERA_FIELDS = ("camera_make", "camera_model", "captured_at")


def _reference(spec: Spec, tags: dict[str, Any]) -> list[Any]:
    if spec.every_tag:
        return _keywords_reference(tags)
    return [tags[t] for t in spec.tags if _text(tags.get(t)) is not None]


# --------------------------------------------------------------------------------------------
# Running both readers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compared:
    agreed: int
    differences: dict[tuple[str, str], str]  # (file, field) -> "ours … | exiftool …", both have a value
    missing: dict[tuple[str, str], str]  # ExifTool has a value, we have none: explained too, not in the ratio
    camera_lost: list[str]
    size_checked: int
    size_agreed: int
    files: int


def _targets(root: Path) -> list[Path]:
    photos = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_EXTENSIONS]
    sidecars = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".xmp"]
    return sorted(photos + sidecars)


def _exiftool(paths: list[Path]) -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        ["exiftool", "-j", "-n", "-G", "-charset", "filename=utf8", *map(str, paths)],
        capture_output=True,
        check=False,  # exits 1 when some files are unreadable; the JSON still lists every file
        timeout=300,
    )
    rows = json.loads(done.stdout.decode("utf-8"))
    return {str(Path(row["SourceFile"])): row for row in rows}


def _ours(path: Path) -> dict[str, Any]:
    """What the index stores for the file: a sidecar's fields, or the content record the indexer's worker makes
    (read_metadata, then the displayed size from the decoder, or from the metadata after orientation)."""
    if path.suffix.lower() == ".xmp":
        return read_sidecar_fields(path)
    job = Job(path=str(path), fingerprint="", want_metadata=True, want_pixels=False, want_bitmap=True)
    return dict(process(job).metadata or {})


def _displayed_size(tags: dict[str, Any]) -> tuple[int, int] | None:
    width, height = _number(tags.get("File:ImageWidth")), _number(tags.get("File:ImageHeight"))
    if not width or not height:
        return None
    orientation = _number(tags.get("EXIF:Orientation")) or 1
    return (int(height), int(width)) if 5 <= orientation <= 8 else (int(width), int(height))


@pytest.fixture(scope="module")
def compared(shared_data: Path) -> Compared:
    targets = _targets(shared_data)
    reference = _exiftool(targets)
    agreed = size_checked = size_agreed = 0
    differences: dict[tuple[str, str], str] = {}
    missing: dict[tuple[str, str], str] = {}
    camera_lost: list[str] = []
    for path in targets:
        rel = path.relative_to(shared_data).as_posix()
        tags = reference.get(str(path), {})
        ours = _ours(path)
        for spec in SPECS:
            theirs = _reference(spec, tags)
            mine = ours.get(spec.field)
            if not theirs:
                continue
            if mine is None or mine == [] or mine == "":
                missing[(rel, spec.field)] = f"ours none | exiftool {theirs!r}"
                continue
            if spec.same(mine, theirs):
                agreed += 1
            else:
                differences[(rel, spec.field)] = f"ours {mine!r} | exiftool {theirs!r}"
        if any(_text(tags.get(t)) for t in CAMERA_TAGS) and not any(ours.get(f) for f in CAMERA_FIELDS):
            camera_lost.append(rel)
        size = _displayed_size(tags)
        if size and "width" in ours and "height" in ours:
            size_checked += 1
            mine_size = (ours["width"], ours["height"])
            if size == mine_size:
                size_agreed += 1
                agreed += 1
            else:
                differences[(rel, "displayed_size")] = f"ours {mine_size!r} | exiftool {size!r}"
    return Compared(agreed, differences, missing, camera_lost, size_checked, size_agreed, len(targets))


def _known() -> dict[tuple[str, str], str]:
    table = tomllib.loads(KNOWN.read_text(encoding="utf-8"))
    return {(file, field): reason for file, fields in table.items() for field, reason in fields.items()}


# --------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------


def test_every_difference_is_explained(compared: Compared) -> None:
    found = {**compared.differences, **compared.missing}
    unexplained = {k: v for k, v in found.items() if k not in _known()}
    listing = "\n".join(
        f'["{f}"] {field} = "…"  # {what}' for (f, field), what in sorted(unexplained.items())
    )
    assert not unexplained, f"differences from ExifTool not in {KNOWN.name}:\n{listing}"


def test_no_stale_known_differences(compared: Compared) -> None:
    stale = sorted(k for k in _known() if k not in compared.differences and k not in compared.missing)
    assert not stale, f"entries in {KNOWN.name} that no longer differ (remove them): {stale}"


def test_known_differences_have_reasons() -> None:
    empty = sorted(k for k, reason in _known().items() if len(reason.strip()) < 15)
    assert not empty, f"every known difference needs a reason: {empty}"


def test_agreement_is_at_least_99_percent(compared: Compared, capsys: pytest.CaptureFixture[str]) -> None:
    total = compared.agreed + len(compared.differences)
    assert total > 500, "too few values compared: is ExifTool reading the files?"
    share = compared.agreed / total
    with capsys.disabled():
        print(
            f"\nExifTool agreement: {compared.agreed}/{total} = {share:.2%} over {compared.files} files "
            f"({len(compared.differences)} differences, {len(compared.missing)} values only ExifTool has, each "
            f"explained); displayed size {compared.size_agreed}/{compared.size_checked}"
        )
    assert share >= MIN_AGREEMENT


def test_no_file_loses_its_camera_data(compared: Compared) -> None:
    assert compared.camera_lost == [], "ExifTool reads Make/Model/DateTimeOriginal, our record has none"


def test_date_comparison_is_an_instant_where_offsets_are_known() -> None:
    """The comparison itself: same instant in two zones agrees, a different hour does not."""
    a = _when("2021:04:11 15:47:53.054-05:00")
    b = _when("2021-04-11T22:47:53.054+02:00")
    c = _when("2021-04-11T15:47:53")
    assert a is not None and b is not None and c is not None
    assert a.agrees(b)
    assert a.agrees(c)  # wall clock only on one side: the wall clock is compared
    assert not b.agrees(c)
    assert datetime(2021, 4, 11, 20, 47, 53, tzinfo=UTC) == a.local.replace(
        tzinfo=timezone(a.offset or timedelta())
    )
