"""Real-world files (issue 14): the content picks the decoder, JPEGs cut a little short are indexed as partial,
failures carry a named reason and a sentence, width/height are the displayed size. Real files from
../shared/data, copied to tmp_path first (the `shared_data` fixture skips when ../shared is absent)."""

from __future__ import annotations

import io
import re
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bridge.engine import Engine
from bridge.files import formats
from bridge.indexing.decode import PARTIAL_MIN_SHARE, decode_image
from bridge.records import DecodeError, Reason
from bridge.settings import Settings

pytestmark = pytest.mark.shared_data

FALCON = "jpeg/photo_animal_prairie_falcon.jpg"  # baseline, 800x533
NIKON = "jpeg/Nikon_D70_small.jpg"  # LibRaw "decoded" this one as a 99x66 RAW when it was named .nef
PROGRESSIVE = "jpeg/photo_city_japanese-shop.jpg"  # 10 scans, the last one starts at 65% of the file
ROTATED = "jpeg/Samsung_SM-J327T1_orient6.jpg"  # 2576x1932 stored, EXIF orientation 6


def copy(shared_data: Path, rel: str, dest: Path, cut: int = 0, keep: float = 1.0) -> Path:
    """A copy of a shared file at `dest`, less its last `cut` bytes or cut to the `keep` share."""
    data = (shared_data / rel).read_bytes()
    data = data[: int(len(data) * keep)] if keep < 1 else data
    dest.write_bytes(data[: len(data) - cut])
    return dest


def grey_rows(pixels: np.ndarray) -> int:
    """Rows at the bottom that are exact grey 128: libjpeg's fill for missing data."""
    flat = (pixels == 128).all(axis=(1, 2))
    return int(np.argmin(flat[::-1])) if not flat.all() else len(flat)


# --- the content decides the decoder --------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".nef", ".cr2", ".NEF"])
@pytest.mark.parametrize("rel", [NIKON, FALCON])
def test_jpeg_with_a_raw_extension_decodes_as_jpeg(
    shared_data: Path, tmp_path: Path, rel: str, ext: str
) -> None:
    as_jpeg = decode_image(copy(shared_data, rel, tmp_path / "x.jpg"))
    as_raw = decode_image(copy(shared_data, rel, tmp_path / f"x{ext}"))
    assert (as_raw.format, as_raw.source) == ("jpeg", "jpeg-draft")
    assert (
        (as_raw.width, as_raw.height) == (as_jpeg.width, as_jpeg.height) == Image.open(shared_data / rel).size
    )
    assert np.array_equal(as_raw.pixels, as_jpeg.pixels)


def test_png_named_jpg_decodes_as_png(shared_data: Path, tmp_path: Path) -> None:
    d = decode_image(copy(shared_data, "broken/png_renamed_as.jpg", tmp_path / "x.jpg"))
    assert (d.format, d.source) == ("png", "pillow")


def test_routing_rule() -> None:
    assert formats.decoder_for("a.nef", "jpeg") == "pillow"
    assert formats.decoder_for("a.jpg", "cr3") == "raw"
    assert formats.decoder_for("a.tif", "tiff", dng=True) == "raw"
    assert formats.decoder_for("a.nef", "tiff") == "raw"  # NEF, CR2, ARW are TIFF containers
    assert formats.decoder_for("a.tif", "tiff") == "pillow"
    assert formats.decoder_for("a.x3f", None) == "raw"  # no magic we know: the extension breaks the tie


def test_a_real_raw_still_goes_to_libraw(shared_data: Path, tmp_path: Path) -> None:
    (src,) = (shared_data / "raw").glob("RAW_KODAK_DC50_*.KDC")
    dest = tmp_path / "kodak.KDC"
    shutil.copyfile(src, dest)
    d = decode_image(dest)
    assert d.format == "raw" and d.source.startswith("raw-")


