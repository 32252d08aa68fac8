"""Every Lightroom generation, LR 3 … LrC 15, opened by probing its schema; an unknown newer one read with a
warning; writes allowed only where every touched column is present and typed as Lightroom types it.

Catalogs are real SQLite files built by tests/catalog/generations.py from the real LR5 catalog and the schema dumps
in shared/data (skipped where those are absent). Expected values below are the builder's data, written out by hand.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli.app import app as pd_app
from catalog.errors import UnsupportedCatalog
from catalog.reader import open_catalog
from catalog.write import PhotoChange, apply, plan, remove_ours
from catalog.write.columns import WRITE_COLUMNS
from tests.catalog.generations import BY_NAME, GENERATIONS, ROOT, UNKNOWN, BuiltGen, Generation, build
from tests.catalog.write.helpers import connect, integrity

FOLDER = f"{ROOT}2024/Trip/"


@pytest.fixture(params=[g.name for g in GENERATIONS])
def gen(request: pytest.FixtureRequest, shared_data: Path, tmp_path: Path) -> BuiltGen:
    return build(shared_data, tmp_path / request.param, BY_NAME[request.param])


def _build(shared_data: Path, tmp_path: Path, g: Generation = UNKNOWN) -> BuiltGen:
    return build(shared_data, tmp_path / g.name, g)


def _has_alt(g: Generation) -> bool:
    return g.base == "1400000" and not g.lacks("AgLibraryIPTC", "altTextAccessibility")


def test_reads_everything(gen: BuiltGen) -> None:
    g, ids = gen.gen, gen.ids
    with open_catalog(gen.path) as cat:
        assert (cat.version.raw, cat.version.known, cat.warnings) == (g.version, True, [])
        photos = {p.id: p for p in cat.photos()}
        tree = cat.keyword_tree()
        colls = {c.name: c for c in cat.collections()}
        absent = set(cat.absent)

    sunset, grandma, vc = photos[ids["p_sunset"]], photos[ids["p_grandma"]], photos[ids["p_vc"]]
    assert len(photos) == 3
    assert (sunset.path, sunset.uuid != "", sunset.capture_time, sunset.width, sunset.height) == (
        f"{FOLDER}IMG_0001.CR2", True, "2024-05-01T20:31:02", 6000, 4000,
    )  # fmt: skip
    assert (sunset.file_format, sunset.rating, sunset.pick, sunset.color_label, sunset.orientation) == (
        "RAW", 5, 1, "Red", "AB",
    )  # fmt: skip
    assert (sunset.caption, sunset.title) == ("Sunset over the Tagus", "Tagus sunset")
    assert sunset.alt_text == ("A red sun over a river" if _has_alt(g) else None)
    assert sunset.keywords == ("Nature|Sunset", "Places|Europe|Lisbon")
    assert (grandma.path, grandma.rating, grandma.pick, grandma.color_label) == (
        f"{FOLDER}DSC_0002.JPG",
        None,
        0,
        None,
    )
    assert (grandma.caption, grandma.title, grandma.keywords) == (None, "Grandma", ("Ann",))
    assert (vc.master_id, vc.copy_name, vc.path, vc.rating, vc.keywords) == (
        ids["p_sunset"], "B&W", sunset.path, 3, ("Nature|Sunset",),
    )  # fmt: skip

    assert tree.root_id == ids["kw_root"]
    assert sorted(k.full_path for k in tree.by_id.values()) == [
        "Ann", "Nature", "Nature|Sunset", "Places", "Places|Europe", "Places|Europe|Lisbon",
    ]  # fmt: skip
    assert tree.by_id[ids["kw_lisbon"]].synonyms == ("Lisboa",)
    # LR3 has no keywordType: the person keyword reads as an ordinary one instead of failing the whole catalog
    person = None if g.lacks("AgLibraryKeyword", "keywordType") else "person"
    assert tree.by_id[ids["kw_ann"]].keyword_type == person
    assert ("AgLibraryKeyword.keywordType" in absent) == (person is None)

    assert set(colls) == {"Trips", "Lisbon", "Five Stars"}
    assert colls["Lisbon"].image_ids == (ids["p_vc"], ids["p_sunset"])  # positionInCollection order
    assert (
        colls["Lisbon"].parent_id == ids["c_trips"]
        and colls["Trips"].is_group
        and colls["Five Stars"].is_smart
    )


def test_writes_where_every_touched_column_is_there(gen: BuiltGen) -> None:
    g, ids = gen.gen, gen.ids
    change = PhotoChange(id=ids["p_grandma"], keywords=("Animals|Dog",), caption="Grandma at Christmas",
                         rating=4, label="Green", pick=1)  # fmt: skip
    if g.lacks("AgLibraryKeyword", "keywordType"):  # LR3: never seen a real schema, so never written
        before = gen.path.read_bytes()
        with pytest.raises(UnsupportedCatalog, match=r"AgLibraryKeyword\.keywordType missing"):
            plan(gen.path, [change])
        assert gen.path.read_bytes() == before
        return
    p = plan(gen.path, [change])
    assert p.warnings == []
    report = apply(gen.path, p)
    assert report.integrity == "ok" and report.warnings == []
    with open_catalog(gen.path) as cat:
        grandma = next(x for x in cat.photos() if x.id == ids["p_grandma"])
    assert (grandma.rating, grandma.color_label, grandma.pick) == (4, "Green", 1)
    assert grandma.caption == "Grandma at Christmas"
    assert grandma.keywords == ("Ann", "Pixel Detective|Animals|Dog")
    conn = connect(gen.path)
    try:
        counter = conn.execute(
            "SELECT value, typeof(value) FROM Adobe_variablesTable WHERE name = 'Adobe_entityIDCounter'"
        ).fetchone()
        dog = conn.execute("SELECT id_local, genealogy FROM AgLibraryKeyword WHERE name = 'Dog'").fetchone()
        rating = conn.execute(
            "SELECT typeof(rating) FROM Adobe_images WHERE id_local = ?", (ids["p_grandma"],)
        )
        assert counter[1] == "real" and counter[0] > dog[0]
        assert dog[1].endswith(f"/{len(str(dog[0]))}{dog[0]}")
        assert rating.fetchone() == ("real",)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == ("wal" if g.wal else "delete")
    finally:
        conn.close()
    assert integrity(gen.path) == "ok"
    removed = remove_ours(gen.path)
    with open_catalog(gen.path) as cat:
        grandma = next(x for x in cat.photos() if x.id == ids["p_grandma"])
    assert removed.integrity == "ok"
    assert (grandma.rating, grandma.color_label, grandma.pick, grandma.caption) == (None, None, 0, None)
    assert grandma.keywords == ("Ann",)


def test_write_columns_match_every_real_schema(shared_data: Path, tmp_path: Path) -> None:
    """WRITE_COLUMNS (names and declared types) re-derived from the real LR5 file and the three schema dumps."""
    for name in ("LR5", "LrC7", "LrC11", "LrC14"):
        built = build(shared_data, tmp_path / name, BY_NAME[name])
        conn = sqlite3.connect(built.path)
        try:
            for table, wanted in WRITE_COLUMNS.items():
                have = {r[1]: r[2].upper() for r in conn.execute(f"PRAGMA table_info({table})")}
                assert {c: have.get(c) for c in wanted} == wanted, (name, table)
        finally:
            conn.close()


# --- an unknown, newer version ----------------------------------------------------------------------------------


def test_unknown_newer_version_reads_with_a_warning_and_writes_when_complete(
    shared_data: Path, tmp_path: Path
) -> None:
    built = _build(shared_data, tmp_path)
    with open_catalog(built.path) as cat:
        assert (cat.version.raw, cat.version.known) == ("1600000", False)
        assert len(cat.photos()) == 3
        assert cat.keyword_tree().by_id[built.ids["kw_lisbon"]].full_path == "Places|Europe|Lisbon"
        assert len(cat.collections()) == 3
        assert len(cat.warnings) == 1 and "1600000" in cat.warnings[0] and "newer" in cat.warnings[0]
    p = plan(built.path, [PhotoChange(id=built.ids["p_grandma"], keywords=("Dog",), rating=2)])
    assert any("1600000" in w for w in p.warnings) and "warning" in p.summary()
    report = apply(built.path, p)
    assert report.integrity == "ok" and any("1600000" in w for w in report.warnings)
    with open_catalog(built.path) as cat:
        grandma = next(x for x in cat.photos() if x.id == built.ids["p_grandma"])
    assert (grandma.rating, grandma.keywords) == (2, ("Ann", "Pixel Detective|Dog"))


def test_unknown_version_missing_a_touched_column_reads_but_is_not_written(
    shared_data: Path, tmp_path: Path
) -> None:
    built = _build(shared_data, tmp_path)
    change = [PhotoChange(id=built.ids["p_grandma"], label="Blue")]
    stale_plan = plan(built.path, change)  # made while the column was there: apply must check again itself
    conn = connect(built.path)
    conn.execute("ALTER TABLE Adobe_images DROP COLUMN colorLabels")
    conn.close()
    with open_catalog(built.path) as cat:
        photos = cat.photos()
        warnings = cat.warnings
    assert len(photos) == 3 and all(p.color_label is None for p in photos)
    assert any("Adobe_images.colorLabels" in w for w in warnings)
    before = digest_without_labels(built.path)
    with pytest.raises(UnsupportedCatalog, match=r"Adobe_images\.colorLabels missing"):
        plan(built.path, change)
    with pytest.raises(UnsupportedCatalog, match=r"refusing to write .*Adobe_images\.colorLabels missing"):
        apply(built.path, stale_plan)
    assert digest_without_labels(built.path) == before
    assert not (built.path.parent / "Pixel Detective Backups").exists()  # refused before the backup


def test_a_touched_column_typed_otherwise_is_not_written(shared_data: Path, tmp_path: Path) -> None:
    """A counter column declared TEXT would store Lightroom's id counter as text: refused, naming it."""
    built = _build(shared_data, tmp_path)
    conn = connect(built.path)
    conn.executescript(
        "ALTER TABLE Adobe_variablesTable RENAME TO old_vars;"
        "CREATE TABLE Adobe_variablesTable (id_local INTEGER PRIMARY KEY, id_global UNIQUE NOT NULL, name, type,"
        " value TEXT NOT NULL DEFAULT '');"
        "INSERT INTO Adobe_variablesTable SELECT * FROM old_vars; DROP TABLE old_vars;"
    )
    conn.close()
    with open_catalog(built.path) as cat:
        assert len(cat.photos()) == 3  # reading does not care
    with pytest.raises(
        UnsupportedCatalog, match=r"Adobe_variablesTable\.value declared TEXT \(Lightroom: no type\)"
    ):
        plan(built.path, [PhotoChange(id=built.ids["p_grandma"], rating=1)])


