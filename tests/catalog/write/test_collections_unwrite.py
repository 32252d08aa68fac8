"""`catalog unwrite` takes back collections written directly (`write_collections`, used by `cull --write
catalog`): on a copy of the real Lightroom 5 catalog, collections we created go, memberships our writes replaced
come back with their ids, and what the user did since is kept with the reason."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from catalog.reader import open_catalog
from catalog.write import remove_ours
from catalog.write.collections_write import COLLECTION, write_collections
from catalog.write.record import load_all

CATALOG = "catalogs/lr5_test_catalog_1.lrcat"


def _state(cat: Path) -> tuple[dict[str, set[int]], list[tuple[int, int, int]]]:
    """Plain collections by name → image ids, and every membership row (id, collection, image)."""
    with open_catalog(cat) as c:
        by_name = {k.name: set(k.image_ids) for k in c.collections() if not k.is_smart and not k.is_group}
    con = sqlite3.connect(cat)
    rows = sorted(con.execute("SELECT id_local, collection, image FROM AgLibraryCollectionImage"))
    con.close()
    return by_name, rows


def _paths(cat: Path) -> tuple[list[str], dict[str, int]]:
    with open_catalog(cat) as c:
        photos = sorted((p.path, p.id) for p in c.photos() if not p.is_virtual_copy)
    return [p for p, _ in photos], dict(photos)


def test_unwrite_removes_our_collections_after_two_writes(copy_shared) -> None:
    (cat,) = copy_shared(CATALOG)
    before = _state(cat)
    paths, _ids = _paths(cat)
    first = write_collections(cat, {"PD: picks": [paths[0]], "PD: rejects": [paths[1], paths[2]]})
    assert first.created == ["PD: picks", "PD: rejects"] and first.record
    # a re-run with other decisions: only the changed memberships are written (and recorded)
    second = write_collections(cat, {"PD: picks": [paths[1]], "PD: rejects": [paths[1], paths[2]]})
    assert second.created == [] and second.record
    again = write_collections(cat, {"PD: picks": [paths[1]], "PD: rejects": [paths[1], paths[2]]})
    assert again.record is None  # nothing changed: nothing recorded

    report = remove_ours(cat)
    assert report.collections_removed == 2 and report.integrity == "ok"
    assert "collections: 2 removed" in report.summary()
    assert _state(cat) == before
    assert load_all(Path(cat).resolve()) == []  # every record fully taken back


def test_unwrite_restores_the_users_members_and_keeps_what_they_added(copy_shared) -> None:
    (cat,) = copy_shared(CATALOG)
    paths, ids = _paths(cat)
    # the user's own top-level collection that happens to carry the name we write
    con = sqlite3.connect(cat)
    with con:
        top = con.execute("SELECT max(id_local) FROM Adobe_images").fetchone()[0] + 10_000
        con.execute(
            "INSERT INTO AgLibraryCollection (id_local, creationId, genealogy, imageCount, name, parent, systemOnly)"
            " VALUES (?, ?, ?, NULL, 'PD: picks', NULL, '0.0')",
            (top, COLLECTION, f"/{len(str(top))}{top}"),
        )
        con.execute(
            "INSERT INTO AgLibraryCollectionImage (id_local, collection, image, pick) VALUES (?, ?, ?, 0)",
            (top + 1, top, ids[paths[3]]),
        )
        con.execute(
            "UPDATE Adobe_variablesTable SET value = ? WHERE name = 'Adobe_entityIDCounter'", (top + 200,)
        )
    con.close()
    before = _state(cat)

    write_collections(cat, {"PD: picks": [paths[0]], "PD: eyes closed": [paths[1]]})
    mid, _ = _state(cat)
    assert mid["PD: picks"] == {ids[paths[0]]} and mid["PD: eyes closed"] == {ids[paths[1]]}
    # the user then adds a photo of their own to our new collection
    con = sqlite3.connect(cat)
    with con:
        eyes = con.execute(
            "SELECT id_local FROM AgLibraryCollection WHERE name = 'PD: eyes closed'"
        ).fetchone()[0]
        con.execute(
            "INSERT INTO AgLibraryCollectionImage (id_local, collection, image, pick) VALUES (?, ?, ?, 0)",
            (top + 100, eyes, ids[paths[2]]),
        )
    con.close()

    report = remove_ours(cat)
    assert report.members_restored == 1 and report.members_removed == 2 and report.collections_removed == 0
    assert any("eyes closed" in k.what and "you added 1 photo" in k.reason for k in report.kept)
    after, rows = _state(cat)
    assert after["PD: picks"] == before[0]["PD: picks"] == {ids[paths[3]]}  # the user's member is back…
    assert (top + 1, top, ids[paths[3]]) in rows  # …under its own id
    assert after["PD: eyes closed"] == {ids[paths[2]]}  # the user's addition stays, ours went
    # once the user empties it, a later unwrite takes the collection
    con = sqlite3.connect(cat)
    with con:
        con.execute("DELETE FROM AgLibraryCollectionImage WHERE id_local = ?", (top + 100,))
    con.close()
    assert remove_ours(cat).collections_removed == 1
    assert "PD: eyes closed" not in _state(cat)[0]
