"""XMP sidecars as inputs of their own: edited, added and deleted sidecars are picked up by the next run
without re-embedding, and byte-identical photos keep their own sidecar's values (per path, not per content)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from bridge.engine import Engine
from bridge.indexing.sidecars import metadata_by_path
from bridge.metadata.read import read_metadata
from bridge.search.query import photo_vector, search, text_vector
from bridge.search.where import parse_where
from bridge.settings import Settings
from tests.bridge.conftest import make_photos

JPEG = "jpeg/Canon_EOS_600D_IMG_5910.jpg"  # Lightroom sidecar beside it: rating 3, keywords, title
JPEG_XMP = "jpeg/Canon_EOS_600D_IMG_5910.xmp"
HEIC = "heic/Apple_iPhone7.heic"
HEIC_XMP = "heic/Apple_iPhone7.xmp"


def run(settings: Settings, root: Path):
    with Engine.open(settings) as engine:
        return engine.index([str(root)])


def payloads(settings: Settings) -> dict[str, dict]:
    """Every point's payload by its fingerprint."""
    with Engine.open(settings) as engine:
        return {payload["fingerprint"]: payload for _, payload, _ in engine.store().scroll()}


def payload_of(settings: Settings, path: Path) -> dict:
    return next(p for p in payloads(settings).values() if str(path) in p["paths"])


def point_ids(settings: Settings) -> list[str]:
    with Engine.open(settings) as engine:
        return sorted(pid for pid, _, _ in engine.store().scroll())


def shown(settings: Settings, path: Path) -> dict:
    """What a search for the photo itself shows of it (its result's fields)."""
    with Engine.open(settings) as engine:
        vec, _ = photo_vector(engine, path)
        top = search(engine, vec, limit=1)[0]
        assert top.path == str(path)
        return top.fields


def ledger_sidecar(settings: Settings, path: Path):
    with Engine.open(settings) as engine:
        return engine.ledger.sidecars_for([str(path)]).get(str(path))