def digest_without_labels(path: Path) -> str:
    conn = connect(path)
    try:
        rows = conn.execute(
            "SELECT id_local, rating, pick, touchCount FROM Adobe_images ORDER BY 1"
        ).fetchall()
        rows += conn.execute("SELECT id_local, name FROM AgLibraryKeyword ORDER BY 1").fetchall()
        return repr(rows)
    finally:
        conn.close()


# --- refusals ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["Adobe_images", "AgLibraryFile", "AgLibraryFolder", "AgLibraryRootFolder"])
def test_missing_essential_table_refused_naming_it(shared_data: Path, tmp_path: Path, table: str) -> None:
    built = _build(shared_data, tmp_path, BY_NAME["LrC11"])
    conn = connect(built.path)
    conn.execute(f"DROP TABLE {table}")
    conn.close()
    with pytest.raises(UnsupportedCatalog) as info, open_catalog(built.path):
        pytest.fail("opened a catalog without its photos")
    message = str(info.value)
    assert f"has no table {table}" in message and "1100000" in message
    assert "no such" not in message and message.count(".") <= 2  # one sentence, no SQLite text


def test_missing_collection_table_refuses_only_collections(shared_data: Path, tmp_path: Path) -> None:
    built = _build(shared_data, tmp_path, BY_NAME["LR5"])
    conn = connect(built.path)
    conn.execute("DROP TABLE AgLibraryCollectionImage")
    conn.close()
    with open_catalog(built.path) as cat:
        assert len(cat.photos()) == 3 and len(cat.keyword_tree().by_id) == 6
        with pytest.raises(
            UnsupportedCatalog, match="has no table AgLibraryCollectionImage, which reading collections"
        ):
            cat.collections()


