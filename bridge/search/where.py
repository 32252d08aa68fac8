"""`--where` filters: "rating>=3 camera=canon date>=2024-01-01 keyword=Wedding lens='EF 50mm'".

Terms are separated by spaces and all must hold; quote values with spaces (shell-like, via shlex).
Operators: = != >= <= > <. Each user-facing field maps to one payload field and knows how to read its
value (`where_fields()` lists them for --help).
"""

from __future__ import annotations

import calendar
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.store.filters import Condition, Filter, Op
from bridge.store.schema import folder_key

OPS: dict[str, Op] = {"=": "eq", "==": "eq", "!=": "ne", ">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}
_TERM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|>=|<=|=|>|<)\s*(.*)$", re.S)
LABELS = ("Red", "Yellow", "Green", "Blue", "Purple")  # Lightroom's colour labels, as it writes them


class WhereError(ValueError):
    """A --where expression that cannot be read; the message says which term and what is allowed."""


@dataclass(frozen=True, slots=True)
class WhereField:
    name: str
    aliases: tuple[str, ...]
    help: str
    example: str


def _number(v: str, unit: str = "") -> float:
    v = v.strip().lower()
    if unit and v.endswith(unit):
        v = v[: -len(unit)]
    x = float(v)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return x


def _aperture(v: str) -> float:
    v = v.strip().lower()
    return _number(v[2:] if v.startswith("f/") else v[1:] if v.startswith("f") else v)


_DATE = re.compile(r"^(\d{4})(?:[-/](\d{1,2}))?$")