# --- partial JPEGs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [2, 16, 300, 2000])
def test_jpeg_cut_by_a_few_bytes_is_partial(shared_data: Path, tmp_path: Path, cut: int) -> None:
    whole = decode_image(copy(shared_data, FALCON, tmp_path / "whole.jpg"))
    d = decode_image(copy(shared_data, FALCON, tmp_path / "cut.jpg", cut=cut))
    assert d.partial is not None and PARTIAL_MIN_SHARE <= d.partial <= 1.0, d.partial
    assert (d.width, d.height, d.pixels.shape) == (whole.width, whole.height, whole.pixels.shape)
    rows = d.pixels.shape[0]
    decoded = int(rows * d.partial)
    # what was decoded is the photo itself; what was not is libjpeg's grey, never more than the share says
    assert np.abs(d.pixels[:decoded].astype(int) - whole.pixels[:decoded]).mean() < 1.0
    assert grey_rows(d.pixels) <= rows - decoded
    corner_grey = bool((d.pixels[-1, -8:] == 128).all())  # the last blocks libjpeg had no data for
    if cut == 2:  # only the EOI marker is missing: every row is there
        assert d.partial == 1.0 and not corner_grey and np.array_equal(d.pixels, whole.pixels)
    if cut == 2000:  # about 1% of the data: the bottom right is grey, the share says so
        assert d.partial < 1.0 and corner_grey


def test_jpeg_cut_in_half_fails_truncated(shared_data: Path, tmp_path: Path) -> None:
    for path in (
        copy(shared_data, FALCON, tmp_path / "half.jpg", keep=0.5),
        copy(shared_data, "broken/truncated_50pct_prairie_falcon.jpg", tmp_path / "shared_half.jpg"),
        copy(shared_data, ROTATED, tmp_path / "rotated_half.jpg", keep=0.5),
    ):
        with pytest.raises(DecodeError) as e:
            decode_image(path)
        assert e.value.reason == Reason.TRUNCATED, e.value.detail
        assert "% of the image rows" in e.value.detail and "Error" not in e.value.detail


def test_progressive_jpeg_partial_only_in_its_last_scan(shared_data: Path, tmp_path: Path) -> None:
    d = decode_image(copy(shared_data, PROGRESSIVE, tmp_path / "tail.jpg", cut=5000))
    assert d.partial == 1.0  # the last (refinement) scan is incomplete: every row shows, a little less detail
    with pytest.raises(DecodeError) as e:  # cut in half: an early scan, the whole image lacks detail
        decode_image(copy(shared_data, PROGRESSIVE, tmp_path / "half.jpg", keep=0.5))
    found = re.search(r"ends in scan (\d+) of 10", e.value.detail)
    assert e.value.reason == Reason.TRUNCATED and found and int(found[1]) < 10, e.value.detail


# --- clean failure reasons --------------------------------------------------------------------------------


def test_malformed_jpeg_gets_a_named_reason_not_keyerror(shared_data: Path, tmp_path: Path) -> None:
    """A marker byte flipped in a real camera JPEG (FFE1 -> FF02): Pillow's JPEG opener refuses it, and asking
    for "MPO" as a second opener used to raise KeyError('MPO'), which reached users as the reason text."""
    data = bytearray((shared_data / "jpeg/Canon_40D_small.jpg").read_bytes())
    second = 4 + struct.unpack(">H", data[4:6])[0]
    assert data[second : second + 2] == b"\xff\xe1"
    data[second + 1] = 0x02
    path = tmp_path / "malformed.jpg"
    path.write_bytes(bytes(data))
    with pytest.raises(KeyError):  # the trap itself: still in Pillow, so this test can tell
        Image.open(io.BytesIO(bytes(data)), formats=("JPEG", "MPO"))
    with pytest.raises(DecodeError) as e:
        decode_image(path)
    assert e.value.reason == Reason.CORRUPT
    assert "KeyError" not in e.value.detail and "MPO" not in e.value.detail and "Error" not in e.value.detail
    assert e.value.detail.startswith("the JPEG header is damaged"), e.value.detail


# --- width/height: the displayed size ------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 9))
def test_displayed_size_on_rotated_jpegs(shared_data: Path, tmp_path: Path, n: int) -> None:
    for name in (f"ianare_portrait_{n}.jpg", f"recurser_Landscape_{n}.jpg"):
        path = copy(shared_data, f"jpeg/orientation/{name}", tmp_path / name)
        stored = Image.open(path).size
        d = decode_image(path)
        expected = stored[::-1] if n >= 5 else stored
        assert (d.width, d.height) == expected, name
        assert d.pixels.shape[1] > d.pixels.shape[0] if expected[0] > expected[1] else True, name


