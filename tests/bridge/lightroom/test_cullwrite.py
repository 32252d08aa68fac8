"""Cull decisions written into a copy of the real Lightroom 5 catalog (flags, stars, labels, collections) and
read back through the catalog reader; the settings' mapping decides which fields."""

from __future__ import annotations

from pathlib import Path

from bridge.lightroom.cullwrite import (
    COLLECTION_EYES_CLOSED,
    COLLECTION_PICKS,
    COLLECTION_REJECTS,
    apply_photos,
    catalog_changes,
    collections,
    decided_fields,
    xmp_update,
)
from bridge.settings import Settings
from catalog.reader import open_catalog
from catalog.write import PhotoChange, WriteOptions, apply, plan
from catalog.write.collections_write import write_collections

CATALOG = "catalogs/lr5_test_catalog_1.lrcat"


def _rows(paths: list[str]) -> list[dict[str, object]]:
    return [
        {"path": paths[0], "decision": "pick", "reasons": ["sharpest_in_group"]},
        {"path": paths[1], "decision": "reject", "reasons": ["eyes_closed"]},
        {"path": paths[2], "decision": "reject", "reasons": ["motion_blur"]},
        {"path": paths[3], "decision": "undecided", "reasons": ["needs_a_look"]},
    ]


def _write(cat: Path, settings: Settings) -> dict[str, object]:
    with open_catalog(cat) as c:
        paths = sorted(p.path for p in c.photos() if not p.is_virtual_copy)
    rows = _rows(paths)
    changes = catalog_changes(rows, settings)
    what = frozenset(k for ch in changes for k in ch if k != "path")
    the_plan = plan(cat, [PhotoChange.from_dict(ch) for ch in changes], WriteOptions(keyword_parent=None, what=what))
    apply(cat, the_plan)
    report = write_collections(cat, collections(rows))
    return {"paths": paths, "report": report}


def test_flags_and_collections_written_to_a_real_lr5_catalog(copy_shared, tmp_path: Path) -> None:
    (cat,) = copy_shared(CATALOG)
    settings = Settings(data_dir=tmp_path / "d")  # default mapping: flags
    got = _write(cat, settings)
    paths = got["paths"]
    assert isinstance(paths, list)
    with open_catalog(cat) as c:
        photos = {p.path: p for p in c.photos()}
        colls = {k.name: k for k in c.collections()}
    assert [photos[p].pick for p in paths] == [1, -1, -1, 0]
    ids = {p.path: p.id for p in photos.values()}
    assert set(colls[COLLECTION_PICKS].image_ids) == {ids[paths[0]]}
    assert set(colls[COLLECTION_REJECTS].image_ids) == {ids[paths[1]], ids[paths[2]]}
    assert set(colls[COLLECTION_EYES_CLOSED].image_ids) == {ids[paths[1]]}
    assert not colls[COLLECTION_PICKS].is_smart
    # a second run replaces the members instead of adding collections
    _write(cat, settings)
    with open_catalog(cat) as c:
        names = [k.name for k in c.collections()]
    assert names.count(COLLECTION_PICKS) == 1


def test_stars_and_labels_mapping(copy_shared, tmp_path: Path) -> None:
    (cat,) = copy_shared(CATALOG)
    settings = Settings(data_dir=tmp_path / "d", cull_write_as=["rating", "label"], cull_pick_rating=4)
    got = _write(cat, settings)
    paths = got["paths"]
    assert isinstance(paths, list)
    with open_catalog(cat) as c:
        photos = {p.path: p for p in c.photos()}
    assert [photos[p].rating for p in paths[:3]] == [4, 1, 1]
    assert [photos[p].color_label for p in paths] == ["Green", "Red", "Red", "Yellow"]
    assert [photos[p].pick for p in paths] == [0, 0, 0, 0]  # flags not mapped: left alone


def test_plugin_and_xmp_forms() -> None:
    s = Settings(cull_write_as=["flag", "label"])
    assert decided_fields("pick", s) == {"pick": 1, "label": "Green"}
    assert apply_photos([{"path": "/a.jpg", "decision": "reject"}], s) == [
        {"path": "/a.jpg", "pick": -1, "label": "Red"}
    ]
    # XMP has no flag: a flag mapping writes stars there
    update = xmp_update("pick", Settings(cull_write_as=["flag"]))
    assert update is not None and update.rating == 3 and update.label is None
    assert xmp_update("undecided", Settings(cull_write_as=["flag"])) is None
