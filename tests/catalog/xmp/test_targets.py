"""Where `xmp write` puts metadata so that Lightroom reads it (catalog/xmp/targets.py): a sidecar for RAW files
only; JPEG/TIFF/DNG only when embedding is asked (inside the file), skipped with a reason otherwise; other
formats skipped. Checked on copies of real files, the results re-read with ExifTool."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli.app import app
from catalog.xmp import XmpUpdate, plan_photo, target, write_photo

UPDATE = XmpUpdate(keywords=("Animals|Dog",), rating=4)


def _exiftool(path: Path) -> dict:
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool not installed")
    out = subprocess.run(
        ["exiftool", "-j", "-XMP-lr:HierarchicalSubject", "-XMP-xmp:Rating", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)[0]


@pytest.mark.parametrize(
    ("name", "naming", "embed", "where", "reason"),
    [
        ("IMG_1.CR2", "name", False, "sidecar", None),
        ("IMG_1.nef", "name", True, "sidecar", None),  # never inside a proprietary RAW
        ("IMG_1.JPG", "name", False, "skipped", "embedded-only"),
        ("IMG_1.tif", "name", False, "skipped", "embedded-only"),
        ("IMG_1.dng", "name", False, "skipped", "embedded-only"),
        ("IMG_1.dng", "name", True, "embedded", None),
        ("IMG_1.jpeg", "name", True, "embedded", None),
        ("IMG_1.png", "name", True, "skipped", "no-sidecar-format"),
        ("IMG_1.heic", "name", False, "skipped", "no-sidecar-format"),
        ("IMG_1.JPG", "name.ext", False, "sidecar", None),  # darktable / digiKam read IMG_1.JPG.xmp
    ],
)
def test_target(name: str, naming: str, embed: bool, where: str, reason: str | None) -> None:
    t = target(Path("/p") / name, naming, embed=embed)  # type: ignore[arg-type]
    assert (t.where, t.reason) == (where, reason)


def test_cli_writes_only_where_lightroom_reads(copy_shared) -> None:
    files = copy_shared(
        "raw/exiftool_Nikon_D70.nef", "jpeg/Canon_40D_small.jpg", "raw/canon_eos_6d.dng",
        "tiff/BlueSquare_XMP_sample.tif", "png/BlueSquare_XMP_sample.png",
    )  # fmt: skip
    nef, jpg, dng, tif, png = files
    before = {p: p.read_bytes() for p in files}
    res = CliRunner().invoke(app, ["xmp", "write", *map(str, files), "-k", "Dog", "--json"])
    assert res.exit_code == 0, res.output
    rows = {Path(r["path"]).name: (r["status"], r["reason"]) for r in json.loads(res.stdout)}
    assert rows == {
        "exiftool_Nikon_D70.xmp": ("written", None),
        "Canon_40D_small.jpg": ("skipped", "embedded-only"),
        "canon_eos_6d.dng": ("skipped", "embedded-only"),
        "BlueSquare_XMP_sample.tif": ("skipped", "embedded-only"),
        "BlueSquare_XMP_sample.png": ("skipped", "no-sidecar-format"),
    }
    assert {p: p.read_bytes() for p in files} == before  # no original touched
    assert sorted(p.name for p in nef.parent.parent.rglob("*.xmp")) == ["exiftool_Nikon_D70.xmp"]
    assert _exiftool(nef.with_suffix(".xmp"))["HierarchicalSubject"] == "Dog"
    text = CliRunner().invoke(app, ["xmp", "write", str(jpg), "-k", "Dog"]).output
    assert "skipped" in text and "embedded-only" in text and "--embed" in text  # the reason, in words

    res = CliRunner().invoke(app, ["xmp", "write", str(jpg), str(dng), str(tif), "-k", "Dog", "--embed"])
    assert res.exit_code == 0, res.output
    for p in (jpg, dng, tif):
        tags = _exiftool(p)
        assert "Dog" in (tags["HierarchicalSubject"], *tags["HierarchicalSubject"]), (p, tags)
        assert not p.with_suffix(".xmp").exists()
    assert png.read_bytes() == before[png]


def test_dry_run_says_skipped_and_inside_the_photo(copy_shared) -> None:
    jpg, dng = copy_shared("jpeg/Canon_40D_small.jpg", "raw/canon_eos_6d.dng")
    before = jpg.read_bytes(), dng.read_bytes()
    skipped = plan_photo(jpg, UPDATE)
    assert skipped.reason == "embedded-only" and skipped.skipped and not skipped.error
    inside = plan_photo(dng, UPDATE, embed=True)
    assert inside.embedded and inside.error is None and any("hierarchicalSubject" in c for c in inside.changes)
    assert (jpg.read_bytes(), dng.read_bytes()) == before


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("raw/Apple_iPhone12Pro_ProRAW_stripped_IMG_1361.dng", "verify-failed"),  # Exiv2 would drop strips
        ("raw/exiftool_DNG.dng", "io-error"),  # Exiv2 cannot read its maker notes: never rewritten
    ],
)
def test_dng_that_exiv2_would_damage_is_left_alone(copy_shared, rel: str, reason: str) -> None:
    (dng,) = copy_shared(rel)
    before = dng.read_bytes()
    r = write_photo(dng, UPDATE, embed=True)
    assert (r.status, r.reason) == ("failed", reason), r
    assert dng.read_bytes() == before and not dng.with_suffix(".xmp").exists()
