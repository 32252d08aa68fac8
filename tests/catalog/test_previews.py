"""Lightroom's previews as pixels for offline originals: finding them, reading the largest JPEG level, refusing
damaged ones with a sentence."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from catalog.previews import (
    PreviewError,
    PreviewSource,
    find_previews,
    largest_level,
    lrprev_sections,
    previews_dir,
    read_preview,
    write_lrprev,
)
from tests.catalog.lrdata import add_preview, add_smart_preview, jpeg_levels

U1 = "3829E5FC-7F3F-4B22-94F3-FB5E2C796026"
U2 = "6A2B9912-3868-45E4-AE0D-7EA73F66FF63"


@pytest.fixture
def photo(shared_data: Path) -> Path:
    p = shared_data / "jpeg" / "photo_landscape_el_torcal_rocks.jpg"
    if not p.is_file():
        pytest.skip(f"{p} not found")
    return p


def test_the_largest_jpeg_level_is_read(photo: Path, tmp_path: Path) -> None:
    p = tmp_path / "x.lrprev"
    write_lrprev(p, jpeg_levels(photo, (64, 256, 128)))  # order in the file does not decide: the level number
    names = [s.name for s in lrprev_sections(p.read_bytes())]
    assert names == ["header", "level_1", "level_2", "level_3"]
    with Image.open(io.BytesIO(largest_level(p.read_bytes()))) as im:
        assert max(im.size) == 128  # level_3, the last level
    write_lrprev(p, jpeg_levels(photo, (64, 256)))
    with Image.open(io.BytesIO(largest_level(p.read_bytes()))) as im:
        assert max(im.size) == 256


def test_damaged_previews_are_a_sentence_never_a_crash(photo: Path, tmp_path: Path) -> None:
    p = tmp_path / "x.lrprev"
    write_lrprev(p, jpeg_levels(photo))
    data = p.read_bytes()
    with pytest.raises(PreviewError, match="cut short"):
        largest_level(data[: len(data) // 2])
    with pytest.raises(PreviewError, match="does not start"):
        largest_level(b"\xff\xd8\xff" + data)
    write_lrprev(p, [("header", b"return {}")])
    with pytest.raises(PreviewError, match="no JPEG level"):
        largest_level(p.read_bytes())


def test_find_previews_prefers_the_standard_preview_then_the_smart_one(
    photo: Path, shared_data: Path, tmp_path: Path
) -> None:
    dngs = sorted((shared_data / "raw").glob("*.dng"))
    if not dngs:
        pytest.skip("no DNG in ../shared/data/raw")
    dng = dngs[0]
    cat = tmp_path / "Archive.lrcat"
    cat.write_bytes(b"")
    add_preview(cat, 11, U1, photo)
    add_smart_preview(cat, "GLOBAL-11", dng)  # both: the standard one wins (rendered as Lightroom shows it)
    add_smart_preview(cat, "GLOBAL-12", dng)  # only a smart preview
    found = find_previews(cat, [(11, "GLOBAL-11"), (12, "GLOBAL-12"), (13, "GLOBAL-13")])
    assert sorted(found) == [11, 12]
    assert found[11].kind == "lightroom-preview" and found[11].orientation == "AB"
    assert found[12].kind == "lightroom-smart-preview"
    with Image.open(io.BytesIO(read_preview(found[11]))) as im:
        assert max(im.size) == 320
    assert read_preview(found[12]) == dng.read_bytes()


def test_names_from_the_preview_index_never_leave_its_folder(photo: Path, tmp_path: Path) -> None:
    cat = tmp_path / "Archive.lrcat"
    cat.write_bytes(b"")
    add_preview(cat, 1, U2, photo)
    import sqlite3

    db = sqlite3.connect(previews_dir(cat) / "previews.db")
    db.execute("UPDATE ImageCacheEntry SET uuid = '../../../etc' WHERE imageId = 1")
    db.commit()
    db.close()
    assert find_previews(cat, [(1, "G1")]) == {}


def test_an_unreadable_preview_index_is_named(tmp_path: Path) -> None:
    cat = tmp_path / "Archive.lrcat"
    previews_dir(cat).mkdir()
    (previews_dir(cat) / "previews.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(PreviewError, match=r"previews\.db is not a readable Lightroom preview index"):
        find_previews(cat, [(1, "G1")])
    assert find_previews(tmp_path / "Other.lrcat", [(1, "G1")]) == {}  # no previews at all: nothing, no error
    with pytest.raises(PreviewError, match="cannot read the Lightroom preview"):
        read_preview(PreviewSource(1, "lightroom-preview", tmp_path / "gone.lrprev"))
