"""`pixel-detective cull` end to end: a real photo made into a burst (blur ladder, motion blur) and an exposure
bracket, indexed, culled, an override kept across a re-run, decisions written to XMP sidecars and to a copy of
the real LR5 catalog (flags and collections read back)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from catalog.reader import open_catalog
from tests.bridge.cli.test_cli import pd


def _save(px: np.ndarray, path: Path, when: str, subsec: str, bias: float = 0.0) -> None:
    im = Image.fromarray(px)
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R5"
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = when
    ifd[0x9291] = subsec
    ifd[0x829A] = 1 / 500
    ifd[0x829D] = 5.6
    ifd[0x8827] = 400
    ifd[0x9204] = bias
    im.save(path, quality=92, exif=exif)


def _shoot(shared_data: Path, folder: Path) -> None:
    folder.mkdir(parents=True)
    im = Image.open(shared_data / "jpeg" / "photo_animal_prairie_falcon.jpg")
    im.draft("RGB", (900, 600))
    sharp = np.asarray(im.convert("RGB"))
    k = np.zeros((15, 15), np.float32)
    k[7, :] = 1 / 15
    frames = [
        ("burst_1.jpg", cv2.GaussianBlur(sharp, (0, 0), 2.0)),
        ("burst_2.jpg", sharp),
        ("burst_3.jpg", cv2.filter2D(sharp, -1, k)),
        ("burst_4.jpg", cv2.GaussianBlur(sharp, (0, 0), 4.0)),
    ]
    for i, (name, px) in enumerate(frames):
        _save(px, folder / name, "2024:05:01 10:00:00", f"{i * 2}0")
    land = Image.open(shared_data / "jpeg" / "Sony_DSC-HX5V_GPS.jpg").convert("RGB")
    base = np.asarray(land)
    for i, (bias, gain) in enumerate(((0.0, 1.0), (-2.0, 0.3), (2.0, 2.5))):
        px = np.clip(base.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        _save(px, folder / f"bracket_{i}.jpg", "2024:05:01 11:00:00", f"{i * 3}0", bias=bias)


@pytest.mark.slow  # indexes 7 photos, runs the CLI 6 times: ~25 s idle, 1.5-3 min on the loaded shared box
def test_cull_picks_the_sharpest_keeps_brackets_and_overrides(
    settings, shared_data: Path, tmp_path: Path, monkeypatch, copy_shared
) -> None:
    folder = tmp_path / "shoot"
    _shoot(shared_data, folder)
    monkeypatch.setenv("PIXEL_DETECTIVE_MODEL", settings.model)
    model: list[str] = []
    pd(settings.data_dir, "index", str(folder))
    got = json.loads(pd(settings.data_dir, "cull", str(folder), "--json", *model).stdout)
    by = {Path(p["path"]).name: p for p in got["photos"]}
    assert by["burst_2.jpg"]["decision"] == "pick" and by["burst_2.jpg"]["rank"] == 1
    assert "sharpest_in_group" in by["burst_2.jpg"]["reasons"]
    assert all(by[f"burst_{i}.jpg"]["decision"] == "reject" for i in (1, 3, 4))
    assert "motion_blur" in by["burst_3.jpg"]["reasons"]
    brackets = [by[f"bracket_{i}.jpg"] for i in range(3)]
    assert {b["decision"] for b in brackets} == {"pick"}
    assert all("exposure_bracket" in b["reasons"] for b in brackets)

    # the user's reject of the best frame and pick of a blurred one survive a re-run
    pd(
        settings.data_dir, "cull", str(folder), "--reject", str(folder / "burst_2.jpg"),
        "--pick", str(folder / "burst_4.jpg"), "--json", *model,
    )  # fmt: skip
    again = json.loads(pd(settings.data_dir, "cull", str(folder), "--json", "--write", "xmp", *model).stdout)
    by = {Path(p["path"]).name: p for p in again["photos"]}
    assert by["burst_2.jpg"]["decision"] == "reject" and by["burst_2.jpg"]["overridden"]
    assert by["burst_4.jpg"]["decision"] == "pick" and "user_choice" in by["burst_4.jpg"]["reasons"]
    # XMP: a pick's rating 3 and a reject's 1 (flags have no XMP form), read back
    xmp_pick = (folder / "burst_4.xmp").read_text()
    xmp_reject = (folder / "burst_2.xmp").read_text()
    assert 'Rating="3"' in xmp_pick or "<xmp:Rating>3</xmp:Rating>" in xmp_pick
    assert 'Rating="1"' in xmp_reject or "<xmp:Rating>1</xmp:Rating>" in xmp_reject

    r = pd(settings.data_dir, "cull", str(folder), "--target", "150%", check=False)
    assert r.returncode == 2 and "share" in r.stderr

    # the real LR5 catalog, its four photos pointed at the burst: flags and collections written and read back
    cat = _catalog_of(copy_shared, folder, tmp_path)
    done = json.loads(pd(settings.data_dir, "cull", "--catalog", str(cat), "--write", "catalog", "--json").stdout)
    assert done["written"]["collections"]["Pixel Detective: picks"] == 1
    with open_catalog(cat) as c:
        flags = {Path(p.path).name: p.pick for p in c.photos()}
        names = {k.name for k in c.collections()}
    assert flags == {"burst_1.jpg": -1, "burst_2.jpg": -1, "burst_3.jpg": -1, "burst_4.jpg": 1}
    assert {"Pixel Detective: picks", "Pixel Detective: rejects", "Pixel Detective: eyes closed"} <= names


def _catalog_of(copy_shared, folder: Path, tmp_path: Path) -> Path:
    """A copy of the real LR5 catalog whose four photos are the burst's four frames in `folder`."""
    (cat,) = copy_shared("catalogs/lr5_test_catalog_1.lrcat", dest=tmp_path / "catalog")
    conn = sqlite3.connect(cat)
    with conn:
        # every file into the top folder of one root, and that root is the shoot
        root, top = conn.execute(
            "SELECT rootFolder, id_local FROM AgLibraryFolder WHERE pathFromRoot = '' ORDER BY id_local"
        ).fetchone()
        conn.execute("UPDATE AgLibraryRootFolder SET absolutePath = ? WHERE id_local = ?", (f"{folder}/", root))
        conn.execute("UPDATE AgLibraryFile SET folder = ?", (top,))
        ids = [r[0] for r in conn.execute("SELECT id_local FROM AgLibraryFile ORDER BY id_local")]
        for i, fid in enumerate(ids, 1):
            name = f"burst_{i}"
            conn.execute(
                "UPDATE AgLibraryFile SET baseName = ?, extension = 'jpg', idx_filename = ?, "
                "lc_idx_filename = ?, originalFilename = ? WHERE id_local = ?",
                (name, f"{name}.jpg", f"{name}.jpg", f"{name}.jpg", fid),
            )
    conn.close()
    return cat


