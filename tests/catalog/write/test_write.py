"""Writing keywords, caption, rating, label and pick into copies of the real LR5 catalog and of fixture-built
0700003 / 1100000 / LrC 14 catalogs; every effect is re-read through catalog.reader and with plain sqlite3."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from catalog.reader import open_catalog
from catalog.write import PhotoChange, PlanStale, Rule, WriteOptions, WritePlan, apply, plan, remove_ours
from tests.catalog.fixtures import MODERN_VERSIONS, build_catalog
from tests.catalog.write.helpers import connect, counter, digest, integrity, snapshot


@pytest.fixture(params=["lr5", *MODERN_VERSIONS])
def cat(request: pytest.FixtureRequest, shared_data: Path, tmp_path: Path) -> Path:
    if request.param == "lr5":
        return request.getfixturevalue("lr5_catalog")
    return build_catalog(shared_data, tmp_path / f"cat-{request.param}", request.param).path


def _photos(path: Path):
    with open_catalog(path) as c:
        return c.photos(), c.keyword_tree()


def _types(conn: sqlite3.Connection) -> dict[int, tuple]:
    return {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT id_local, typeof(rating), typeof(pick), typeof(touchCount) FROM Adobe_images"
        )
    }


def test_write_all_fields(cat: Path, tmp_path: Path) -> None:
    photos, _ = _photos(cat)
    a, b = photos[0], photos[1]
    conn = snapshot(cat, tmp_path / "before")
    start, start_type = counter(conn)
    assert start_type == "real"
    types_before = _types(conn)
    touch_before = dict(conn.execute("SELECT id_local, touchCount FROM Adobe_images"))
    kw_before = {r[0] for r in conn.execute("SELECT id_local FROM AgLibraryKeyword")}
    conn.close()

    changes = [
        PhotoChange(
            path=a.path,
            keywords=("Animals|Dog", "Outdoor"),
            caption="A dog",
            rating=4,
            label="Green",
            pick=-1,
        ),
        PhotoChange(uuid=b.uuid, keywords=("Animals|Dog",), scores={"quality": 0.9, "sharpness": 0.1}),
    ]
    opts = WriteOptions(
        rules=(Rule.parse("quality >= 0.8 -> rating 3"), Rule.parse("sharpness < 0.2 -> pick -1"))
    )
    p = plan(cat, changes, opts)
    assert WritePlan.from_dict(p.to_dict()) == p  # JSON-able round trip
    assert "Pixel Detective|Animals|Dog" in str(p)
    report = apply(cat, p)
    assert report.integrity == "ok" and report.keywords_created == 4 and report.links_created == 3

    after, tree = _photos(cat)  # through the reader
    pa = next(x for x in after if x.id == a.id)
    pb = next(x for x in after if x.id == b.id)
    assert {"Pixel Detective|Animals|Dog", "Pixel Detective|Outdoor"} <= set(pa.keywords)
    assert "Pixel Detective|Animals|Dog" in pb.keywords
    assert (pa.rating, pa.color_label, pa.pick) == (4, "Green", -1)
    assert (pb.rating, pb.pick) == (3, -1)  # from the rules
    if a.caption is None:
        assert pa.caption == "A dog"
    else:
        assert pa.caption == a.caption  # caption only where empty

    conn = connect(cat)
    value, vtype = counter(conn)
    assert vtype == "real"
    new_kw = conn.execute(
        "SELECT id_local, id_global, genealogy, lc_name, name, parent, typeof(dateCreated), imageCountCache,"
        " includeOnExport, includeParents, includeSynonyms, keywordType FROM AgLibraryKeyword WHERE id_local >= ?",
        (int(start),),
    ).fetchall()
    new_ids = sorted(
        r[0]
        for t in ("AgLibraryKeyword", "AgLibraryKeywordImage", "AgLibraryIPTC", "Adobe_images")
        for r in conn.execute(f"SELECT id_local FROM {t} WHERE id_local >= ?", (int(start),))
    )
    # every new id comes from the counter (contiguous from its old value); the counter is the next free value
    assert new_ids == list(range(int(start), int(value)))
    assert not (kw_before & {r[0] for r in new_kw})
    gen = {r[0]: r[1] for r in conn.execute("SELECT id_local, genealogy FROM AgLibraryKeyword")}
    for kid, guid, genealogy, lc_name, name, parent, dtype, icc, inc1, inc2, inc3, ktype in new_kw:
        assert genealogy == f"{gen[parent]}/{len(str(kid))}{kid}"
        assert guid == guid.upper() and len(guid) == 36
        assert lc_name == name.lower() and dtype == "real"
        assert (icc, inc1, inc2, inc3, ktype) == (-1, 1, 1, 1, None)
    dup = conn.execute(
        "SELECT parent, lc_name, count(*) FROM AgLibraryKeyword GROUP BY parent, lc_name HAVING count(*) > 1"
    ).fetchall()
    assert dup == []
    dup_links = conn.execute(
        "SELECT image, tag FROM AgLibraryKeywordImage GROUP BY image, tag HAVING count(*) > 1"
    ).fetchall()
    assert dup_links == []
    types_after = _types(conn)
    for iid in (a.id, b.id):  # storage classes: REAL stays REAL (NULL rating becomes REAL like Lightroom)
        assert types_after[iid][1:] == types_before[iid][1:]
        assert types_after[iid][0] in ("real", types_before[iid][0])
    touch_after = dict(conn.execute("SELECT id_local, touchCount FROM Adobe_images"))
    assert touch_after[a.id] == touch_before[a.id] + 1 and touch_after[b.id] == touch_before[b.id] + 1
    untouched = [i for i in touch_before if i not in (a.id, b.id)]
    assert all(touch_after[i] == touch_before[i] for i in untouched)
    conn.close()
    assert integrity(cat) == "ok"

    # backup exists, opens, and holds the old state
    backup = Path(report.backup) / cat.name
    assert backup.is_file() and integrity(backup) == "ok"
    modern = cat.parent.name.startswith("cat-")
    assert report.wal_checkpointed is modern  # LR5 uses a rollback journal; 7+ run in WAL mode
    if modern:  # the fixture leaves data in a non-empty -wal and a .lrcat-data folder
        assert (Path(report.backup) / (cat.name + "-wal.original")).stat().st_size > 0
        assert (Path(report.backup) / (cat.name + "-data") / "masks" / "mask-0001.bin").is_file()
        wal = cat.with_name(
            cat.name + "-wal"
        )  # folded in by the checkpoint; SQLite drops it on the last close
        assert not wal.exists() or wal.stat().st_size == 0
    bconn = connect(backup)
    assert counter(bconn) == (start, "real")
    bconn.close()

    # idempotent: same plan again, and a fresh plan, add nothing
    before = digest(cat)
    again = apply(cat, p)
    assert (again.keywords_created, again.links_created, again.fields_changed) == (0, 0, 0)
    assert plan(cat, changes, opts).empty
    assert digest(cat) == before

    # remove only ours
    rm = remove_ours(cat)
    assert rm.links_removed == 3 and rm.keywords_removed == 4
    conn = connect(cat)
    assert (
        conn.execute("SELECT count(*) FROM AgLibraryKeyword WHERE id_local >= ?", (int(start),)).fetchone()[0]
        == 0
    )
    assert {r[0] for r in conn.execute("SELECT id_local FROM AgLibraryKeyword")} == kw_before
    conn.close()


@pytest.fixture
def modern_cat(shared_data: Path, tmp_path: Path):
    return build_catalog(shared_data, tmp_path / "m", "1100000")


def test_reuse_by_name_synonym_and_no_root_duplicates(modern_cat) -> None:
    cat, ids = modern_cat.path, modern_cat.ids
    photos, _ = _photos(cat)
    grandma = next(p for p in photos if p.id == ids["p_grandma"])
    changes = [PhotoChange(id=grandma.id, keywords=("Travel|lisbon", "Dusk", "Nature|Sunset", "Ann", "Dog"))]
    p = plan(cat, changes, WriteOptions(keyword_parent=None))
    links = {(lk.keyword_id, lk.keyword_path) for lk in p.links}
    assert (ids["kw_lisbon"], "Places|Europe|Lisbon") in links  # by name, case-insensitive, deep in the tree
    assert (ids["kw_sunset"], "Nature|Sunset") in links  # by synonym "Dusk" and by exact path (one link)
    assert [k.path for k in p.new_keywords] == [
        "Dog"
    ]  # "Ann" (a face) exists at the top: reused, not duplicated
    apply(cat, p)
    conn = connect(cat)
    root = int(
        conn.execute(
            "SELECT value FROM Adobe_variablesTable WHERE name='AgLibraryKeyword_rootTagID'"
        ).fetchone()[0]
    )
    top = [r[0] for r in conn.execute("SELECT lc_name FROM AgLibraryKeyword WHERE parent = ?", (root,))]
    assert len(top) == len(set(top)) and "nature" in top and "dog" in top
    tags = {
        r[0] for r in conn.execute("SELECT tag FROM AgLibraryKeywordImage WHERE image = ?", (grandma.id,))
    }
    assert {ids["kw_lisbon"], ids["kw_sunset"], ids["kw_ann"]} <= tags  # Ann: existing (face) link kept
    conn.close()
    # remove_ours takes back only what we added: recorded links to user keywords and our unused "Dog"
    rm = remove_ours(cat)
    assert (rm.links_removed, rm.keywords_removed) == (3, 1)
    conn = connect(cat)
    tags = {
        r[0] for r in conn.execute("SELECT tag FROM AgLibraryKeywordImage WHERE image = ?", (grandma.id,))
    }
    assert tags == {ids["kw_ann"]}
    names = {r[0] for r in conn.execute("SELECT lc_name FROM AgLibraryKeyword")}
    assert "dog" not in names and {"lisbon", "sunset", "nature", "ann"} <= names
    sunset_links = conn.execute(
        "SELECT count(*) FROM AgLibraryKeywordImage WHERE tag = ?", (ids["kw_sunset"],)
    )
    assert sunset_links.fetchone()[0] == 2  # the user's own links stay
    conn.close()
    # reuse off: created under our parent instead, nothing touched in the user's tree
    p2 = plan(cat, [PhotoChange(id=grandma.id, keywords=("Lisbon",))], WriteOptions(reuse_existing=False))
    assert [k.path for k in p2.new_keywords] == ["Pixel Detective", "Pixel Detective|Lisbon"]


def test_caption_only_where_empty_and_overwrite(modern_cat) -> None:
    cat, ids = modern_cat.path, modern_cat.ids
    changes = [PhotoChange(id=ids["p_sunset"], caption="AI"), PhotoChange(id=ids["p_grandma"], caption="AI")]
    p = plan(cat, changes)
    assert [(f.image_id, f.field) for f in p.fields] == [(ids["p_grandma"], "caption")]
    apply(cat, p)
    conn = connect(cat)
    caps = dict(conn.execute("SELECT image, caption FROM AgLibraryIPTC"))
    assert caps[ids["p_sunset"]] == "Sunset over the Tagus" and caps[ids["p_grandma"]] == "AI"
    conn.close()
    p = plan(cat, changes, WriteOptions(overwrite_caption=True))
    apply(cat, p)
    conn = connect(cat)
    assert dict(conn.execute("SELECT image, caption FROM AgLibraryIPTC"))[ids["p_sunset"]] == "AI"
    conn.close()


def test_what_filter_and_stale_plan(modern_cat) -> None:
    cat, ids = modern_cat.path, modern_cat.ids
    change = [PhotoChange(id=ids["p_grandma"], keywords=("X",), rating=2, pick=1)]
    p = plan(cat, change, WriteOptions(what=frozenset({"rating"})))
    assert [f.field for f in p.fields] == ["rating"] and not p.links
    # someone (Lightroom) changes the rating after planning: refused, nothing written
    conn = connect(cat)
    conn.execute("UPDATE Adobe_images SET rating = 5.0 WHERE id_local = ?", (ids["p_grandma"],))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = digest(cat)
    with pytest.raises(PlanStale):
        apply(cat, p)
    assert digest(cat) == before


def test_rules_unit() -> None:
    from catalog.write import evaluate

    rules = [Rule.parse("sharpness < 0.2 -> pick -1"), Rule.parse({"score": "quality", "op": ">=", "value": 0.8,
             "set": "rating", "to": 4}), Rule.parse("quality >= 0.5 -> rating 2")]  # fmt: skip
    assert evaluate(rules, {"quality": 0.9, "sharpness": 0.1}) == {"pick": -1, "rating": 4}
    assert evaluate(rules, {"quality": 0.6}) == {"rating": 2}
    assert evaluate(rules, {}) == {}
    with pytest.raises(ValueError):
        Rule.parse("quality >= 0.8 -> rating 9")
