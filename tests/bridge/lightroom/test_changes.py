"""Write-back sourced from the index: `catalog write --from-index` and `xmp write --from-index` carry the
AI keywords (reusing the catalog's own keyword nodes), the rules' keywords, AI captions and scores. One
conversion (`bridge.lightroom.changes`) feeds them and the plugin's Apply (`metadata`) and Sync (`apply`):
they agree on every photo."""

from __future__ import annotations

import ast
import json
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bridge.cli.app import app
from bridge.engine import Engine, load_rules
from bridge.host import EngineHost
from bridge.lightroom import protocol as p
from bridge.lightroom.changes import LightroomChange, changes_from_index, score_rules
from bridge.lightroom.handlers import Handlers
from bridge.settings import Settings
from bridge.state.ledger import Ledger
from catalog.keyword_parent import keyword_path
from catalog.reader import open_catalog
from catalog.write.model import PhotoChange
from catalog.xmp import read_sidecar, sidecar_path
from tests.bridge.conftest import make_photos
from tests.bridge.lightroom.plugin_sim import Frames
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


def test_xmp_write_from_index_writes_where_lightroom_reads(indexed_catalog):
    """A JPEG's metadata lives inside it for Lightroom: plain `xmp write` skips it (no sidecar Lightroom would
    never read, the photo untouched); `--embed` writes its XMP, keywords under the keyword parent except the
    vocabulary catalog's own trees (Places, Nature), which stay in place as `catalog write` keeps them."""
    _, pictures, s = indexed_catalog
    photo = pictures / "2024" / "Lisbon trip" / "IMG_0001.JPG"
    original = photo.read_bytes()
    res = cli(s, "xmp", "write", "--from-index", str(photo))
    assert res.exit_code == 0, res.output
    assert "skipped embedded-only" in res.output and "--embed" in res.output
    assert photo.read_bytes() == original and not sidecar_path(photo).exists()
    res = cli(s, "xmp", "write", "--from-index", "--embed", str(photo))
    assert res.exit_code == 0, res.output
    import pyexiv2

    from catalog.xmp import read_packet

    with pyexiv2.ImageData(photo.read_bytes()) as img:
        side = read_packet(img.read_raw_xmp().encode("utf-8"))
    assert "Pixel Detective|Trips|Lisbon 2024" in side.hierarchical
    assert "Trips|Lisbon 2024" not in side.hierarchical
    assert any(h.startswith(("Places", "Nature")) for h in side.hierarchical), side
    assert 0.0 <= float(side.scores["Quality"]) <= 1.0 and "Sharpness" in side.scores
    again = cli(s, "xmp", "write", "--from-index", "--embed", str(photo), "--json")
    assert json.loads(again.output)[0]["status"] == "unchanged"


def test_xmp_write_with_explicit_values_still_works(tmp_path, settings):
    photo = make_photos(tmp_path / "x", 1)[0].rename(tmp_path / "x" / "IMG_1.NEF")  # a RAW: sidecar
    res = cli(settings, "xmp", "write", str(photo), "-k", "Dog,Beach", "--rating", "3")
    assert res.exit_code == 0, res.output
    side = read_sidecar(sidecar_path(Path(photo)))
    assert set(side.keywords) >= {"Dog", "Beach"} and side.rating == 3  # given by hand: kept as given


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


# -- one conversion, every target ------------------------------------------------------------------------

RULES = ["quality >= 0 -> rating 4", "quality >= 0 -> label Green", "sharpness >= 0 -> pick 1"]


def _changes(s: Settings, paths: list[str], given: list[str] | None = None) -> dict[str, LightroomChange]:
    led = Ledger(s.ledger_path, readonly=True)
    try:
        return changes_from_index(led, paths, keyword_rules=load_rules(s), score_rules=score_rules(given, s))
    finally:
        led.close()