def _period(v: str) -> tuple[float, float]:
    """[start, end) in POSIX seconds for a year, month, day or date-time. Naive times are read as UTC,
    the convention the indexer uses for EXIF wall-clock times, so a photo taken on May 1 matches May 1."""
    v = v.strip()
    m = _DATE.match(v)
    if m:  # "2024" or "2024-05": fromisoformat does not take these
        year, month = int(m[1]), int(m[2] or 0)
        if month:
            start = datetime(year, month, 1, tzinfo=UTC)
            end = start + timedelta(days=calendar.monthrange(year, month)[1])
        else:
            start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
        return start.timestamp(), end.timestamp()
    dt = datetime.fromisoformat(v.replace("/", "-"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if len(v) <= 10:  # a bare date: the whole day
        return dt.timestamp(), (dt + timedelta(days=1)).timestamp()
    clock = re.sub(r"(Z|[+-]\d{2}(:?\d{2})?)$", "", v[11:])  # the time of day without its UTC offset
    span = (
        [timedelta(hours=1), timedelta(minutes=1)][clock.count(":")]
        if clock.count(":") < 2
        else timedelta(seconds=1)
    )
    return dt.timestamp(), (dt + span).timestamp()


def _folder(v: str) -> str:
    v = os.path.expanduser(v.strip())
    if not (v.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", v)):
        v = os.path.abspath(v)  # "folder=." is the current folder
    return folder_key(v)


def _label(v: str) -> str:
    return next((lab for lab in LABELS if lab.lower() == v.strip().lower()), v.strip())


def _lower(v: str) -> str:
    return v.strip().casefold()


def _ext(v: str) -> str:
    return v.strip().lstrip(".").casefold()


@dataclass(frozen=True, slots=True)
class _Spec:
    field: WhereField
    target: str  # payload field
    style: str  # "number", "date", "text", "keyword", "folder"
    parse: Callable[[str], Any]
    many: bool = False  # comma-separated values mean any-of


_SPECS = (
    _Spec(WhereField("rating", ("stars",), "star rating 0-5", "rating>=3"), "rating", "number", int),
    _Spec(
        WhereField(
            "date",
            ("taken", "captured"),
            "capture date: YYYY, YYYY-MM, YYYY-MM-DD or ISO date-time "
            "(UTC unless an offset is given); = means the whole period",
            "date>=2024-05",
        ),
        "captured_ts",
        "date",
        _period,
    ),
    _Spec(
        WhereField("camera", (), "camera make and model, by words", "camera=canon"),
        "camera",
        "text",
        str.strip,
    ),
    _Spec(
        WhereField("make", ("camera_make",), "camera maker, by words", "make=fujifilm"),
        "camera_make",
        "text",
        str.strip,
    ),
    _Spec(
        WhereField("body", ("camera_model",), "camera model, by words", "body='EOS R5'"),
        "camera_model",
        "text",
        str.strip,
    ),
    _Spec(WhereField("lens", (), "lens name, by words", "lens='EF 50mm'"), "lens", "text", str.strip),
    _Spec(
        WhereField(
            "keyword",
            ("keywords", "kw", "tag"),
            "keyword, any case; a,b means either",
            "keyword=Wedding,Party",
        ),
        "keywords_lc",
        "keyword",
        _lower,
        many=True,
    ),
    _Spec(
        WhereField(
            "person",
            ("people", "who"),
            "a named person in the photo (pixel-detective people), any case; a,b means either",
            "person='Marie Curie'",
        ),
        "persons_lc",
        "keyword",
        _lower,
        many=True,
    ),
    _Spec(
        WhereField(
            "label",
            ("color", "colour"),
            "colour label (Red, Yellow, Green, Blue, Purple); a,b means either",
            "label=red",
        ),
        "label",
        "keyword",
        _label,
        many=True,
    ),
    _Spec(WhereField("iso", (), "ISO speed", "iso<=800"), "iso", "number", int),
    _Spec(
        WhereField("focal", ("focal_length", "mm"), "focal length in mm", "focal>=85"),
        "focal_length",
        "number",
        lambda v: _number(v, "mm"),
    ),
    _Spec(WhereField("aperture", ("f", "fnumber"), "f-number", "f<=2.8"), "aperture", "number", _aperture),
    _Spec(
        WhereField("ext", ("format", "type"), "file extension; a,b means either", "ext=cr3,nef"),
        "ext",
        "keyword",
        _ext,
        many=True,
    ),
    _Spec(
        WhereField(
            "folder", ("path", "dir", "under"), "in this folder or below it (any case)", "folder=/photos/2024"
        ),
        "folders",
        "folder",
        _folder,
    ),
    _Spec(WhereField("width", (), "width in pixels", "width>=4000"), "width", "number", int),
    _Spec(WhereField("height", (), "height in pixels", "height>=3000"), "height", "number", int),
    _Spec(
        WhereField("sharpness", ("sharp",), "sharpness score 0-1 (1: crisp detail)", "sharpness>=0.5"),
        "q_sharpness",
        "number",
        float,
    ),
    _Spec(WhereField("faces", ("face_count",), "faces found (faces stage)", "faces>=2"), "face_count", "number", int),
    _Spec(
        WhereField("eyes_open", ("eyes",), "eyes-open score 0-1 of the photo's least open face", "eyes_open<0.35"),
        "eyes_open",
        "number",
        float,
    ),
    _Spec(
        WhereField("face_sharpness", (), "sharpest face 0-1, face and eye region", "face_sharpness>=0.5"),
        "face_sharpness",
        "number",
        float,
    ),
    _Spec(
        WhereField("exposure", (), "exposure 0-1 (0.5 well exposed; lower darker)", "exposure<0.3"),
        "q_exposure",
        "number",
        float,
    ),
    _Spec(WhereField("noise", (), "noise level 0-1 (0: clean)", "noise<0.4"), "q_noise", "number", float),
    _Spec(
        WhereField("quality", ("overall",), "overall quality score 0-1", "quality>=0.6"),
        "q_overall",
        "number",
        float,
    ),
    _Spec(
        WhereField(
            "ai_keyword",
            ("auto_keyword", "ai_kw"),
            "keyword given by the keyword stage, any case; a,b means either",
            "ai_keyword=dog,cat",
        ),
        "ai_keywords_lc",
        "keyword",
        _lower,
        many=True,
    ),
    _Spec(
        WhereField("ai_caption", ("described",), "words in the AI caption", "ai_caption='red car'"),
        "ai_caption",
        "text",
        str.strip,
    ),
)
_BY_NAME = {name: s for s in _SPECS for name in (s.field.name, *s.field.aliases)}


def where_fields() -> list[WhereField]:
    """The fields --where understands, in the order --help shows them."""
    return [s.field for s in _SPECS]


def where_help() -> str:
    lines = ["Fields (all terms must hold; operators = != >= <= > <):"]
    for f in where_fields():
        alias = f" (also {', '.join(f.aliases)})" if f.aliases else ""
        lines.append(f"  {f.name}{alias}: {f.help}, e.g. {f.example}")
    return "\n".join(lines)


def _valid_fields() -> str:
    return ", ".join(f.name for f in where_fields())


def _terms(text: str) -> list[str]:
    """shlex tokens, re-joined so "rating >= 3" and "rating>= 3" read like "rating>=3"."""
    lex = shlex.shlex(text, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""  # "keyword=#1" is a keyword, not a comment
    lex.escape = ""  # keep backslashes: Windows paths (folder=C:\Photos) must survive
    try:
        tokens = list(lex)
    except ValueError as e:  # an unclosed quote
        raise WhereError(f"cannot read --where {text!r}: {e}") from e
    terms: list[str] = []
    for tok in tokens:
        if terms and (
            re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\s*(==|!=|>=|<=|=|>|<)", terms[-1])  # "rating>=" "3"
            or (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", terms[-1]) and re.match(r"(==|!=|>=|<=|=|>|<)", tok))
        ):
            terms[-1] += tok
        else:
            terms.append(tok)
    return terms


def _conditions(term: str) -> list[Condition]:
    m = _TERM.match(term)
    if not m:
        raise WhereError(
            f"cannot read {term!r}: expected field, operator (= != >= <= > <), value, e.g. rating>=3"
        )
    name, op_text, raw = m[1].lower(), m[2], m[3]
    spec = _BY_NAME.get(name)
    if spec is None:
        raise WhereError(f"unknown field {m[1]!r} in {term!r}; valid fields: {_valid_fields()}")
    op = OPS[op_text]
    if raw.strip() == "":
        raise WhereError(f"{term!r} has no value")
    if spec.style in ("text", "keyword", "folder") and op not in ("eq", "ne"):
        raise WhereError(f"{spec.field.name} can only be compared with = or !=, not {op_text} (in {term!r})")
    values = [v for v in raw.split(",") if v.strip()] if spec.many else [raw]
    try:
        parsed = [spec.parse(v) for v in values]
    except (ValueError, OverflowError) as e:
        raise WhereError(f"bad value {raw!r} for {spec.field.name} (e.g. {spec.field.example}): {e}") from e
    if not parsed:
        raise WhereError(f"{term!r} has no value")
    target = spec.target
    if spec.style == "date":
        start, end = parsed[0]
        if op == "ne":
            raise WhereError(f"date cannot be compared with != (in {term!r}); use date< and date> instead")
        bounds: dict[Op, list[tuple[Op, Any]]] = {
            "eq": [("gte", start), ("lt", end)], "gte": [("gte", start)], "gt": [("gte", end)],
            "lt": [("lt", start)], "lte": [("lt", end)]}  # fmt: skip
        return [Condition(target, o, v) for o, v in bounds[op]]
    if spec.style == "text":
        return [Condition(target, "text" if op == "eq" else "ne", parsed[0])]
    if len(parsed) > 1:
        if op == "ne":
            return [Condition(target, "ne", v) for v in parsed]  # none of them
        return [Condition(target, "any", parsed)]
    return [Condition(target, op, parsed[0])]


def parse_where(text: str) -> Filter:
    """Parse a --where expression into a store Filter (empty text: no filtering). Raises WhereError."""
    conditions: list[Condition] = []
    for term in _terms(text or ""):
        conditions.extend(_conditions(term))
    return Filter(tuple(conditions))