def test_cull_usage_errors(data_dir: Path, tmp_path: Path) -> None:
    r = pd(data_dir, "cull", str(tmp_path), check=False)
    assert r.returncode == 1 and "no index at" in r.stderr and not data_dir.exists()  # nothing created
    r = pd(data_dir, "cull", check=False)
    assert r.returncode == 2 and "FOLDER or --catalog" in r.stderr
    r = pd(data_dir, "cull", str(tmp_path), "--write", "catalog", check=False)
    assert r.returncode == 2 and "--catalog" in r.stderr


def test_cull_of_a_catalog_lightroom_has_open_points_to_the_plugin(data_dir: Path, copy_shared) -> None:
    """Lightroom holds the catalog (its lock file names a running process): 75, and the way that works."""
    import os

    from catalog.lock import lock_file_for

    (cat,) = copy_shared("catalogs/lr5_test_catalog_1.lrcat")
    lock_file_for(cat).write_text(f"Adobe Lightroom Classic\n{os.getpid()}\n")
    r = pd(data_dir, "cull", "--catalog", str(cat), "--write", "catalog", check=False)
    assert r.returncode == 75 and "Lightroom has this catalog open" in r.stderr
    assert "cull FOLDER --write lightroom" in " ".join(r.stderr.split()) and "Traceback" not in r.stderr