@pytest.mark.parametrize(
    ("glob", "size"),
    [("Canon_EOS_D30_*.CRW", (2160, 1440)), ("RAW_KODAK_DC50_*.KDC", (768, 512))],
)
def test_displayed_size_on_raws(shared_data: Path, tmp_path: Path, glob: str, size: tuple[int, int]) -> None:
    """The output image (Canon's crop for the D30: what Lightroom and Exiv2 show), never the sensor."""
    (src,) = (shared_data / "raw").glob(glob)
    dest = tmp_path / ("photo" + src.suffix)
    shutil.copyfile(src, dest)
    d = decode_image(dest)
    assert (d.width, d.height) == size
    aspect = d.pixels.shape[1] / d.pixels.shape[0]
    assert aspect == pytest.approx(size[0] / size[1], rel=0.02)


# --- through the real pipeline ------------------------------------------------------------------------------


def index_folder(settings: Settings, folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Index `folder`; (payload per file name, failure row per file name) plus ledger metadata for failures."""
    with Engine.open(settings) as engine:
        summary = engine.index([str(folder)])
        assert summary.status == "completed"
        payloads = {Path(p["path"]).name: p for _, p, _ in engine.store().scroll(with_vectors=True)}
        failures = {Path(f.path).name: f for f in engine.ledger.failures()}
        fps = engine.ledger.fingerprints_for(str(folder / n) for n in failures)
        meta = engine.ledger.metadata_for(fps.values())
        failed_meta = {Path(p).name: meta.get(fp, {}) for p, fp in fps.items()}
    return payloads, {"failures": failures, "metadata": failed_meta}


def test_pipeline_indexes_real_world_files(settings: Settings, shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    copy(shared_data, NIKON, folder / "camera_jpeg.nef")
    copy(shared_data, FALCON, folder / "cut_2000.jpg", cut=2000)
    copy(shared_data, FALCON, folder / "cut_half.jpg", keep=0.5)
    copy(shared_data, ROTATED, folder / "rotated.jpg")
    copy(shared_data, ROTATED, folder / "rotated_half.jpg", keep=0.5)
    copy(shared_data, "jpeg/orientation/ianare_portrait_8.jpg", folder / "portrait_8.jpg")
    copy(shared_data, "raw/Apple_iPhone12Pro_ProRAW_stripped_IMG_1361.dng", folder / "stripped_flip6.dng")
    copy(shared_data, "raw/Canon_EOS_D30_RAW_CANON_D30_SRGB.CRW", folder / "d30.CRW")
    payloads, failed = index_folder(settings, folder)

    assert set(payloads) == {"camera_jpeg.nef", "cut_2000.jpg", "rotated.jpg", "portrait_8.jpg", "d30.CRW"}
    nef = payloads["camera_jpeg.nef"]
    assert (nef["file_format"], nef["width"], nef["height"], nef["ext"]) == ("jpeg", 100, 66, "nef")
    cut = payloads["cut_2000.jpg"]
    assert PARTIAL_MIN_SHARE <= cut["partial"] < 1.0 and "ends early" in cut["decode_note"]
    assert (cut["width"], cut["height"], cut["file_format"]) == (800, 533, "jpeg")
    assert all("partial" not in p for n, p in payloads.items() if n != "cut_2000.jpg")
    assert (payloads["rotated.jpg"]["width"], payloads["rotated.jpg"]["height"]) == (1932, 2576)
    stored = Image.open(folder / "portrait_8.jpg").size
    assert (payloads["portrait_8.jpg"]["width"], payloads["portrait_8.jpg"]["height"]) == stored[::-1]
    assert (
        payloads["d30.CRW"]["width"],
        payloads["d30.CRW"]["height"],
        payloads["d30.CRW"]["file_format"],
    ) == (
        2160,
        1440,
        "raw",
    )

    fails, meta = failed["failures"], failed["metadata"]
    assert {n: f.reason for n, f in fails.items()} == {
        "cut_half.jpg": Reason.TRUNCATED,
        "rotated_half.jpg": Reason.TRUNCATED,
        "stripped_flip6.dng": Reason.RAW_NO_IMAGE,
    }
    assert all("Error" not in f.detail for f in fails.values())
    # failed decodes: the displayed size too, from metadata + orientation (or LibRaw's flip)
    assert (meta["rotated_half.jpg"]["width"], meta["rotated_half.jpg"]["height"]) == (1932, 2576)
    assert (meta["stripped_flip6.dng"]["width"], meta["stripped_flip6.dng"]["height"]) == (3024, 4032)
    assert meta["rotated_half.jpg"]["file_format"] == "jpeg"
