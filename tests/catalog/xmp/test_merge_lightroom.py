"""R17: merging into real Lightroom sidecars keeps every foreign property; only our keys change; ExifTool agrees."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from catalog.xmp import XmpUpdate, merge, read_packet, write_xmp_file
from tests.catalog.xmp.xmlprops import OWN, PD, foreign, properties

LR_SIDECARS = [
    "xmp/lightroom6.14_ladybug.xmp",
    "jpeg/Canon_EOS_600D_IMG_5910.xmp",
    "raw/canon_eos_6d.xmp",
    "heic/Apple_iPhone7.xmp",
]
UPDATE = XmpUpdate(
    keywords=("Animals|Insects|Ladybug", "macro"),
    caption="AI caption",
    title="AI title",
    rating=4,
    label="Green",
    scores={"Sharpness": 0.8125, "Quality": 0.5, "ModelVersion": "pd-quality-1"},
)
CRS = "{http://ns.adobe.com/camera-raw-settings/1.0/}"


@pytest.mark.parametrize("rel", LR_SIDECARS)
def test_foreign_properties_preserved_only_ours_change(shared_data: Path, rel: str) -> None:
    before = (shared_data / rel).read_bytes()
    result = merge(before, UPDATE)
    assert result.changes
    assert foreign(result.data) == foreign(
        before
    )  # crs:, photoshop:, xmpMM:, exif:, mwg-rs: ... all identical
    old, new = read_packet(before), read_packet(result.data)
    assert set(old.keywords) <= set(new.keywords) and set(old.hierarchical) <= set(new.hierarchical)
    assert {"Animals", "Insects", "Ladybug", "macro"} <= set(new.keywords)
    assert {"Animals|Insects|Ladybug", "macro"} <= set(new.hierarchical)
    assert not {"Animals", "Insects"} & set(new.hierarchical)  # never mirror flat parents into paths
    assert new.caption == (old.caption or "AI caption")  # an existing caption is kept
    assert new.title == (old.title or "AI title")
    assert (new.rating, new.label) == (4, "Green")
    assert new.scores["Sharpness"] == "0.8125" and new.scores["ModelVersion"] == "pd-quality-1"
    changed = {
        k for k in properties(result.data) if properties(before).get(k) != properties(result.data).get(k)
    }
    assert changed <= OWN | {k for k in changed if k.startswith(PD)}


def test_lightroom_sidecars_carry_develop_settings(shared_data: Path) -> None:
    """Guards the fixture: the R17 comparison above is only meaningful if crs: settings are there."""
    for rel in LR_SIDECARS[:3]:
        assert sum(k.startswith(CRS) for k in properties((shared_data / rel).read_bytes())) > 20, rel


def test_merge_is_idempotent_and_unchanged_bytes(shared_data: Path) -> None:
    once = merge((shared_data / LR_SIDECARS[1]).read_bytes(), UPDATE).data
    again = merge(once, UPDATE)
    assert again.changes == () and again.data == once


def test_caption_overwrite_only_when_asked(shared_data: Path) -> None:
    src = (shared_data / "jpeg/Canon_EOS_600D_IMG_5910.xmp").read_bytes()
    assert read_packet(merge(src, XmpUpdate(caption="new")).data).caption == "Squirrel at berkely"
    assert read_packet(merge(src, XmpUpdate(caption="new", overwrite_caption=True)).data).caption == "new"


def test_remove_only_keywords_we_added(shared_data: Path) -> None:
    src = (shared_data / "jpeg/Canon_EOS_600D_IMG_5910.xmp").read_bytes()
    ours = merge(src, XmpUpdate(keywords=("Places|USA|Berkeley", "squirrel"))).data
    # "USA" and "Berkley" belong to the user: asking to remove them does nothing.
    removed = merge(ours, XmpUpdate(remove_keywords=("USA", "Berkley", "Places|USA|Berkeley", "squirrel")))
    data = read_packet(removed.data)
    assert data.keywords == ("Alvin the Squirrel", "Berkley", "USA")
    assert data.hierarchical == ("Alvin the Squirrel", "Berkley", "USA")
    assert data.added_keywords == ()
    assert foreign(removed.data) == foreign(src)


def test_replace_ours_drops_stale_ai_keywords() -> None:
    first = merge(None, XmpUpdate(keywords=("dog", "Animals|Dog"))).data
    second = read_packet(merge(first, XmpUpdate(keywords=("cat",), replace_ours=True)).data)
    assert second.hierarchical == ("cat",) and second.keywords == ("cat",)


def test_new_sidecar_is_minimal_valid_xmp(tmp_path: Path) -> None:
    result = write_xmp_file(tmp_path / "IMG_1.xmp", XmpUpdate(keywords=("A|B",), rating=2))
    assert result.status == "written"
    data = read_packet((tmp_path / "IMG_1.xmp").read_bytes())
    assert (data.keywords, data.hierarchical, data.rating) == (("A", "B"), ("A|B",), 2)


def test_include_parents_off() -> None:
    data = read_packet(merge(None, XmpUpdate(keywords=("A|B|C",), include_parents=False)).data)
    assert (data.keywords, data.hierarchical) == (("C",), ("A|B|C",))


def _exiftool(path: Path) -> dict:
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-XMP:all", str(path)], capture_output=True, check=True, text=True
    )
    return json.loads(out.stdout)[0]


@pytest.mark.skipif(
    shutil.which("exiftool") is None, reason="exiftool not installed (apt libimage-exiftool-perl)"
)
@pytest.mark.parametrize("rel", LR_SIDECARS[:3])
def test_exiftool_reads_merged_sidecar(copy_shared, rel: str) -> None:
    (sidecar,) = copy_shared(rel)
    before = _exiftool(sidecar)
    assert write_xmp_file(sidecar, UPDATE).status == "written"
    after = _exiftool(sidecar)
    as_list = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
    assert {"Animals", "Insects", "Ladybug", "macro"} <= set(map(str, as_list(after["XMP-dc:Subject"])))
    assert {"Animals|Insects|Ladybug", "macro"} <= set(as_list(after["XMP-lr:HierarchicalSubject"]))
    assert after["XMP-dc:Description"] == before.get("XMP-dc:Description", "AI caption")
    assert (after["XMP-xmp:Rating"], after["XMP-xmp:Label"]) == (4, "Green")
    for group in ("XMP-crs", "XMP-photoshop", "XMP-aux", "XMP-exif", "XMP-xmpMM"):
        assert {k: v for k, v in before.items() if k.startswith(group + ":")} == {
            k: v for k, v in after.items() if k.startswith(group + ":")
        }, group
    assert any(k.startswith("XMP-crs:") for k in after)
