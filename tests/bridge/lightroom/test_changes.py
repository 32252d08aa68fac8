"""Write-back sourced from the index: `catalog write --from-index` and `xmp write --from-index` carry the
AI keywords (reusing the catalog's own keyword nodes), the rules' keywords, AI captions and scores."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli.app import app
from bridge.engine import Engine
from bridge.settings import Settings
from catalog.reader import open_catalog
from catalog.xmp import read_sidecar, sidecar_path
from tests.bridge.conftest import make_photos
from tests.catalog.fixtures import build_catalog

pytestmark = pytest.mark.shared_data


def cli(settings: Settings, *args: str):
    env = {"PIXEL_DETECTIVE_MODEL": settings.model}
    return CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), *args], env=env)


@pytest.fixture
def indexed_catalog(shared_data, settings, tmp_path, monkeypatch):
    """A Lightroom 14 catalog whose two photos are real files in an indexed folder, and a vocabulary
    taken from that catalog's keyword tree (Places|Europe|Lisbon, Nature|Sunset …)."""
    built = build_catalog(shared_data, tmp_path / "cat", "1400000")
    pictures = tmp_path / "Pictures"
    make_photos(pictures / "2024" / "Lisbon trip", 1, seed=1)[0].rename(
        pictures / "2024" / "Lisbon trip" / "IMG_0001.JPG"
    )
    make_photos(pictures / "win" / "Family", 1, seed=2)[0].rename(
        pictures / "win" / "Family" / "DSC_0002.JPG"
    )
    con = sqlite3.connect(built.path)
    con.execute(
        "UPDATE AgLibraryRootFolder SET absolutePath = CASE WHEN absolutePath LIKE 'C:%' THEN ? ELSE ? END",
        (f"{pictures}/win/", f"{pictures}/"),
    )
    con.execute("UPDATE AgLibraryFile SET extension = 'JPG', idx_filename = baseName || '.JPG'")
    con.commit()
    con.close()
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "trip"\npath = "/Lisbon trip/"\nkeywords = ["Trips|Lisbon 2024"]\n')
    s = settings.with_overrides(
        vocabulary_catalog=built.path,
        builtin_vocabulary=False,
        keywords_min_score=-1.0,  # random tiny model: take its best two, whatever they score
        keywords_min_margin=-1.0,
        keywords_max=2,
        rules_file=rules,
    )
    monkeypatch.setenv("PIXEL_DETECTIVE_RULES_FILE", str(rules))
    monkeypatch.setenv("PIXEL_DETECTIVE_VOCABULARY_CATALOG", str(built.path))
    with Engine.open(s) as engine:
        summary = engine.index([str(pictures)])
    assert summary.keyworded == 2
    return built.path, pictures, s


