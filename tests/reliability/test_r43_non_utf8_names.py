"""R43: file and folder names that are not valid UTF-8 (Linux allows any bytes): indexed, stored losslessly,
shown escaped (`caf\\xe9.jpg`), searchable, re-pathed on rename; they never abort a run."""

from __future__ import annotations

import json
import os
import sqlite3
import sys

import pytest

from bridge.files.paths import from_db, shown, to_db
from bridge.state.ledger import Ledger
from tests.bridge.conftest import make_photos

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(sys.platform != "linux", reason="needs a filesystem that accepts any bytes in names"),
]


def _b(path: os.PathLike[str] | str) -> bytes:
    return os.fsencode(path)


def test_storage_form_is_lossless_and_keeps_prefixes():
    names = [
        os.fsdecode(b"/p/caf\xe9.jpg"),
        "/p/\ufdd0x.jpg",
        "/p/\ufdd0e9.jpg",
        "/p/plain é.jpg",
        "/p/a.jpg",
    ]
    for n in names:
        assert from_db(to_db(n)) == n
        to_db(n).encode("utf-8")  # valid Unicode: SQLite TEXT and Qdrant payloads take it
    assert len({to_db(n) for n in names}) == len(names)  # no two names share a storage form
    root = os.fsdecode(b"/p/d\xff")
    assert to_db(root + "/x.jpg").startswith(to_db(root) + "/")  # "under root" range queries still work
    assert shown(names[0]) == "/p/caf\\xe9.jpg" and shown("/p/a.jpg") == "/p/a.jpg"


@pytest.mark.slow  # CI time: ~30 s of CLI runs; `scripts/test.sh -m slow` runs it
def test_non_utf8_names_indexed_searchable_shown_and_repathed(cli, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # tables on one line each: names are not folded across rows
    root = tmp_path / os.fsdecode(b"ph\xf6tos")  # the folder given on the command line too
    photos = make_photos(root, 4)
    cafe = os.path.join(root, os.fsdecode(b"caf\xe9.jpg"))
    sub = os.path.join(root, os.fsdecode(b"d\xff"))
    os.rename(photos[0], cafe)
    os.mkdir(sub)
    moved = os.path.join(sub, "x.jpg")
    os.rename(photos[1], moved)
    bad = os.path.join(root, os.fsdecode(b"bad\xe9.jpg"))
    with open(bad, "w") as f:
        f.write("not an image")

    args = ("index", str(root), "--model", settings.model, "--workers", "2", "--batch-size", "4")
    first = cli(*args, "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["embedded"], summary["failures_by_reason"]) == (4, {"not_an_image": 1})
    assert "\\xf6" in summary["roots"][0]  # shown, not a lone surrogate (which strict JSON parsers refuse)

    # Stored losslessly: the ledger gives back the exact names, and the raw column is valid UTF-8 text.
    led = Ledger(settings.ledger_path, readonly=True)
    assert {cafe, moved, bad} <= set(led.files_under(str(root)))
    led.close()
    raw = sqlite3.connect(settings.ledger_path).execute("SELECT path FROM files").fetchall()
    assert all("\udce9" not in p for (p,) in raw) and any("\ufdd0" in p for (p,) in raw)

    # Shown escaped wherever people read them, never a traceback.
    fails = cli("failures")
    assert fails.returncode == 0 and "bad\\xe9.jpg" in fails.stdout, fails.stdout + fails.stderr
    fails_json = json.loads(cli("failures", "--json").stdout)
    assert {f["path"] for f in fails_json} == {shown(bad)}
    status = cli("status")
    assert status.returncode == 0 and "Traceback" not in status.stderr, status.stderr
    status_json = cli("status", "--json")
    assert status_json.returncode == 0, status_json.stderr
    json.loads(status_json.stdout)

    # Searchable: by example photo named with raw bytes, and the results name it escaped.
    found = cli("search", "--like", cafe, "--model", settings.model, "--json", "-n", "10")
    assert found.returncode == 0, found.stderr
    paths = [r["path"] for r in json.loads(found.stdout)["results"]]
    assert paths[0] == shown(cafe) and shown(moved) in paths  # itself first: its stored vector matched
    table = cli("search", "--like", moved, "--model", settings.model)
    assert table.returncode == 0 and "caf\\xe9" in table.stdout.replace("\n", ""), table.stderr

    # Renamed (file and folder): re-pathed from the fingerprint, never re-embedded.
    cafe2 = os.path.join(root, os.fsdecode(b"caf\xe9-\xfe.jpg"))
    os.rename(cafe, cafe2)
    sub2 = os.path.join(root, os.fsdecode(b"e\xfd"))
    os.rename(sub, sub2)
    again = cli(*args, "--json")
    assert again.returncode == 0, again.stderr
    s2 = json.loads(again.stdout)
    assert s2["embedded"] == 0 and s2["repathed"] == 2 and s2["deleted"] == 2, s2
    led = Ledger(settings.ledger_path, readonly=True)
    known = set(led.files_under(str(root)))
    led.close()
    assert {cafe2, os.path.join(sub2, "x.jpg")} <= known and not {cafe, moved} & known
    found = cli("search", "--like", cafe2, "--model", settings.model, "--json", "-n", "10")
    assert shown(os.path.join(sub2, "x.jpg")) in [r["path"] for r in json.loads(found.stdout)["results"]]