def _metadata(s: Settings, paths: list[str], rules: list[str]) -> dict[str, Any]:
    """The service's `metadata` reply (what the plugin's Apply writes), from its handler."""
    pool = ThreadPoolExecutor(1)
    with EngineHost(s) as host:
        handlers = Handlers(host, pool)
        try:
            body = p.validate_body("metadata", {"paths": paths, "rules": rules})
            out = Frames()
            handlers.metadata(body, p.Frame("metadata", {}), out)()  # type: ignore[arg-type]
            ((reply,),) = [[f.body for f in out.sent]]
            return reply
        finally:
            handlers.close()
            pool.shutdown()


def test_one_change_renders_alike_for_catalog_xmp_and_plugin(indexed_catalog):
    _, pictures, s = indexed_catalog
    trip = str(pictures / "2024" / "Lisbon trip" / "IMG_0001.JPG")
    family = str(pictures / "win" / "Family" / "DSC_0002.JPG")
    found = _changes(s, [trip, family, str(pictures / "not-indexed.jpg")], RULES)
    assert set(found) == {trip, family}
    first = found[trip]
    assert len(first.keywords) >= 2 and first.keywords[-1] == "Trips|Lisbon 2024"  # AI first, then rules
    assert (first.rating, first.label, first.pick) == (4, "Green", 1)
    for ch in found.values():
        cat = PhotoChange.from_dict(ch.catalog_change())
        xmp = ch.xmp_update()
        apply = p.validate_body("apply", {"photos": [ch.apply_photo()]}).photos[0]  # type: ignore[attr-defined]
        meta = p.MetadataResult.model_validate({"photos": [ch.metadata_photo()]}).photos[0]
        assert list(cat.keywords) == list(xmp.keywords) == apply.keywords == meta["keywords"]
        assert meta["keywords"] == list(ch.keywords) and ch.keywords
        assert (cat.caption or None) == xmp.caption == apply.caption == meta["caption"] == ch.caption
        assert cat.scores == meta["scores"] == dict(ch.scores) and "quality" in ch.scores
        assert xmp.scores["Quality"] == round(ch.scores["quality"], 4)
        assert xmp.scores["MotionBlur"] == round(ch.scores["motion_blur"], 4)
        assert cat.rating == xmp.rating == apply.rating == meta["rating"] == 4
        assert cat.label == xmp.label == apply.label == meta["label"] == "Green"
        assert cat.pick == apply.pick == meta["pick"] == 1  # XMP has no pick flag


def test_undecided_fields_are_left_out_of_every_rendering():
    ch = LightroomChange("/p/a.jpg", ("Animals|Dog",), "A dog", {"quality": 0.5, "motion_blur": 0.123456})
    assert ch.decided == {}
    assert ch.catalog_change("C:/p/a.jpg") == {
        "path": "C:/p/a.jpg", "keywords": ["Animals|Dog"], "caption": "A dog",
        "scores": {"quality": 0.5, "motion_blur": 0.123456},
    }  # fmt: skip
    xmp = ch.xmp_update(overwrite_caption=True)
    assert xmp.rating is None and xmp.label is None and xmp.overwrite_caption
    assert xmp.scores == {"Quality": 0.5, "MotionBlur": 0.1235}
    assert ch.apply_photo() == {"path": "/p/a.jpg", "keywords": ["Animals|Dog"], "caption": "A dog"}
    assert LightroomChange("/p/b.jpg", scores={"quality": 0.5}).apply_photo() is None  # scores alone: no push
    meta = ch.metadata_photo("/P/a.jpg")
    assert meta["path"] == "/P/a.jpg" and not {"rating", "label", "pick"} & set(meta)


def test_given_score_rules_replace_the_settings_rules(settings):
    s = settings.with_overrides(writeback_rules=["quality >= 0.5 -> rating 2"])
    assert [r.to for r in score_rules(None, s)] == [r.to for r in score_rules([], s)] == [2]
    assert [r.to for r in score_rules(["quality >= 0 -> label Red"], s)] == ["Red"]  # replaced, not added
    with pytest.raises(ValueError):
        score_rules(["nonsense"], s)


