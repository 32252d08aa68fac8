"""Words and numbers as a photographer reads them: capture dates in the locale ("3 May 2024, 14:02"),
durations ("4 min 10 s"), rates ("12.5 photos/s")."""

from __future__ import annotations

import os
from datetime import datetime

from PySide6.QtCore import QDate, QLocale, QTime


def parse_date(value: object) -> datetime | None:
    """An ISO date or date-time from the payload (`captured_at`), or None when it is not one."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def readable_date(value: object, locale: QLocale | None = None) -> str:
    """ "3 May 2024, 14:02" (day, month name and time in the locale's words and clock); the raw text when it
    is not a date; "" when empty. The capture time is shown as recorded (the camera's local time)."""
    dt = parse_date(value)
    if dt is None:
        return str(value or "")
    loc = locale or QLocale()
    day = loc.toString(QDate(dt.year, dt.month, dt.day), "d MMM yyyy")
    if len(str(value)) <= 10:  # a date without a time
        return day
    clock = loc.toString(QTime(dt.hour, dt.minute), QLocale.FormatType.ShortFormat)
    return f"{day}, {clock}"


def duration(seconds: float | None) -> str:
    """ "45 s", "4 min 10 s", "2 h 05 min"; "" when unknown."""
    if seconds is None or seconds < 0:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s // 60 % 60:02d} min"


def rate(per_second: float) -> str:
    return f"{per_second:.1f} photos/s" if per_second < 100 else f"{per_second:.0f} photos/s"


def home_path(path: str) -> str:
    """A path as the user knows it: their home folder as ~ (~/Pictures/Library/…)."""
    home = os.path.expanduser("~")
    if home and home != os.sep and path.startswith(home + os.sep):
        return "~" + path[len(home) :]
    return path
