"""One keyword-parent rule (catalog/keyword_parent.py) for every write path: the catalog write-back, XMP
sidecars, embedded XMP, and the plug-in's Apply (the same rule in Lua, run here under real Lua 5.1)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from catalog.keyword_parent import keyword_path
from catalog.reader import open_catalog
from catalog.write import PhotoChange, WriteOptions, apply, plan
from catalog.xmp import XmpUpdate, read_sidecar, write_photo
from catalog.xmp.embed import write_embedded

PARENT = "Pixel Detective"
# (AI path, existing top-level keywords, expected written path)
CASES = [
    ("Animals|Dog", (), "Pixel Detective|Animals|Dog"),
    ("dog", (), "Pixel Detective|dog"),
    (" Animals | Dog ", (), "Pixel Detective|Animals|Dog"),
    ("Pixel Detective|Animals|Dog", (), "Pixel Detective|Animals|Dog"),  # never nested twice
    ("pixel detective|Cat", (), "pixel detective|Cat"),  # case-insensitive, as Lightroom's lc_name
    ("Places|Europe|Lisbon", ("Places",), "Places|Europe|Lisbon"),  # the user's tree, reused in place
    ("Places|Europe|Lisbon", ("places",), "Places|Europe|Lisbon"),
    ("Subjects|Animals|Dog", ("Places",), "Pixel Detective|Subjects|Animals|Dog"),
]


@pytest.mark.parametrize(("path", "tops", "want"), CASES)
def test_rule(path: str, tops: tuple[str, ...], want: str) -> None:
    assert keyword_path(path, PARENT, tops) == want


def test_no_parent_leaves_paths_alone() -> None:
    assert keyword_path("Animals|Dog", None) == keyword_path("Animals|Dog", "") == "Animals|Dog"
    assert keyword_path("Dog", "Studio|AI") == "Studio|AI|Dog"  # a parent path of several levels


def test_plugin_apply_follows_the_same_rule(tmp_path: Path) -> None:
    """Catalog.lua's Apply (real Lua 5.1, the SDK stand-in) puts every case where the Python rule does."""
    pytest.importorskip("lupa")
    from tests.lrplugin.harness import Harness

    for path, tops, want in CASES:
        home = tmp_path / f"home{CASES.index((path, tops, want))}"
        home.mkdir()
        h = Harness(home)
        lua_catalog = h.catalog
        lua_catalog.writing = True
        for top in tops:
            lua_catalog.createKeyword(lua_catalog, top, None, True, None, True)
        cache = h.lua.table()
        kw = h.require("Catalog").keywordForPath(lua_catalog, path, cache, PARENT)
        names = []
        while kw is not None:
            names.append(kw.name)
            kw = kw.parent
        got = "|".join(reversed(names))
        assert got.lower() == want.lower(), (path, tops, got)


def test_catalog_write_puts_ai_keywords_under_the_parent(lr5_catalog: Path) -> None:
    with open_catalog(lr5_catalog) as c:
        a, b = c.photos()[:2]
    # the user's own top-level tree first (no parent), then AI keywords with the parent
    apply(lr5_catalog, plan(lr5_catalog, [PhotoChange(path=a.path, keywords=("Places|Europe|Lisbon",))],
                            WriteOptions(keyword_parent=None)))  # fmt: skip
    ai = ("Animals|Dog", "Places|Asia|Tokyo", "Pixel Detective|Birds")
    p = plan(lr5_catalog, [PhotoChange(path=b.path, keywords=ai)], WriteOptions(keyword_parent=PARENT))
    apply(lr5_catalog, p)
    with open_catalog(lr5_catalog) as c:
        got = set(next(x for x in c.photos() if x.id == b.id).keywords)
    assert got == {keyword_path(k, PARENT, ("Places",)) for k in ai}
    assert got == {"Pixel Detective|Animals|Dog", "Places|Asia|Tokyo", "Pixel Detective|Birds"}


def _exiftool(path: Path) -> dict:
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool not installed")
    out = subprocess.run(
        ["exiftool", "-j", "-XMP-lr:HierarchicalSubject", "-XMP-dc:Subject", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)[0]


def _as_list(v: object) -> list:
    return v if isinstance(v, list) else [v]


def test_sidecar_keywords_go_under_the_parent_and_keep_the_users_tree(copy_shared) -> None:
    raw, users = copy_shared("raw/exiftool_Nikon_D70.nef", "jpeg/Canon_EOS_600D_IMG_5910.xmp")
    sidecar = raw.with_suffix(".xmp")
    users.replace(sidecar)  # a real sidecar with the user's own top-level keywords (USA, Berkley, …)
    update = XmpUpdate(keywords=("Animals|Dog", "USA|California"), keyword_parent=PARENT)
    assert write_photo(raw, update).status == "written"
    assert read_sidecar(sidecar).hierarchical == (
        "Alvin the Squirrel", "Berkley", "USA", "Pixel Detective|Animals|Dog", "USA|California",
    )  # fmt: skip
    tags = _exiftool(sidecar)
    assert "Pixel Detective|Animals|Dog" in _as_list(tags["HierarchicalSubject"])
    assert "Animals|Dog" not in _as_list(tags["HierarchicalSubject"])  # never at the top level
    assert {"Pixel Detective", "Animals", "Dog", "USA", "California"} <= set(_as_list(tags["Subject"]))
    assert write_photo(raw, update).status == "unchanged"  # idempotent: our own paths are not re-nested


def test_embedded_keywords_go_under_the_parent(copy_shared) -> None:
    (jpg,) = copy_shared("jpeg/Canon_40D_small.jpg")
    r = write_embedded(jpg, XmpUpdate(keywords=("Animals|Dog",), keyword_parent=PARENT))
    assert r.status == "written"
    assert _as_list(_exiftool(jpg)["HierarchicalSubject"]) == ["Pixel Detective|Animals|Dog"]