def test_missing_essential_column_refused_naming_it(shared_data: Path, tmp_path: Path) -> None:
    built = _build(shared_data, tmp_path, BY_NAME["LrC7"])
    conn = connect(built.path)
    for (index,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'AgLibraryKeywordImage' AND sql LIKE '%tag%'"
    ).fetchall():
        conn.execute(f"DROP INDEX {index}")
    conn.execute("ALTER TABLE AgLibraryKeywordImage DROP COLUMN tag")
    conn.close()
    with open_catalog(built.path) as cat:
        assert len(cat.collections()) == 3
        with pytest.raises(
            UnsupportedCatalog, match=r"lacks column AgLibraryKeywordImage\.tag, which reading keywords"
        ):
            cat.photos()


def test_cli_shows_the_unknown_version_warning(shared_data: Path, tmp_path: Path) -> None:
    built = _build(shared_data, tmp_path)
    result = CliRunner().invoke(pd_app, ["catalog", "info", str(built.path)])
    assert result.exit_code == 0, result.output
    assert "photos       3" in result.output
    assert re.search(r"warning: catalog version 1600000 .* is newer", result.output.replace("\n", " "))
    known = _build(shared_data, tmp_path / "known", BY_NAME["LrC12"])
    result = CliRunner().invoke(pd_app, ["catalog", "info", str(known.path)])
    assert result.exit_code == 0 and "warning" not in result.output and "1200001" in result.output
