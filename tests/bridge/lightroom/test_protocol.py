"""The declared message table against lrplugin/README.md, schemas, envelope errors, the line reader."""

from __future__ import annotations

import io
import json
import re

import pytest

from bridge.lightroom import protocol as p
from tests import conftest as root

README = root.PROJECT_ROOT / "lrplugin" / "README.md"


def _readme_table() -> dict[str, tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Message types", 1)[1]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"^\|\s*`([\w.]+)`\s*\|([^|]*)\|[^|]*\|(.*)\|\s*$", line)
        if m:
            rows[m.group(1)] = (m.group(2).strip(), m.group(3))
    return rows


def test_every_request_type_is_in_the_readme_table_and_back():
    rows = _readme_table()
    requests = {t for t, m in p.MESSAGES.items() if m.reply}
    assert set(rows) == requests
    direction = {"service → plugin": p.TO_PLUGIN, "plugin → service": p.TO_SERVICE, "both": p.BOTH}
    for t, (d, reply_col) in rows.items():
        m = p.MESSAGES[t]
        assert direction[d] == m.direction, t
        assert f"`{m.reply}`" in reply_col, (t, m.reply)
        if m.done:
            assert f"`{m.done}`" in reply_col and "`progress`" in reply_col


def test_every_type_of_the_table_is_named_in_the_readme():
    text = README.read_text(encoding="utf-8")
    for t in p.MESSAGES:
        assert f"`{t}`" in text, t
    for code in p.ERROR_CODES:
        assert f"`{code}`" in text, code


@pytest.mark.parametrize(
    ("type_", "body"),
    [
        ("search", {"query": 5}),
        ("search", {"query": ""}),
        ("search", {"query": "x", "limit": "50"}),
        ("search", {"query": "x", "limit": 0}),
        ("search", {"query": "x", "limit": True}),
        ("similar", {"paths": []}),
        ("similar", {"paths": "/a.jpg"}),
        ("analyze", {"paths": ["/a"], "captions": "yes"}),
        ("cancel", {}),
        ("metadata", {"paths": ["/a"], "rules": "q > 1 -> pick 1"}),
        ("duplicates", {"paths": ["/a"], "kinds": ["twins"]}),
        ("apply", {"photos": [{"path": "/a", "rating": 9}]}),
        ("show_collection", {"name": "", "paths": []}),
    ],
)
def test_schemas_reject_wrong_types(type_, body):
    with pytest.raises(p.ProtocolError) as e:
        p.validate_body(type_, body)
    assert e.value.code == "bad_request"


def _frame(**kw) -> bytes:
    return json.dumps({"v": p.PROTOCOL_VERSION, "id": "r1", "type": "status", "body": {}, **kw}).encode()


@pytest.mark.parametrize(
    ("line", "code", "re"),
    [
        (b'{"v":1,"id":"a"', "bad_frame", "a"),  # cut short, but its id is readable: named
        (b"\xff\xfe{}", "bad_frame", None),
        (b"[1,2]", "bad_frame", None),
        (b'{"v":1,"type":"status","body":{}}', "bad_frame", None),
        (b"[" * 10000 + b"]" * 10000, "bad_frame", None),
        (b'{"v":1,"id":"a\x00","type":"status"}', "bad_frame", None),
        (_frame(v=1), "unsupported_version", "r1"),  # a v1 peer (token in the hello) is refused
        (_frame(v=3), "unsupported_version", "r1"),
        (_frame(type="format_disk"), "unknown_type", "r1"),
        (_frame(type="search", body={"query": 1}), "bad_request", "r1"),
        (_frame(body=[]), "bad_frame", "r1"),
    ],
)
def test_envelope_errors(line, code, re):
    with pytest.raises(p.ProtocolError) as e:
        p.parse_frame(line)
    assert (e.value.code, e.value.re) == (code, re)


def test_direction_is_enforced_and_frames_round_trip():
    with pytest.raises(p.ProtocolError) as e:
        p.parse_frame(_frame(type="apply", body={"photos": [{"path": "/a"}]}), accept=("status",))
    assert e.value.code == "unknown_type"
    f = p.Frame("search.result", {"results": []}, re="r1")
    data = p.encode(f)
    assert data.endswith(b"\n") and b" " not in data
    assert p.parse_frame(data[:-1]) == f


def test_line_reader_caps_memory_and_reports_a_long_line_once():
    big = b"x" * (10 * 1024 * 1024)
    src = io.BytesIO(b'{"a":1}\n' + big + b"\n" + b"tail-without-newline")
    reads = []

    def recv(n: int) -> bytes:
        reads.append(n)
        return src.read(n)

    r = p.LineReader(recv)
    assert r.read_line() == b'{"a":1}'
    tl = r.read_line()
    assert isinstance(tl, p.TooLarge) and tl.size >= p.MAX_FRAME
    assert len(r._buf) <= p.MAX_FRAME + 65536
    assert not r.unterminated
    assert r.read_line() == b"tail-without-newline" and r.unterminated
    assert r.read_line() is None


def test_line_reader_exactly_at_the_cap():
    line = b"y" * p.MAX_FRAME
    src = io.BytesIO(line + b"\n" + b"z" * (p.MAX_FRAME + 1) + b"\n")
    r = p.LineReader(src.read)
    assert r.read_line() == line
    assert isinstance(r.read_line(), p.TooLarge)
    assert r.read_line() is None


def test_an_empty_lua_table_reads_as_an_empty_list():
    assert p.validate_body("apply.result", {"applied": 0, "missing": {}, "errors": {}}).missing == []
    assert p.validate_body("metadata", {"paths": ["/a"], "rules": {}}).rules == []
    with pytest.raises(p.ProtocolError):
        p.validate_body("metadata", {"paths": ["/a"], "rules": {"a": 1}})  # only an empty table
