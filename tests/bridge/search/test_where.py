"""The --where parser: fields and aliases, operators, value formats, dates as periods, and errors that
say what is allowed. (That filters select the right photos is tested in store/test_contract.py.)"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.search.where import WhereError, parse_where, where_fields, where_help
from bridge.store import Condition, Filter


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def conds(text: str) -> list[tuple[str, str, object]]:
    return [(c.field, c.op, c.value) for c in parse_where(text).conditions]


def test_the_documented_example():
    text = "rating>=3 camera=canon date>=2024-01-01 keyword=Wedding label=Red iso<=800 lens='EF 50mm' folder=/photos/2024 ext=cr3"
    assert conds(text) == [
        ("rating", "gte", 3),
        ("camera", "text", "canon"),
        ("captured_ts", "gte", utc(2024, 1, 1)),
        ("keywords_lc", "eq", "wedding"),
        ("label", "eq", "Red"),
        ("iso", "lte", 800),
        ("lens", "text", "EF 50mm"),
        ("folders", "eq", "/photos/2024"),
        ("ext", "eq", "cr3"),
    ]


def test_empty_means_no_filter():
    assert parse_where("") == Filter()
    assert not parse_where("   ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rating >= 3", [("rating", "gte", 3)]),
        ("rating>= 3", [("rating", "gte", 3)]),
        ("rating >=3", [("rating", "gte", 3)]),
        ("RATING==2", [("rating", "eq", 2)]),
        ("stars!=0", [("rating", "ne", 0)]),
        ('camera="EOS R5"', [("camera", "text", "EOS R5")]),
        ("camera!=nikon", [("camera", "ne", "nikon")]),
        ("make=Canon body='EOS R5'", [("camera_make", "text", "Canon"), ("camera_model", "text", "EOS R5")]),
        ("kw=Wedding,PARTY", [("keywords_lc", "any", ("wedding", "party"))]),
        ("tag!=a,b", [("keywords_lc", "ne", "a"), ("keywords_lc", "ne", "b")]),
        ("colour=PURPLE", [("label", "eq", "Purple")]),
        ("label=Select", [("label", "eq", "Select")]),  # custom label text passes through
        ("format=.CR3,NEF", [("ext", "any", ("cr3", "nef"))]),
        ("focal=85mm", [("focal_length", "eq", 85.0)]),
        ("mm>24", [("focal_length", "gt", 24.0)]),
        ("f<=f/2.8", [("aperture", "lte", 2.8)]),
        ("fnumber=f4", [("aperture", "eq", 4.0)]),
        ("iso<800", [("iso", "lt", 800)]),
        ("width>=4000 height<3000", [("width", "gte", 4000), ("height", "lt", 3000)]),
        ("path=/Photos/2024/", [("folders", "eq", "/photos/2024")]),
        (r"under=C:\Photos\Trips", [("folders", "eq", "c:/photos/trips")]),
        ("rating>=1 rating<=4", [("rating", "gte", 1), ("rating", "lte", 4)]),
        ('keyword=#1 lens="f/1.8 #2"', [("keywords_lc", "eq", "#1"), ("lens", "text", "f/1.8 #2")]),
    ],
)
def test_fields_aliases_and_values(text: str, expected: list):
    assert conds(text) == expected


def test_relative_folder_is_taken_from_the_current_dir():
    assert conds("folder=.") == [("folders", "eq", os.getcwd().casefold())]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("date=2024", [("gte", utc(2024, 1, 1)), ("lt", utc(2025, 1, 1))]),
        ("date=2024-02", [("gte", utc(2024, 2, 1)), ("lt", utc(2024, 3, 1))]),
        ("date=2024-05-01", [("gte", utc(2024, 5, 1)), ("lt", utc(2024, 5, 2))]),
        ("date>=2024-05", [("gte", utc(2024, 5, 1))]),
        ("date>2024-05", [("gte", utc(2024, 6, 1))]),
        ("date<2024", [("lt", utc(2024, 1, 1))]),
        ("date<=2024-12", [("lt", utc(2025, 1, 1))]),
        ("taken=2024-05-01T10:30", [("gte", utc(2024, 5, 1, 10, 30)), ("lt", utc(2024, 5, 1, 10, 31))]),
        (
            "date=2024-05-01T10:30:15",
            [("gte", utc(2024, 5, 1, 10, 30, 15)), ("lt", utc(2024, 5, 1, 10, 30, 16))],
        ),
        ("date=2024-05-01T10:30+02:00", [("gte", utc(2024, 5, 1, 8, 30)), ("lt", utc(2024, 5, 1, 8, 31))]),
        ("date=2024-05-01T10Z", [("gte", utc(2024, 5, 1, 10)), ("lt", utc(2024, 5, 1, 11))]),
        ("captured>=2024/05/01", [("gte", utc(2024, 5, 1))]),
    ],
)
def test_dates_are_periods_in_utc(text: str, expected: list):
    assert [(op, v) for f, op, v in conds(text) if f == "captured_ts"] == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_a_day_covers_exactly_its_24_hours(day: date):
    (f1, op1, start), (f2, op2, end) = conds(f"date={day.isoformat()}")
    assert (op1, op2) == ("gte", "lt")
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
    assert start <= noon < end
    assert end - start == timedelta(days=1).total_seconds()


@given(st.integers(min_value=0, max_value=5), st.sampled_from(["=", "!=", ">=", "<=", ">", "<"]))
def test_rating_ops(n: int, op: str):
    ops = {"=": "eq", "!=": "ne", ">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}
    assert parse_where(f"rating{op}{n}") == Filter.of(Condition("rating", ops[op], n))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour_temp=5000", "unknown field 'colour_temp'"),
        ("rating>=three", "bad value 'three' for rating"),
        ("rating=3.5", "bad value"),
        ("iso=", "has no value"),
        ("camera>canon", "camera can only be compared with = or !="),
        ("folder<=/x", "folder can only be compared"),
        ("date!=2024", "date cannot be compared with !="),
        ("date=2024-13-01", "bad value"),
        ("date=yesterday", "bad value"),
        ("focal=wide", "bad value"),
        ("f=nan", "bad value"),
        ("rating", "expected field, operator"),
        ("=3", "expected field, operator"),
        ("lens='EF 50mm", "cannot read --where"),
        ("keyword=,", "has no value"),
    ],
)
def test_errors_say_what_is_wrong(text: str, message: str):
    with pytest.raises(WhereError, match=message):
        parse_where(text)


def test_unknown_field_lists_the_valid_ones():
    with pytest.raises(WhereError) as e:
        parse_where("flash=yes")
    for f in where_fields():
        assert f.name in str(e.value)


def test_where_fields_are_documented():
    fields = {f.name: f for f in where_fields()}
    assert {
        "rating",
        "date",
        "camera",
        "lens",
        "keyword",
        "label",
        "iso",
        "focal",
        "aperture",
        "ext",
        "folder",
    } <= set(fields)
    for f in fields.values():
        parse_where(f.example)  # every example in --help parses
    text = where_help()
    assert "rating (also stars)" in text and "folder=/photos/2024" in text