def edit(sidecar: Path, old: str, new: str) -> None:
    text = sidecar.read_text(encoding="utf-8")
    assert old in text
    st = sidecar.stat()
    sidecar.write_text(text.replace(old, new), encoding="utf-8")
    # a second later, whatever the file system's mtime granularity: an edit is always seen as one
    os.utime(sidecar, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_edited_then_deleted_sidecar_is_read_again_without_reembedding(settings, copy_shared, tmp_path):
    photo, sidecar = copy_shared(JPEG, JPEG_XMP)
    root = tmp_path / "photos"
    first = run(settings, root)
    assert first.embedded == 1 and first.failed == 0
    embedded = {k: payload_of(settings, photo)[k] for k in ("rating", "keywords", "title")}
    assert embedded["rating"] == 3 and "Berkley" in embedded["keywords"]
    assert ledger_sidecar(settings, photo).fields["rating"] == 3
    ids = point_ids(settings)

    edit(sidecar, 'xmp:Rating="3"', 'xmp:Rating="1"')
    edit(sidecar, "Berkley", "Oakland")
    again = run(settings, root)
    assert again.embedded == 0 and again.unchanged == 1  # the photo's pixels did not change
    assert point_ids(settings) == ids
    assert ledger_sidecar(settings, photo).fields["rating"] == 1
    fields = shown(settings, photo)
    assert fields["rating"] == 1
    assert "Oakland" in fields["keywords"] and "Berkley" not in fields["keywords"]
    with Engine.open(settings) as engine:
        rated = search(engine, text_vector(engine, "x"), limit=5, where=parse_where("rating<=1"))
        assert [r.path for r in rated] == [str(photo)]

    unchanged = run(settings, root)  # nothing changed since: nothing read again
    assert not any("XMP sidecars" in n for n in unchanged.notes)

    sidecar.unlink()
    gone = run(settings, root)
    assert gone.embedded == 0
    assert ledger_sidecar(settings, photo) is None
    payload = payload_of(settings, photo)
    assert {k: payload[k] for k in embedded} == embedded  # back to what the JPEG itself says
    assert "sidecar_file" not in payload and "path_metadata" not in payload
    assert "sidecar" not in payload["metadata_sources"]
    assert point_ids(settings) == ids


def test_a_sidecar_added_after_indexing_is_picked_up_in_both_namings(settings, shared_data, tmp_path):
    folder = tmp_path / "gen"
    a, b, c = make_photos(folder, 3)
    run(settings, folder)
    ids = point_ids(settings)
    assert "rating" not in payload_of(settings, a)
    shutil.copy(shared_data / "xmp/lightroom6.14_ladybug.xmp", folder / "gen_00000.xmp")  # NAME.xmp
    shutil.copy(shared_data / "xmp/exiftool_XMP.xmp", folder / "gen_00001.jpg.xmp")  # NAME.ext.xmp
    s = run(settings, folder)
    assert s.embedded == 0
    assert point_ids(settings) == ids
    pa, pb, pc = (payload_of(settings, p) for p in (a, b, c))
    assert (pa["title"], pa["keywords"], pa["rating"]) == ("Ladybug", ["Ladybug"], 1)
    assert pa["sidecar_file"] == "gen_00000.xmp"
    assert (pb["keywords"], pb["rating"]) == (["test1", "&-&amp;-&"], 1)
    assert pb["sidecar_file"] == "gen_00001.jpg.xmp"
    assert "rating" not in pc and "sidecar_file" not in pc
    assert shown(settings, a)["keywords"] == ["Ladybug"]


def test_identical_photos_keep_their_own_sidecars(settings, shared_data, tmp_path):
    folder = tmp_path / "gen"
    (photo,) = make_photos(folder, 1)
    first, second = folder / "a.jpg", folder / "b.jpg"
    photo.rename(first)
    shutil.copy2(first, second)  # byte-identical: one content, one point
    shutil.copy(shared_data / "xmp/lightroom6.14_ladybug.xmp", folder / "a.xmp")
    shutil.copy(shared_data / "xmp/photoshop_cs2_BlueSquare.xmp", folder / "b.jpg.xmp")
    s = run(settings, folder)
    assert s.embedded == 1 and s.files_seen == 2

    with Engine.open(settings) as engine:
        rows = engine.ledger.sidecars_for([str(first), str(second)])
        per_path = metadata_by_path(engine.ledger, [str(first), str(second), str(folder / "nope.jpg")])
    assert rows[str(first)].fields["keywords"] == ["Ladybug"]
    assert "Blue Square" in rows[str(second)].fields["keywords"]
    assert set(per_path) == {str(first), str(second)}  # the ledger's per-path record
    assert (per_path[str(first)]["keywords"], per_path[str(first)]["sidecar_file"]) == (["Ladybug"], "a.xmp")
    assert "Blue Square" in per_path[str(second)]["keywords"] and "rating" not in per_path[str(second)]
    assert per_path[str(second)]["metadata_sources"][-1] == "sidecar"

    (payload,) = payloads(settings).values()
    per_path = payload["path_metadata"]
    assert per_path[str(first)]["keywords"] == ["Ladybug"] and per_path[str(first)]["rating"] == 1
    assert per_path[str(first)]["title"] == "Ladybug"
    assert "Blue Square" in per_path[str(second)]["keywords"] and "rating" not in per_path[str(second)]
    assert per_path[str(second)]["title"] == "Blue Square Test File - .jpg"
    # The top level is the primary path's (a.jpg) alone: nothing of b's sidecar mixed in.
    assert payload["path"] == str(first)
    assert (payload["keywords"], payload["title"], payload["rating"]) == (["Ladybug"], "Ladybug", 1)
    assert "caption" not in payload  # only b's sidecar has a caption

    # b's sidecar edited: b's values change, a's stay; still one vector
    ids = point_ids(settings)
    edit(folder / "b.jpg.xmp", "<rdf:li>Photoshop</rdf:li>", "<rdf:li>Edited</rdf:li>")
    assert run(settings, folder).embedded == 0
    assert point_ids(settings) == ids
    (payload,) = payloads(settings).values()
    assert "Edited" in payload["path_metadata"][str(second)]["keywords"]
    assert payload["path_metadata"][str(first)]["keywords"] == ["Ladybug"]
    assert payload["keywords"] == ["Ladybug"]

    # Payloads rebuilt from the ledger (rules applied again) keep each path's sidecar values
    with Engine.open(settings) as engine:
        assert engine.indexer().reapply_rules() == 1
    (payload,) = payloads(settings).values()
    assert payload["keywords"] == ["Ladybug"]
    assert "Edited" in payload["path_metadata"][str(second)]["keywords"]

    # a.jpg deleted: b.jpg becomes the primary path, and the top level shows b's sidecar alone
    first.unlink()
    s = run(settings, folder)
    assert (s.embedded, s.deleted) == (0, 1)
    assert point_ids(settings) == ids
    (payload,) = payloads(settings).values()
    assert payload["path"] == str(second) and payload["paths"] == [str(second)]
    assert "Edited" in payload["keywords"] and payload["title"] == "Blue Square Test File - .jpg"
    assert "rating" not in payload
    assert set(payload["path_metadata"]) == {str(second)}
    assert shown(settings, second)["keywords"] == payload["keywords"]


@pytest.mark.parametrize("rel", [HEIC, JPEG])
def test_sidecar_of_a_real_photo_is_recorded_per_path(settings, copy_shared, tmp_path, rel):
    copied = copy_shared(rel, rel.rsplit(".", 1)[0] + ".xmp")
    photo, sidecar = copied
    run(settings, tmp_path / "photos")
    row = ledger_sidecar(settings, photo)
    assert row is not None and row.name == sidecar.name
    assert (row.size, row.mtime_ns) == (sidecar.stat().st_size, sidecar.stat().st_mtime_ns)
    payload = payload_of(settings, photo)
    assert payload["sidecar_file"] == sidecar.name and "sidecar" in payload["metadata_sources"]
    with Engine.open(settings) as engine:  # the content record holds the photo's own metadata only
        fp = engine.ledger.fingerprints_for([str(photo)])[str(photo)]
        assert "sidecar_file" not in engine.ledger.metadata_for([fp])[fp]


def test_an_index_from_before_sidecars_upgrades(settings, copy_shared, tmp_path):
    """A ledger of schema 2 stored the sidecar merged into the content record; after the upgrade the
    content is read again (embedded part only), the sidecar per path, and nothing is re-embedded."""
    photo, sidecar = copy_shared(JPEG, JPEG_XMP)
    root = tmp_path / "photos"
    edit(sidecar, 'xmp:Rating="3"', 'xmp:Rating="1"')
    run(settings, root)
    ids = point_ids(settings)
    with Engine.open(settings) as engine:
        fp = engine.ledger.fingerprints_for([str(photo)])[str(photo)]
    # What schema 2 left: no sidecars table, the content record as read with the sidecar merged in.
    conn = sqlite3.connect(settings.ledger_path)
    conn.execute("DROP TABLE sidecars")
    merged = read_metadata(photo)  # the old worker's read: sidecar="auto"
    assert merged["rating"] == 1 and merged["sidecar_file"] == sidecar.name
    conn.execute("UPDATE content SET metadata = ? WHERE fingerprint = ?", (json.dumps(merged), fp))
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()

    s = run(settings, root)
    assert (s.embedded, s.metadata_read) == (0, 1)
    assert point_ids(settings) == ids
    with Engine.open(settings) as engine:
        assert engine.ledger.schema_version() == 3
        content = engine.ledger.metadata_for([fp])[fp]
    assert "sidecar_file" not in content and content["rating"] == 3  # the JPEG's own rating
    assert ledger_sidecar(settings, photo).fields["rating"] == 1
    assert shown(settings, photo)["rating"] == 1

    sidecar.unlink()  # now the fallback is the embedded record, not the old merged one
    run(settings, root)
    assert payload_of(settings, photo)["rating"] == 3
    assert point_ids(settings) == ids
