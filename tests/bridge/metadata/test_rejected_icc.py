"""A phone HEIC whose ICC profile Exiv2 rejects ("Not a valid ICC Profile") keeps its camera metadata: make,
model, date and GPS come from the EXIF block pillow-heif extracts, and the photo is still indexed."""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
import subprocess
from pathlib import Path

import pyexiv2
import pytest

from bridge.engine import Engine
from bridge.metadata.read import read_metadata
from bridge.settings import Settings

SRC = Path("heic") / "Apple_iPhone15Pro.heic"


@pytest.fixture
def bad_icc(shared_data: Path, tmp_path: Path) -> Path:
    """The real iPhone 15 Pro HEIC with its `colr` box's ICC profile length set to 0 (as some editors write)."""
    src = shared_data / SRC
    if not src.is_file():
        pytest.skip(f"{src} not found")
    data = bytearray(src.read_bytes())
    at = data.find(b"colrprof") + 8
    assert at > 8
    data[at : at + 4] = struct.pack(">I", 0)
    out = tmp_path / "photos" / "IMG_0001.HEIC"
    out.parent.mkdir()
    out.write_bytes(bytes(data))
    return out


def test_exiv2_rejects_it_and_the_camera_metadata_survives(bad_icc: Path) -> None:
    with pytest.raises(RuntimeError, match="ICC"):  # the premise: Exiv2 refuses the whole file
        pyexiv2.ImageData(bad_icc.read_bytes()).read_exif()
    m = read_metadata(bad_icc)
    assert (m["camera_make"], m["camera_model"]) == ("Apple", "iPhone 15 Pro")
    assert m["captured_at"].startswith("2023-10-31T11:44:43")
    assert m["gps_lat"] == pytest.approx(52.4596, abs=1e-4)
    assert m["field_sources"]["camera_make"] == "pillow-exif"
    if shutil.which("exiftool"):  # the independent reader agrees (it warns about the profile)
        tool = json.loads(subprocess.run(["exiftool", "-j", "-n", str(bad_icc)], capture_output=True).stdout)[
            0
        ]
        assert "ICC" in tool.get("Warning", "")
        assert (tool["Make"], tool["Model"]) == (m["camera_make"], m["camera_model"])
        assert tool["GPSLatitude"] == pytest.approx(m["gps_lat"], abs=1e-6)


def test_it_is_indexed_with_its_metadata(settings: Settings, bad_icc: Path) -> None:
    with Engine.open(settings) as engine:
        summary = engine.indexer().run([str(bad_icc.parent)])
    assert (summary.embedded, summary.failed) == (1, 0), summary.failures_by_reason
    db = sqlite3.connect(settings.data_dir / "ledger.sqlite")
    (meta,) = [json.loads(m) for (m,) in db.execute("SELECT metadata FROM content")]
    db.close()
    assert meta["camera_model"] == "iPhone 15 Pro" and meta["gps_lat"] == pytest.approx(52.4596, abs=1e-4)
