"""The real LR 5.0 catalog: every value the reader returns, checked against plain sqlite3 queries on a copy."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from catalog.reader import open_catalog
from catalog.version import Layout


@pytest.fixture
def oracle(lr5_catalog: Path, tmp_path: Path) -> sqlite3.Connection:
    """An independent connection on a second copy, so the reader's copy and this one cannot influence each other."""
    second = tmp_path / "oracle.lrcat"
    shutil.copyfile(lr5_catalog, second)
    return sqlite3.connect(second)


def test_version(lr5_catalog: Path) -> None:
    with open_catalog(lr5_catalog) as cat:
        assert cat.version.raw == "0500006"
        assert cat.version.layout is Layout.LEGACY


def test_photos_match_plain_sql(lr5_catalog: Path, oracle: sqlite3.Connection) -> None:
    rows = oracle.execute(
        "SELECT i.id_local, i.id_global, r.absolutePath || fo.pathFromRoot || f.baseName || '.' || f.extension,"
        " i.captureTime, i.fileFormat, CAST(i.fileWidth AS INT), CAST(i.fileHeight AS INT), i.orientation,"
        " CAST(i.pick AS INT), i.masterImage"
        " FROM Adobe_images i, AgLibraryFile f, AgLibraryFolder fo, AgLibraryRootFolder r"
        " WHERE f.id_local = i.rootFile AND fo.id_local = f.folder AND r.id_local = fo.rootFolder"
        " ORDER BY i.id_local"
    ).fetchall()
    assert len(rows) == 4
    with open_catalog(lr5_catalog) as cat:
        got = [
            (p.id, p.uuid, p.path, p.capture_time, p.file_format, p.width, p.height, p.orientation, p.pick,
             p.master_id)
            for p in cat.photos()
        ]  # fmt: skip
    assert got == rows
    # Spot values read by eye from the catalog, so a shared mistake in both queries would still fail.
    assert got[0][2] == "/Users/maxmouchet/Pictures/2013/12-01 (MO) Pre-party Phoelix/_MAX7667.NEF"
    assert got[2][2] == "/Users/maxmouchet/Dropbox/Photos/Exports Random/fb_vaasa/_MAX3047.jpg"
    assert got[0][3] == "2013-12-01T22:39:09.42"
    assert (got[0][4], got[0][5], got[0][6]) == ("RAW", 4256, 2832)


def test_unset_fields_are_none_not_empty(lr5_catalog: Path, oracle: sqlite3.Connection) -> None:
    assert oracle.execute("SELECT DISTINCT colorLabels FROM Adobe_images").fetchall() == [("",)]
    assert oracle.execute("SELECT count(*) FROM AgLibraryIPTC WHERE caption IS NOT NULL").fetchone() == (0,)
    with open_catalog(lr5_catalog) as cat:
        for p in cat.photos():
            assert (p.rating, p.color_label, p.caption, p.title, p.keywords) == (None, None, None, None, ())
            assert not p.is_virtual_copy and not p.is_windows_path


def test_keywords_only_root(lr5_catalog: Path, oracle: sqlite3.Connection) -> None:
    (root,) = oracle.execute(
        "SELECT value FROM Adobe_variablesTable WHERE name='AgLibraryKeyword_rootTagID'"
    ).fetchone()
    with open_catalog(lr5_catalog) as cat:
        tree = cat.keyword_tree()
    assert tree.root_id == int(root) == 20
    assert tree.by_id == {}  # the root itself is not a user keyword


def test_collections_match_plain_sql(lr5_catalog: Path, oracle: sqlite3.Connection) -> None:
    rows = oracle.execute(
        "SELECT id_local, name, creationId, parent FROM AgLibraryCollection ORDER BY id_local"
    ).fetchall()
    with open_catalog(lr5_catalog) as cat:
        got = [(c.id, c.name, c.kind, c.parent_id) for c in cat.collections()]
        smart = [c.name for c in cat.collections() if c.is_smart]
    assert got == rows
    assert "Five Stars" in smart and len(smart) == 6


def test_reading_leaves_the_file_untouched(lr5_catalog: Path) -> None:
    before = (lr5_catalog.read_bytes(), lr5_catalog.stat().st_mtime_ns)
    with open_catalog(lr5_catalog) as cat:
        cat.photos()
    assert (lr5_catalog.read_bytes(), lr5_catalog.stat().st_mtime_ns) == before
    assert sorted(p.name for p in lr5_catalog.parent.iterdir()) == [
        lr5_catalog.name
    ]  # no -journal, -wal, -shm
