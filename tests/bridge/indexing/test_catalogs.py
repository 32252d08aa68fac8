"""`index --catalog` with the originals on an offline drive: a copy of the real Lightroom 5 catalog, whose
originals (under /Users/maxmouchet/…) are not on this machine, is reported as offline — how many photos, which
volume or folder is missing, whether Lightroom's previews stand in or could — never as a usage error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bridge.indexing.catalogs import catalog_sources, missing_top, offline_summary
from bridge.indexing.standins import OfflinePhoto
from tests.bridge.cli.test_cli import pd
from tests.catalog.lrdata import add_preview


@pytest.fixture
def lr5(shared_data: Path, tmp_path: Path) -> Path:
    src = shared_data / "catalogs" / "lr5_test_catalog_1.lrcat"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    cat = tmp_path / "cat" / "Archive.lrcat"
    cat.parent.mkdir()
    shutil.copyfile(src, cat)
    return cat


def test_missing_top_is_the_volume_or_folder_that_is_gone(tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    assert missing_top("/Volumes/Archive/2013/IMG_1.CR2") == "/Volumes"
    assert missing_top(f"{tmp_path}/gone/2013/IMG_1.CR2") == f"{tmp_path}/gone"
    assert missing_top(f"{tmp_path}/here/IMG_1.CR2") == f"{tmp_path}/here"  # only the file is gone
    assert missing_top("E:/Photos/2013/IMG_1.NEF") == "E:/"  # a Windows drive letter, as Lightroom spells it


def test_offline_summary_counts_photos_per_missing_volume_and_folder(tmp_path: Path) -> None:
    offline = [OfflinePhoto(i, f"U{i}", f"{tmp_path}/Archive/{y}/IMG_{i}.CR2") for i, y in
               [(1, 2013), (2, 2013), (3, 2014)]] + [OfflinePhoto(4, "U4", "E:/Photos/IMG_4.NEF")]  # fmt: skip
    text = offline_summary(tmp_path / "X.lrcat", offline, 10)
    assert text.startswith("4 of 10 photos in X.lrcat are offline: their originals are not on this machine")
    assert f"{tmp_path}/Archive is missing (3 photos, in {tmp_path}/Archive/2013 (2), {tmp_path}/Archive/2014 (1))" in text
    assert "E:/ is missing (1 photo, in E:/Photos (1))" in text


def test_index_catalog_with_every_original_offline_says_so(lr5: Path, tmp_path: Path) -> None:
    r = pd(tmp_path / "pd", "index", "--catalog", str(lr5), check=False)
    assert r.returncode == 1, r.stderr  # not a usage error: the command line was right
    err = " ".join(r.stderr.split())
    assert "name at least one folder" not in err
    assert "all 4 of 4 photos in Archive.lrcat are offline" in err
    assert "/Users is missing (4 photos, in /Users/maxmouchet/" in err
    assert "no Archive Previews.lrdata beside the catalog" in err and "Build Standard-Sized Previews" in err
    assert "Traceback" not in r.stderr


def test_previews_that_could_stand_in_are_named(lr5: Path, shared_data: Path, tmp_path: Path) -> None:
    """With --no-catalog-previews the note says how many offline photos Lightroom's previews could cover."""
    add_preview(lr5, 40, "6A2B9912-3868-45E4-AE0D-7EA73F66FF63", shared_data / "jpeg" / "Canon_40D_small.jpg")
    roots, stand_ins, notes = catalog_sources([lr5], tmp_path / "pd", previews=False)
    assert (roots, stand_ins) == ([], [])
    said = " ".join(notes)
    assert "4 of 4 photos in Archive.lrcat are offline" in said
    assert "--no-catalog-previews" in said and "previews could stand in for 1 of them" in said
    roots, stand_ins, notes = catalog_sources([lr5], tmp_path / "pd", previews=True)
    assert len(stand_ins) == 1 and "indexed from Lightroom's previews" in " ".join(notes)
    assert "has none for them" in " ".join(notes)  # the other 3: a previews folder without theirs
