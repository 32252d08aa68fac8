"""Offline originals indexed from the catalog's own previews, marked as such, upgraded when the originals are
back: a copy of the real Lightroom 5 catalog whose originals are not on this disk, previews built in
Lightroom's layout from real photos, and the real CLI."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bridge.engine import Engine
from bridge.indexing.standins import standins_dir
from bridge.settings import Settings
from tests.bridge.cli.test_cli import pd
from tests.catalog.lrdata import add_preview

# Adobe_images (id_local, id_global) of the LR5 catalog's photos, and the real photo each one's preview shows
PHOTOS = {
    21: ("50025F26-FBAA-4EE4-9C13-1A6D6AA65C83", "photo_landscape_el_torcal_rocks.jpg"),
    40: ("E06161A8-E13D-4255-8917-DA6FC4550981", "photo_animal_prairie_falcon.jpg"),
    63: ("FD4870D3-F419-404E-850B-F04FEDA25E24", "photo_plant_cyclamen_persicum.jpg"),
}  # 78 (_MAX3065.jpg) has no preview
PREVIEW_UUIDS = {21: "3829E5FC-7F3F-4B22-94F3-FB5E2C796026", 40: "6A2B9912-3868-45E4-AE0D-7EA73F66FF63",
                 63: "B089021B-7ACE-4A62-BD32-85A6C6AD5B9C"}  # fmt: skip


@pytest.fixture
def archive(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(catalog, originals folder): the LR5 catalog's roots moved under `originals/` (an unplugged drive)."""
    src = shared_data / "catalogs" / "lr5_test_catalog_1.lrcat"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    cat = tmp_path / "cat" / "Archive.lrcat"
    cat.parent.mkdir()
    shutil.copyfile(src, cat)
    originals = tmp_path / "originals"
    db = sqlite3.connect(cat)
    db.execute("UPDATE AgLibraryRootFolder SET absolutePath = ? || id_local || '/'", (f"{originals}/",))
    db.commit()
    db.close()
    for image_id, (_, name) in PHOTOS.items():
        add_preview(cat, image_id, PREVIEW_UUIDS[image_id], shared_data / "jpeg" / name)
    return cat, originals


def catalog_paths(cat: Path) -> dict[int, str]:
    db = sqlite3.connect(cat)
    rows = db.execute(
        "SELECT i.id_local, r.absolutePath || fo.pathFromRoot || f.baseName || '.' || f.extension"
        " FROM Adobe_images i JOIN AgLibraryFile f ON f.id_local = i.rootFile"
        " JOIN AgLibraryFolder fo ON fo.id_local = f.folder JOIN AgLibraryRootFolder r ON r.id_local = fo.rootFolder"
    )
    out = {int(i): str(p) for i, p in rows}
    db.close()
    return out


def payloads(settings: Settings) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    with Engine.open(settings) as engine:
        return {p["path"]: (np.asarray(v), p) for _, p, v in engine.store().scroll(with_vectors=True)}


def index(settings: Settings, cat: Path, *extra: str) -> dict[str, Any]:
    r = pd(settings.data_dir, "index", "--catalog", str(cat), "--model", settings.model, "--json", *extra)
    return dict(json.loads(r.stdout))


def test_offline_originals_are_indexed_from_previews_and_upgraded_when_back(
    settings: Settings, archive: tuple[Path, Path], shared_data: Path
) -> None:
    cat, originals = archive
    paths = catalog_paths(cat)
    first = index(settings, cat)
    assert (first["embedded"], first["failed"]) == (3, 0), first
    assert any("3 of 4 photos" in n and "Lightroom's previews" in n for n in first["notes"]), first["notes"]
    assert any("1 of 4 photos" in n and "no Lightroom preview" in n for n in first["notes"]), first["notes"]
    got = payloads(settings)
    assert set(got) == {paths[i] for i in PHOTOS}  # recorded under the originals' paths, not the copies'
    assert {p["pixel_source"] for _, p in got.values()} == {"lightroom-preview"}
    assert len(list(standins_dir(settings.data_dir).iterdir())) == 3

    again = index(settings, cat)  # nothing changed: nothing redone, the copies are left alone
    assert (again["embedded"], again["new_or_changed"]) == (0, 0), again

    # The drive comes back with two of the originals (a RAW name holding a JPEG: decoded by content).
    for image_id in (21, 63):
        target = Path(paths[image_id])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / "jpeg" / PHOTOS[image_id][1], target)
    back = index(settings, cat)
    assert (back["embedded"], back["failed"]) == (2, 0), back
    after = payloads(settings)
    assert set(after) == set(got)  # one point per photo: the previews' points were replaced, not kept
    for image_id in (21, 63):
        vec, payload = after[paths[image_id]]
        assert "pixel_source" not in payload
        assert not np.allclose(vec, got[paths[image_id]][0])  # embedded from the original's pixels
    assert after[paths[40]][1]["pixel_source"] == "lightroom-preview"
    assert len(list(standins_dir(settings.data_dir).iterdir())) == 1  # the returned ones' copies deleted

    off = index(settings, cat, "--no-catalog-previews")  # asked not to: nothing indexed from previews
    assert off["embedded"] == 0
    assert any("2 of 4 photos" in n and "--no-catalog-previews" in n for n in off["notes"]), off["notes"]


@pytest.mark.slow  # CI time: the default run keeps the offline-originals stand-in test; `scripts/test.sh -m slow` runs this
def test_search_shows_which_results_are_seen_through_a_preview(
    settings: Settings, archive: tuple[Path, Path], shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cat, _ = archive
    index(settings, cat)
    like = shared_data / "jpeg" / PHOTOS[40][1]
    model = ["--model", settings.model]
    r = pd(settings.data_dir, "search", "--like", str(like), *model, "--json", "-n", "1")
    (hit,) = json.loads(r.stdout)["results"]
    assert hit["path"] == catalog_paths(cat)[40] and hit["pixel_source"] == "lightroom-preview"
    monkeypatch.setenv("COLUMNS", "400")  # one line per row
    table = pd(settings.data_dir, "search", "--like", str(like), *model, "-n", "1").stdout
    assert "offline: from Lightroom's preview" in table
