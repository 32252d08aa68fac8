"""Dates in photo metadata: EXIF, XMP/ISO 8601 and IPTC date text parsed into a `Stamp` (local
wall-clock time, sub-second digits, UTC offset if known), and the best capture-time candidate.

IPTC offsets are never trusted: the format requires one, so writers fill in +0000 or their computer's
zone when they do not know it. A candidate without an offset borrows one from another date tag that
records the same wall-clock second (Lightroom's XMP copies often have it).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bridge.metadata.convert import first_text


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
        seconds: float = calendar.timegm(self.local.timetuple())
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


def stamp_from(raw: Mapping[str, Any], keys: tuple[str, str | None, str | None]) -> Stamp | None:
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


def candidates_from(
    raw: Mapping[str, Any], keys: Iterable[tuple[str, str | None, str | None]]
) -> list[Stamp]:
    return [s for k in keys if (s := stamp_from(raw, k)) is not None]


def best_stamp(candidates: list[Stamp], others: list[Stamp]) -> Stamp | None:
    """The first candidate, with an offset borrowed from another tag recording the same wall-clock second
    when it has none. A date-only first candidate takes its time of day from a later candidate on the same
    day; a later candidate on another day never overrides it (IPTC DateCreated 2003-04-03 is when the
    photo was taken, a 2005 xmp:CreateDate when the file was made)."""
    best = candidates[0] if candidates else None
    if best is not None and not best.has_time:
        same_day = [s for s in candidates if s.has_time and s.local.date() == best.local.date()]
        best = same_day[0] if same_day else best
    if best is None or best.offset is not None or not best.has_time:
        return best
    for other in others:
        if other.offset is not None and other.has_time and other.local == best.local:
            return replace(best, offset=other.offset)
    return best
