"""R18: naming matrix (RAW, RAW+JPEG pair, DNG, JPEG; name.ext.xmp configurable) and opt-in embedding."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.xmp import XmpUpdate, read_sidecar, sidecar_path, write_sidecar
from catalog.xmp.embed import write_embedded


@pytest.mark.parametrize(
    ("photo", "name", "name_ext"),
    [
        ("IMG_1.CR2", "IMG_1.xmp", "IMG_1.CR2.xmp"),
        ("DSC_2.nef", "DSC_2.xmp", "DSC_2.nef.xmp"),
        ("IMG_3.dng", "IMG_3.xmp", "IMG_3.dng.xmp"),
        ("IMG_4.JPG", "IMG_4.xmp", "IMG_4.JPG.xmp"),
        ("a.b.tif", "a.b.xmp", "a.b.tif.xmp"),
    ],
)
def test_sidecar_names(photo: str, name: str, name_ext: str) -> None:
    assert sidecar_path(Path("/p") / photo) == Path("/p") / name
    assert sidecar_path(Path("/p") / photo, "name.ext") == Path("/p") / name_ext


def test_unknown_naming_rejected() -> None:
    with pytest.raises(ValueError):
        sidecar_path(Path("x.CR2"), "whatever")  # type: ignore[arg-type]


def test_raw_jpeg_pair_shares_one_merged_sidecar(tmp_path: Path) -> None:
    raw, jpg = tmp_path / "IMG_1.CR2", tmp_path / "IMG_1.JPG"
    raw.write_bytes(b"raw"), jpg.write_bytes(b"jpg")
    assert write_sidecar(raw, XmpUpdate(keywords=("from-raw",), rating=3)).status == "written"
    assert write_sidecar(jpg, XmpUpdate(keywords=("from-jpeg",))).status == "written"
    assert write_sidecar(jpg, XmpUpdate(keywords=("from-jpeg",))).status == "unchanged"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_1.CR2", "IMG_1.JPG", "IMG_1.xmp"]
    data = read_sidecar(tmp_path / "IMG_1.xmp")
    assert data.hierarchical == ("from-raw", "from-jpeg") and data.rating == 3


def test_name_ext_keeps_pair_apart(tmp_path: Path) -> None:
    raw, jpg = tmp_path / "IMG_1.CR2", tmp_path / "IMG_1.JPG"
    raw.write_bytes(b"raw"), jpg.write_bytes(b"jpg")  # sidecars are only written for photos that exist
    write_sidecar(raw, XmpUpdate(keywords=("r",)), naming="name.ext")
    write_sidecar(jpg, XmpUpdate(keywords=("j",)), naming="name.ext")
    assert read_sidecar(tmp_path / "IMG_1.CR2.xmp").keywords == ("r",)
    assert read_sidecar(tmp_path / "IMG_1.JPG.xmp").keywords == ("j",)


def test_dng_and_jpeg_default_to_sidecar(copy_shared) -> None:
    dng, jpg = copy_shared("raw/exiftool_DNG.dng", "jpeg/Canon_40D_small.jpg")
    before = dng.read_bytes(), jpg.read_bytes()
    for photo in (dng, jpg):
        assert write_sidecar(photo, XmpUpdate(keywords=("k",))).status == "written"
        assert photo.with_suffix(".xmp").exists()
    assert (dng.read_bytes(), jpg.read_bytes()) == before


@pytest.mark.parametrize("rel", ["raw/exiftool_Nikon_D70.nef", "raw/exiftool_CanonRaw_EOS350D.cr2"])
def test_embedding_refused_for_raw(copy_shared, rel: str) -> None:
    """Proprietary RAWs are never written into (DNG takes embedded XMP when asked: test_targets.py)."""
    (photo,) = copy_shared(rel)
    before = photo.read_bytes()
    result = write_embedded(photo, XmpUpdate(keywords=("k",)))
    assert (result.status, result.reason) == ("failed", "not-embeddable")
    assert photo.read_bytes() == before


def test_embed_into_jpeg_when_asked(copy_shared) -> None:
    import pyexiv2

    (jpg,) = copy_shared("jpeg/Canon_EOS-1D_Mark_III_via_Adobe_Lightroom.jpg")
    with pyexiv2.Image(str(jpg)) as img:
        before = img.read_xmp()
    result = write_embedded(jpg, XmpUpdate(keywords=("Animals|Dog",), rating=5))
    assert result.status == "written", result
    with pyexiv2.Image(str(jpg)) as img:
        xmp = img.read_xmp()
    assert {"Animals", "Dog"} <= set(xmp["Xmp.dc.subject"]) and "Animals|Dog" in xmp[
        "Xmp.lr.hierarchicalSubject"
    ]
    assert set(before["Xmp.lr.hierarchicalSubject"]) < set(
        xmp["Xmp.lr.hierarchicalSubject"]
    )  # Lightroom's kept
    assert {k: v for k, v in before.items() if k.startswith("Xmp.crs.")} == {
        k: v for k, v in xmp.items() if k.startswith("Xmp.crs.")
    }
    assert xmp["Xmp.xmp.Rating"] == "5"
    assert write_embedded(jpg, XmpUpdate(keywords=("Animals|Dog",), rating=5)).status == "unchanged"
