"""Fixture-built LrC 7-10 (0700003), 11 (1100000) and 14 catalogs, with the WAL still holding the data."""

from __future__ import annotations

import sqlite3
from pathlib import PureWindowsPath

from catalog.reader import open_catalog
from catalog.version import Layout
from tests.catalog.fixtures import POSIX_ROOT, WINDOWS_ROOT, Built


def test_fixture_follows_lightroom_rules(modern: Built) -> None:
    """Guard the builder itself: a wrong fixture would make every other test here meaningless."""
    conn = sqlite3.connect(f"file:{modern.path}?mode=ro", uri=True)
    try:
        counter = conn.execute(
            "SELECT typeof(value), value FROM Adobe_variablesTable WHERE name='Adobe_entityIDCounter'"
        ).fetchone()
        assert counter[0] == "real" and counter[1] > max(modern.ids.values())
        root_type = conn.execute(
            "SELECT typeof(value) FROM Adobe_variablesTable WHERE name='AgLibraryKeyword_rootTagID'"
        ).fetchone()
        assert root_type == ("real",)
        root, places, europe = (modern.ids[k] for k in ("kw_root", "kw_places", "kw_europe"))
        (gen,) = conn.execute("SELECT genealogy FROM AgLibraryKeyword WHERE id_local=?", (europe,)).fetchone()
        assert gen == f"/{len(str(root))}{root}/{len(str(places))}{places}/{len(str(europe))}{europe}"
        (xmp_type,) = conn.execute(
            "SELECT DISTINCT typeof(xmp) FROM Adobe_AdditionalMetadata WHERE image = ?",
            (modern.ids["p_sunset"],),
        ).fetchone()
        assert xmp_type == ("text" if modern.version == "0700003" else "blob")
    finally:
        conn.close()
    assert modern.path.with_name(modern.path.name + "-wal").stat().st_size > 0


def test_version_and_layout(modern: Built) -> None:
    expected = {"0700003": Layout.CLASSIC, "1100000": Layout.MODERN, "1400000": Layout.CURRENT}
    with open_catalog(modern.path) as cat:
        assert cat.version.raw == modern.version
        assert cat.version.layout is expected[modern.version]


def test_photos(modern: Built) -> None:
    ids = modern.ids
    with open_catalog(modern.path) as cat:
        photos = {p.id: p for p in cat.photos()}
    assert set(photos) == {ids["p_sunset"], ids["p_grandma"], ids["p_vc"]}

    sunset = photos[ids["p_sunset"]]
    assert sunset.path == POSIX_ROOT + "2024/Lisbon trip/IMG_0001.CR3"
    assert (sunset.width, sunset.height, sunset.file_format, sunset.orientation) == (6000, 4000, "RAW", "AB")
    assert (sunset.rating, sunset.pick, sunset.color_label) == (5, 1, "Red")
    assert sunset.capture_time == "2024-05-01T20:31:02.15+01:00"
    assert (sunset.caption, sunset.title) == ("Sunset over the Tagus", "Tagus sunset")
    assert sunset.keywords == ("Nature|Sunset", "Places|Europe|Lisbon")
    assert len(sunset.uuid) == 36 and sunset.uuid == sunset.uuid.upper()
    assert not sunset.is_virtual_copy

    grandma = photos[ids["p_grandma"]]
    assert grandma.path == WINDOWS_ROOT + "Family/DSC_0002.JPG"
    assert grandma.is_windows_path
    assert grandma.pure_path == PureWindowsPath(r"C:\Users\Ann Lee\Pictures\Family\DSC_0002.JPG")
    assert (grandma.rating, grandma.pick, grandma.color_label) == (None, -1, None)
    assert (grandma.caption, grandma.title) == (None, "Grandma's Christmas")
    assert grandma.keywords == ("Ann",)

    vc = photos[ids["p_vc"]]
    assert vc.is_virtual_copy and vc.master_id == sunset.id and vc.copy_name == "Black & White"
    assert vc.path == sunset.path and vc.uuid != sunset.uuid
    assert (vc.rating, vc.keywords) == (3, ("Nature|Sunset",))


def test_alt_text_only_from_lrc13(modern: Built) -> None:
    with open_catalog(modern.path) as cat:
        alt = {p.id: p.alt_text for p in cat.photos()}
    want = "A red sun sets over a wide river" if modern.version >= "1300000" else None
    assert alt[modern.ids["p_sunset"]] == want


def test_keyword_tree(modern: Built) -> None:
    ids = modern.ids
    with open_catalog(modern.path) as cat:
        tree = cat.keyword_tree()
    assert tree.root_id == ids["kw_root"]
    assert [k.name for k in tree.top_level] == ["Ann", "Nature", "Places"]
    lisbon = tree.by_id[ids["kw_lisbon"]]
    assert lisbon.path == ("Places", "Europe", "Lisbon") and lisbon.full_path == "Places|Europe|Lisbon"
    assert lisbon.parent_id == ids["kw_europe"] and lisbon.synonyms == ("Lisboa",)
    assert tree.by_path("Nature|Sunset").synonyms == ("Dusk", "Sundown")  # type: ignore[union-attr]
    assert tree.by_id[ids["kw_ann"]].keyword_type == "person"
    assert [k.name for k in tree.children(ids["kw_places"])] == ["Europe"]


def test_collections(modern: Built) -> None:
    ids = modern.ids
    with open_catalog(modern.path) as cat:
        colls = {c.name: c for c in cat.collections()}
    assert colls["Trips"].is_group and colls["Trips"].image_ids == ()
    assert colls["Lisbon 2024"].parent_id == ids["c_trips"]
    assert colls["Lisbon 2024"].image_ids == (ids["p_sunset"], ids["p_vc"])
    assert colls["Best of"].image_ids == (ids["p_sunset"],)