def _xmp_changes(lines: list[str]) -> dict[str, Any]:
    """`xmp write --dry-run` change lines → property → new value (keyword arrays: the items added)."""
    out: dict[str, Any] = {}
    for line in lines:
        if m := re.match(r"^(\S+): \+(\[.*\]) -(\[.*\])$", line):
            out[m[1]] = ast.literal_eval(m[2])
        elif m := re.match(r"^(\S+): (.*) -> (.*)$", line):
            out[m[1]] = ast.literal_eval(m[3])
    return out


def test_cli_catalog_and_xmp_writes_and_the_plugin_reply_agree_on_one_photo(indexed_catalog, monkeypatch):
    """One photo through `catalog write --from-index --dry-run`, `xmp write --from-index --dry-run` and the
    service's `metadata` reply: the same keywords, caption, scores and rating / label. The settings' score
    rules apply to all three (xmp write once ignored them); `--rule` (the request's rules) replaces them."""
    catalog, pictures, s = indexed_catalog
    photo = pictures / "2024" / "Lisbon trip" / "IMG_0001.JPG"
    setting = ["quality >= 0 -> rating 2", "quality >= 0 -> label Blue"]
    monkeypatch.setenv("PIXEL_DETECTIVE_WRITEBACK_RULES", json.dumps(setting))
    s = s.with_overrides(writeback_rules=setting)
    with open_catalog(catalog) as cat:
        before = next(x for x in cat.photos() if x.path.endswith("IMG_0001.JPG") and not x.is_virtual_copy)
    given = "quality >= 0 -> rating 4"
    for args, rating, label in (((), 2, "Blue"), (("--rule", given), 4, None)):
        meta = _metadata(s, [str(photo)], [given] if args else [])["photos"][0]
        assert meta["path"] == str(photo) and meta["keywords"] and "quality" in meta["scores"]
        assert meta.get("rating") == rating and meta.get("label") == label

        res = cli(s, "catalog", "write", str(catalog), "--from-index", "--dry-run", "--json", *args)
        assert res.exit_code == 0, res.output
        plan = json.loads(res.output)
        fields = {f["field"]: f["new"] for f in plan["fields"] if f["image_id"] == before.id}
        assert fields.get("rating") == rating and fields.get("label") == label
        assert fields.get("caption") == (meta["caption"] if not before.caption else None)
        # Each keyword lands on the photo: an existing node (reused, maybe spelled otherwise) or a new one
        # under our parent; and nothing else is linked.
        linked = {x["keyword_path"] for x in plan["links"] if x["image_id"] == before.id}
        where = {k: {plan["reused"].get(k, k), f"Pixel Detective|{k}"} for k in meta["keywords"]}
        assert all(where[k] & (linked | set(before.keywords)) for k in meta["keywords"]), (where, linked)
        assert linked <= set().union(*where.values())

        res = cli(s, "xmp", "write", "--from-index", "--embed", str(photo), "--dry-run", "--json", *args)
        assert res.exit_code == 0, res.output
        (row,) = json.loads(res.output)
        xmp = _xmp_changes(row["changes"])
        # the one keyword-parent rule: the catalog's own trees in place, anything else under the parent
        placed = [keyword_path(k, "Pixel Detective", ("Places", "Nature")) for k in meta["keywords"]]
        assert xmp["lr:hierarchicalSubject"] == placed
        assert xmp.get("dc:description") == meta["caption"]
        assert xmp["pd:Quality"] == format(round(meta["scores"]["quality"], 4), ".6g")
        assert xmp.get("xmp:Rating") == str(rating) and xmp.get("xmp:Label") == label


def test_xmp_write_rule_needs_from_index(tmp_path, settings):
    photo = make_photos(tmp_path / "x", 1)[0]
    res = cli(settings, "xmp", "write", str(photo), "--rule", "quality >= 0 -> rating 4")
    assert res.exit_code == 2 and "--from-index" in res.output
