"""The scan finds each photo's sidecar in its folder's listing; `changes` compares them with the ledger."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bridge.indexing.scan import PathFilter, scan_root, walk
from bridge.indexing.sidecars import changes
from bridge.state.ledger import Ledger
from tests.bridge.conftest import make_photos


def stamp(p: Path) -> tuple[str, int, int]:
    st = p.stat()
    return (p.name, st.st_size, st.st_mtime_ns)


def layout(folder: Path, shared_data: Path) -> dict[str, Path]:
    a, b, c, d, e = make_photos(folder, 5)
    sub = make_photos(folder / "sub", 1)[0]
    xmp = shared_data / "xmp"
    shutil.copy(xmp / "lightroom6.14_ladybug.xmp", folder / "gen_00000.xmp")  # NAME.xmp
    shutil.copy(xmp / "exiftool_XMP.xmp", folder / "gen_00001.jpg.xmp")  # NAME.ext.xmp
    shutil.copy(xmp / "exiftool_XMP.xmp", folder / "gen_00002.xmp")  # both: NAME.xmp first, as read_metadata
    shutil.copy(xmp / "photoshop_cs2_BlueSquare.xmp", folder / "gen_00002.jpg.xmp")
    (folder / "gen_00004.xmp").mkdir()  # not a file: no sidecar
    shutil.copy(xmp / "photoshop_cs2_BlueSquare.xmp", folder / "sub" / "gen_00000.XMP")
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "sub": sub}


def test_walk_gives_each_photo_its_sidecar_from_the_listing(tmp_path, shared_data):
    folder = tmp_path / "p"
    f = layout(folder, shared_data)
    found: dict = {}
    photos = [p for p, _ in walk(str(folder), PathFilter(), sidecars=found)]
    assert len(photos) == 6  # sidecars are not photos
    assert found == {
        str(f["a"]): stamp(folder / "gen_00000.xmp"),
        str(f["b"]): stamp(folder / "gen_00001.jpg.xmp"),
        str(f["c"]): stamp(folder / "gen_00002.xmp"),
        str(f["sub"]): stamp(folder / "sub" / "gen_00000.XMP"),
    }
    # A single photo named as the root (a watch event, a file argument): its sidecar is probed by name
    single: dict = {}
    assert [p for p, _ in walk(str(f["b"]), PathFilter(), sidecars=single)] == [str(f["b"])]
    assert single == {str(f["b"]): stamp(folder / "gen_00001.jpg.xmp")}
    res = scan_root(str(folder), {}, PathFilter())
    assert res.sidecars_listed and res.sidecars == found


def test_changes_are_new_edited_and_gone_sidecars_only(tmp_path, shared_data):
    folder = tmp_path / "p"
    f = layout(folder, shared_data)
    led = Ledger(tmp_path / "ledger.sqlite")
    res = scan_root(str(folder), {}, PathFilter())
    first = changes(led, res)
    assert {r.path for r in first.read} == {str(f[k]) for k in ("a", "b", "c", "sub")} and not first.gone
    by_path = {r.path: r for r in first.read}
    assert by_path[str(f["a"])].fields["keywords"] == ["Ladybug"]
    assert by_path[str(f["c"])].fields["keywords"] == ["test1", "&-&amp;-&"]  # NAME.xmp, not NAME.jpg.xmp
    led.record_sidecars(first.read)
    assert changes(led, scan_root(str(folder), {}, PathFilter())) == type(first)()  # nothing changed

    edited = folder / "gen_00000.xmp"
    st = edited.stat()
    os.utime(edited, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # same bytes, newer mtime
    (folder / "gen_00001.jpg.xmp").unlink()
    shutil.copy(shared_data / "xmp/exiftool_XMP.xmp", folder / "gen_00003.jpg.xmp")
    second = changes(led, scan_root(str(folder), {}, PathFilter()))
    assert {r.path for r in second.read} == {str(f["a"]), str(f["d"])}
    assert second.gone == (str(f["b"]),)
    led.close()
