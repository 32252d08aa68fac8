"""Json.lua round-trips what Python's json produces and rejects malformed input with a position."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lrplugin.harness import Harness

LIMIT = 2**53 - 1  # Lua numbers are doubles
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-LIMIT, LIMIT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@pytest.fixture(scope="module")
def lua(tmp_path_factory: pytest.TempPathFactory) -> Any:
    h = Harness(tmp_path_factory.mktemp("home"))
    json_mod = h.require("Json")
    f = h.lua.eval(
        "function(J) return function(s) local ok, v = pcall(J.decode, s) if not ok then return nil, v end return J.encode(v), false end end"
    )
    return f(json_mod)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=values, ascii_only=st.booleans())
def test_round_trip(lua: Any, value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    out, err = lua(text)
    assert err is False, err
    assert json.loads(out) == value


def test_escapes_and_surrogates(lua: Any) -> None:
    out, _ = lua('["\\ud83d\\ude00", "a\\u00e9\\n\\t\\"\\\\\\/", "\\u0001"]')
    assert json.loads(out) == ["😀", 'aé\n\t"\\/', "\x01"]


def test_empty_containers_keep_their_kind(lua: Any) -> None:
    assert json.loads(lua('{"a": [], "b": {}, "c": [[], {}]}')[0]) == {"a": [], "b": {}, "c": [[], {}]}


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "{",
        "[1,]",
        '{"a" 1}',
        '{"a":1,}',
        "01",
        "1.",
        ".5",
        "+1",
        "tru",
        "nul",
        "[1] x",
        '"abc',
        '"\\x"',
        '"\\ud800"',
        '"\\udc00"',
        '"a\nb"',
        "{'a': 1}",
        "[" * 200 + "]" * 200,
    ],
)
def test_rejects_malformed(lua: Any, bad: str) -> None:
    out, err = lua(bad)
    assert out is None
    assert "json:" in err and "position" in err


def test_rejects_invalid_utf8(lua: Any) -> None:
    out, err = lua(b'"\xff\xfe"')
    assert out is None and "invalid UTF-8" in err
