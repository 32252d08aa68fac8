"""Filter-panel values → a `--where` expression (the same language as `pixel-detective search --where`),
so the window, the CLI and the plug-in filter photos identically.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass
class FilterValues:
    date_from: str = ""  # YYYY, YYYY-MM or YYYY-MM-DD
    date_to: str = ""
    camera: str = ""
    lens: str = ""
    min_rating: int = 0
    label: str = ""
    keyword: str = ""
    min_quality: float = 0.0
    folder: str = ""
    extra: str = ""  # free --where text, appended as is


def _q(value: str) -> str:
    return shlex.quote(value.strip())


def where_expression(f: FilterValues) -> str:
    terms: list[str] = []
    if f.date_from.strip():
        terms.append(f"date>={_q(f.date_from)}")
    if f.date_to.strip():
        terms.append(f"date<={_q(f.date_to)}")
    for name, value in (("camera", f.camera), ("lens", f.lens), ("keyword", f.keyword), ("folder", f.folder)):
        if value.strip():
            terms.append(f"{name}={_q(value)}")
    if f.min_rating > 0:
        terms.append(f"rating>={int(f.min_rating)}")
    if f.label.strip():
        terms.append(f"label={_q(f.label)}")
    if f.min_quality > 0:
        terms.append(f"quality>={f.min_quality:g}")
    if f.extra.strip():
        terms.append(f.extra.strip())
    return " ".join(terms)