def test_catalog_write_from_index_reuses_keywords_and_keeps_existing_captions(indexed_catalog):
    catalog, pictures, s = indexed_catalog
    with open_catalog(catalog) as cat:
        before = {p.path: p for p in cat.photos() if not p.is_virtual_copy}
        tree = cat.keyword_tree()
    n_keywords = len(tree.by_id)
    dry = cli(s, "catalog", "write", str(catalog), "--from-index", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    res = cli(s, "catalog", "write", str(catalog), "--from-index", "--rule", "quality >= 0 -> label Green")
    assert res.exit_code == 0, res.output
    assert "backup" in res.output
    with open_catalog(catalog) as cat:
        after = {p.path: p for p in cat.photos() if not p.is_virtual_copy}
        tree = cat.keyword_tree()
    trip = next(p for p in after if p.endswith("IMG_0001.JPG"))
    family = next(p for p in after if p.endswith("DSC_0002.JPG"))
    # AI keywords come from the catalog's own tree: linked to existing nodes, none duplicated.
    vocab_paths = {"Places|Europe|Lisbon", "Nature|Sunset", "Places", "Places|Europe", "Nature"}
    added = set(after[family].keywords) - set(before[family].keywords)
    assert added and added <= vocab_paths, added
    names = [k.full_path.casefold() for k in tree.by_id.values()]
    assert len(names) == len(set(names))
    # The rules' keyword is new: created once, under our parent.
    assert "Pixel Detective|Trips|Lisbon 2024" in after[trip].keywords
    assert len(tree.by_id) == n_keywords + 3  # Pixel Detective, Trips, Lisbon 2024
    # The photographer's caption stays; the label rule fired from the stored quality score.
    assert after[trip].caption == before[trip].caption == "Sunset over the Tagus"
    assert all(p.color_label == "Green" for p in after.values())
    again = cli(s, "catalog", "write", str(catalog), "--from-index", "--json")
    assert again.exit_code == 0
    assert json.loads(again.output)["plan"]["links"] == []  # idempotent


def test_catalog_write_needs_exactly_one_source(indexed_catalog, tmp_path):
    catalog, _, s = indexed_catalog
    assert cli(s, "catalog", "write", str(catalog)).exit_code == 2
    changes = tmp_path / "changes.json"
    changes.write_text("[]")
    both = cli(s, "catalog", "write", str(catalog), "--changes", str(changes), "--from-index")
    assert both.exit_code == 2 and "either" in both.output


def test_xmp_write_from_index_writes_sidecars_not_photos(indexed_catalog):
    _, pictures, s = indexed_catalog
    photo = pictures / "2024" / "Lisbon trip" / "IMG_0001.JPG"
    original = photo.read_bytes()
    res = cli(s, "xmp", "write", "--from-index", str(photo))
    assert res.exit_code == 0, res.output
    assert photo.read_bytes() == original  # never written into the photo
    side = read_sidecar(sidecar_path(photo))
    assert "Trips|Lisbon 2024" in side.hierarchical
    assert any(h.startswith(("Places", "Nature")) for h in side.hierarchical), side
    assert 0.0 <= float(side.scores["Quality"]) <= 1.0 and "Sharpness" in side.scores
    again = cli(s, "xmp", "write", "--from-index", str(photo), "--json")
    assert json.loads(again.output)[0]["status"] == "unchanged"


def test_xmp_write_with_explicit_values_still_works(tmp_path, settings):
    photo = make_photos(tmp_path / "x", 1)[0]
    res = cli(settings, "xmp", "write", str(photo), "-k", "Dog,Beach", "--rating", "3")
    assert res.exit_code == 0, res.output
    side = read_sidecar(sidecar_path(Path(photo)))
    assert set(side.keywords) >= {"Dog", "Beach"} and side.rating == 3


def test_an_unreadable_vocabulary_catalog_is_reported_and_exits_4(settings, tmp_path):
    folder = tmp_path / "p"
    make_photos(folder, 2)
    res = cli(settings, "index", str(folder), "--vocabulary-catalog", str(tmp_path / "missing.lrcat"))
    assert res.exit_code == 4, res.output
    assert "missing.lrcat" in res.output and "not used" in res.output


def test_write_back_settings_are_the_defaults(indexed_catalog, monkeypatch):
    """keyword_parent and writeback_rules from the settings (file or environment) apply when no flag says
    otherwise; the tray app's settings dialog writes them."""
    catalog, _, s = indexed_catalog
    monkeypatch.setenv("PIXEL_DETECTIVE_WRITEBACK_RULES", '["quality >= 0 -> label Blue"]')
    monkeypatch.setenv("PIXEL_DETECTIVE_KEYWORD_PARENT", "AI")
    res = CliRunner().invoke(
        app, ["--data-dir", str(s.data_dir), "catalog", "write", str(catalog), "--from-index"],
        env={"PIXEL_DETECTIVE_MODEL": s.model},
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    with open_catalog(catalog) as cat:
        photos = [p for p in cat.photos() if not p.is_virtual_copy]
    assert all(p.color_label == "Blue" for p in photos)
    assert any("AI|Trips|Lisbon 2024" in p.keywords for p in photos)
