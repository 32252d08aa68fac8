from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli.catalog_cmd import app
from bridge.cli.exits import Exit
from tests.catalog.conftest import holding_lock
from tests.catalog.fixtures import Built

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("info", "photos", "keywords"):
        assert cmd in result.output
        assert runner.invoke(app, [cmd, "--help"]).exit_code == 0


def test_info_json(lrc14: Built) -> None:
    result = runner.invoke(app, ["info", str(lrc14.path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["version"], data["photos"], data["keywords"], data["collections"]) == ("1400000", 3, 6, 3)


def test_info_text_lr5(lr5_catalog: Path) -> None:
    result = runner.invoke(app, ["info", str(lr5_catalog)])
    assert result.exit_code == 0, result.output
    assert "0500006" in result.output and "Lightroom 5.0" in result.output


def test_photos_json_and_text(lrc14: Built) -> None:
    result = runner.invoke(app, ["photos", str(lrc14.path), "--json"])
    assert result.exit_code == 0, result.output
    photos = {p["id"]: p for p in json.loads(result.output)}
    assert photos[lrc14.ids["p_vc"]]["is_virtual_copy"] is True
    assert photos[lrc14.ids["p_sunset"]]["keywords"] == ["Nature|Sunset", "Places|Europe|Lisbon"]
    text = runner.invoke(app, ["photos", str(lrc14.path)])
    assert text.exit_code == 0 and "DSC_0002.JPG" in text.output and "Black & White" in text.output


def test_keywords_tree_and_json(lrc14: Built) -> None:
    text = runner.invoke(app, ["keywords", str(lrc14.path)])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    places = next(i for i, line in enumerate(lines) if "Places" in line)
    europe = next(i for i, line in enumerate(lines) if "Europe" in line)
    assert europe > places and lines[europe].index("Europe") > lines[places].index("Places")  # nested
    assert "Dusk, Sundown" in text.output
    data = json.loads(runner.invoke(app, ["keywords", str(lrc14.path), "--json"]).output)
    places_node = next(n for n in data if n["name"] == "Places")
    assert places_node["children"][0]["children"][0] == {
        "id": lrc14.ids["kw_lisbon"], "name": "Lisbon", "path": "Places|Europe|Lisbon", "synonyms": ["Lisboa"],
        "children": [],
    }  # fmt: skip


def set_version(catalog: Path, version: str) -> None:
    conn = sqlite3.connect(catalog)
    conn.execute("UPDATE Adobe_variablesTable SET value = ? WHERE name = 'Adobe_DBVersion'", (version,))
    conn.commit()
    conn.close()


def test_newer_versions_warn_older_ones_and_missing_files_exit_1(lrc14: Built, tmp_path: Path) -> None:
    set_version(lrc14.path, "1700000")  # a newer Lightroom: read by schema, with a warning naming the version
    result = runner.invoke(app, ["info", str(lrc14.path)])
    assert result.exit_code == 0 and "1700000" in result.output and "warning" in result.output.lower()
    set_version(lrc14.path, "0200000")  # Lightroom 2: refused, naming the version
    result = runner.invoke(app, ["info", str(lrc14.path)])
    assert result.exit_code == 1 and "0200000" in result.output
    assert runner.invoke(app, ["photos", str(tmp_path / "missing.lrcat")]).exit_code == 1


@pytest.mark.skipif(os.name != "posix", reason="SQLite lock probe uses fcntl")
def test_exit_75_when_locked(lrc14: Built) -> None:
    with holding_lock(lrc14.path):
        result = runner.invoke(app, ["keywords", str(lrc14.path)])
    assert result.exit_code == Exit.LOCKED and "Lightroom has this catalog open" in result.output
