"""People end to end on real faces: the faces stage while indexing (payload fields), clustering several
photos of the same people (crops, exposures, a rotation, a mirror image of three people in ../shared/data),
incremental placement of a new photo, naming and merging, `--where person=`, names taken from a Lightroom
catalog's person keywords and person keywords written to a copy of the real Lightroom 5 catalog and read
back. Real dlib, real ledger, real Qdrant Edge, real catalog writer."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from bridge.analyses import faces
from bridge.engine import Engine
from bridge.search import people
from bridge.search.query import metadata_search
from bridge.search.where import parse_where
from bridge.settings import Settings
from bridge.state.people import People, PeopleError
from catalog.reader import open_catalog
from catalog.write import remove_ours
from catalog.write.people import plan_people

pytestmark = pytest.mark.skipif(not faces.available(), reason="the faces extra (dlib) is not installed")

SOURCES = {
    "astro": "png/photo_portrait_astronaut.png",
    "curie": "jpeg/immich_portrait-orientation-6.jpg",
    "dudley": "tiff/DudleyLeavittUtah.tiff",
}


VARIANTS = ("orig", "crop", "dark", "rot8", "flip")


def variants(img: np.ndarray) -> dict[str, np.ndarray]:
    h, w = img.shape[:2]
    rot = cv2.warpAffine(img, cv2.getRotationMatrix2D((w / 2, h / 2), 8, 1.0), (w, h), borderMode=cv2.BORDER_REFLECT)
    return {
        "orig": img,
        "crop": img[int(h * 0.05) : int(h * 0.85), int(w * 0.1) : int(w * 0.9)],
        "dark": (img * 0.55).astype(np.uint8),
        "rot8": rot,
        "flip": img[:, ::-1],
    }


@pytest.fixture(scope="module")
def face_photos(tmp_path_factory, shared_data) -> Path:
    """Five photos of each of three people (written once per module)."""
    from bridge.indexing.decode import decode_image

    folder = tmp_path_factory.mktemp("faces") / "photos"
    folder.mkdir()
    for who, rel in SOURCES.items():
        img = decode_image(shared_data / rel).pixels
        for name, v in variants(img).items():
            Image.fromarray(np.ascontiguousarray(v)).save(folder / f"{who}_{name}.jpg", quality=92)
    shutil.copy(shared_data / "png/photo_animal_chelsea_cat.png", folder / "cat.png")
    return folder


def face_settings(settings: Settings) -> Settings:
    return settings.with_overrides(faces=True)


def by_name(engine: Engine) -> dict[str, dict]:
    return {Path(p["path"]).stem: p for _, p, _ in engine.store().scroll()}


def person_of(engine: Engine, stem: str, folder: Path) -> set[int]:
    fp = engine.ledger.fingerprints_for([str(folder / f"{stem}.jpg")])[str(folder / f"{stem}.jpg")]
    return {pid for (f, _), (pid, _) in People(engine.ledger).placed().items() if f == fp and pid is not None}


@pytest.mark.slow  # ~15 s of CPU: 16 photos through the indexer with faces; the default run has the catalog test
def test_faces_while_indexing_then_people_named_and_filtered(settings, face_photos, tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    shutil.copytree(face_photos, folder)
    late = folder / "astro_orig.jpg"
    held = tmp_path / "held.jpg"
    shutil.move(late, held)  # arrives after the first clustering
    s = face_settings(settings)
    with Engine.open(s) as engine:
        summary = engine.index([str(folder)])
        assert summary.failed == 0
        got = by_name(engine)
        assert got["cat"]["face_count"] == 0 and got["cat"]["eyes_open"] is None
        for stem, p in got.items():
            if stem != "cat":
                assert p["face_count"] >= 1, stem
                assert 0.5 <= p["eyes_open"] <= 1 and 0 < p["face_sharpness"] <= 1, stem

        report = people.update(engine)
        assert report.new_people == 3, report
        stems = {who: [f"{who}_{v}" for v in VARIANTS if (folder / f"{who}_{v}.jpg").exists()] for who in SOURCES}
        ids = {who: set().union(*(person_of(engine, st, folder) for st in stems[who])) for who in SOURCES}
        for who, pids in ids.items():
            assert len(pids) == 1, (who, pids)  # every photo of one person in one cluster
        assert len(set().union(*ids.values())) == 3  # three people, never lumped
        astro = next(iter(ids["astro"]))

        people.name(engine, astro, "Eileen  Collins")
        hits = metadata_search(engine, parse_where("person='eileen collins'"), limit=50)
        assert sorted(Path(h.path).stem for h in hits) == ["astro_crop", "astro_dark", "astro_flip", "astro_rot8"]
        assert by_name(engine)["astro_dark"]["persons"] == ["Eileen Collins"]

        # a new photo of her: joins her person, carries her name, no new person
        shutil.move(held, late)
        engine.index([str(folder)])  # the indexer places new faces itself once people are in use
        assert person_of(engine, "astro_orig", folder) == {astro}
        assert by_name(engine)["astro_orig"]["persons"] == ["Eileen Collins"]
        again = people.update(engine)
        assert again.joined == 0 and again.new_people == 0
        assert len(metadata_search(engine, parse_where("person='EILEEN COLLINS'"), limit=50)) == 5

        # merge: Dudley's faces into Eileen's person (a wrong merge, but it shows faces and names moving)
        dudley = next(iter(ids["dudley"]))
        people.name(engine, dudley, "Dudley Leavitt")
        assert people.merge(engine, astro, [dudley]) >= 9
        rows = {p.id: p for p in People(engine.ledger).people()}
        assert dudley not in rows and rows[astro].name == "Eileen Collins"
        assert by_name(engine)["dudley_orig"]["persons"] == ["Eileen Collins"]
        with pytest.raises(PeopleError):
            people.name(engine, 99999, "Nobody")
        curie = next(iter(ids["curie"]))

    # the same through the CLI (a subprocess on the same data dir)
    from tests.bridge.cli.test_cli import pd

    monkeypatch.setenv("PIXEL_DETECTIVE_MODEL", settings.model)
    monkeypatch.setenv("PIXEL_DETECTIVE_FACES", "true")
    listed = json.loads(pd(settings.data_dir, "people", "list", "--json").stdout)
    eileen = [p for p in listed["people"] if p["name"] == "Eileen Collins"]
    assert len(eileen) == 1 and eileen[0]["photos"] == 10 and eileen[0]["named_by"] == "cli"
    assert "Marie Curie" in pd(settings.data_dir, "people", "name", str(curie), "Marie Curie").stdout
    found = json.loads(pd(settings.data_dir, "search", "--where", "person='marie curie'", "--json").stdout)
    assert sorted(Path(r["path"]).stem for r in found["results"]) == sorted(f"curie_{v}" for v in VARIANTS)
    status = json.loads(pd(settings.data_dir, "status", "--json").stdout)
    assert status["people"]["named"] == 2 and status["people"]["found"] >= 2
    assert any(st["stage"] == "faces" for st in status["stages"])
    words = pd(settings.data_dir, "status").stdout
    assert "Checked for faces:" in words and f"{status['people']['found']} found, 2 named" in words
    bad = pd(settings.data_dir, "people", "name", "4242", "X", check=False)
    assert bad.returncode != 0 and "no person 4242" in bad.stderr and "Traceback" not in bad.stderr


def test_the_faces_stage_is_skipped_with_a_note_when_not_installed(settings, tmp_path, monkeypatch):
    from tests.bridge.conftest import make_photos

    make_photos(tmp_path / "p", 2)
    monkeypatch.setattr(faces, "available", lambda: False)
    with Engine.open(face_settings(settings)) as engine:
        summary = engine.index([str(tmp_path / "p")])
        assert any(n.startswith("faces: not installed (pip install") for n in summary.notes)
        assert all("face_count" not in p for _, p, _ in engine.store().scroll())


def catalog_for(shared_data: Path, folder: Path, tmp_path: Path, photos: dict[int, str]) -> Path:
    """A copy of the real Lightroom 5 catalog whose photos (image id → file name) point into `folder`,
    with a "People" keyword holding one person keyword, as Lightroom's People view writes them."""
    cat = tmp_path / "lr5.lrcat"
    shutil.copy(shared_data / "catalogs" / "lr5_test_catalog_1.lrcat", cat)
    con = sqlite3.connect(cat)
    con.execute("UPDATE AgLibraryRootFolder SET absolutePath = ? WHERE id_local = 60", (str(folder) + "/",))
    con.execute("UPDATE AgLibraryFile SET folder = 61")  # root 60's own folder: every photo in `folder`
    for image, name in photos.items():
        stem, ext = name.rsplit(".", 1)
        con.execute(
            "UPDATE AgLibraryFile SET baseName = ?, extension = ?, idx_filename = ?, lc_idx_filename = ?, "
            "originalFilename = ? WHERE id_local = (SELECT rootFile FROM Adobe_images WHERE id_local = ?)",
            (stem, ext, name, name.lower(), name, image),
        )
    con.execute(
        "INSERT INTO AgLibraryKeyword (id_local, id_global, dateCreated, genealogy, imageCountCache, includeOnExport,"
        " includeParents, includeSynonyms, keywordType, lastApplied, lc_name, name, parent) VALUES"
        " (900, 'A-PEOPLE', 0, '/220/3900', -1, 1, 1, 1, NULL, NULL, 'people', 'People', 20),"
        " (901, 'A-EILEEN', 0, '/220/3900/3901', -1, 1, 1, 1, 'person', NULL, 'eileen collins', 'Eileen Collins', 900)"
    )
    con.execute("INSERT INTO AgLibraryKeywordImage (id_local, image, tag) VALUES (902, 63, 901), (903, 78, 901)")
    con.commit()
    con.close()
    return cat


def test_names_from_and_person_keywords_to_a_real_lightroom_5_catalog(settings, face_photos, shared_data, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for stem in ("astro_orig", "astro_dark", "astro_rot8", "curie_orig", "curie_flip", "dudley_orig"):
        shutil.copy(face_photos / f"{stem}.jpg", folder)
    # images 63, 78: Eileen Collins (tagged in the catalog); 21, 40: Marie Curie (not yet)
    cat = catalog_for(
        shared_data,
        folder,
        tmp_path,
        {63: "astro_orig.jpg", 78: "astro_dark.jpg", 21: "curie_orig.jpg", 40: "curie_flip.jpg"},
    )
    with Engine.open(face_settings(settings)) as engine:
        engine.index([str(folder)])
        assert len(metadata_search(engine, parse_where("faces>=1 eyes_open>=0.5 face_sharpness>0.1"), limit=50)) == 6
        assert metadata_search(engine, parse_where("faces=0"), limit=50) == []
        report = people.from_catalog(engine, cat)
        assert list(report.named.values()) == ["Eileen Collins"]
        assert len(metadata_search(engine, parse_where("person='Eileen Collins'"), limit=50)) == 3
        curie = next(iter(person_of(engine, "curie_orig", folder)))
        people.name(engine, curie, "Marie Curie")
        shutil.copy(face_photos / "curie_rot8.jpg", tmp_path)  # a new photo of her, outside the catalog
        engine.index([str(tmp_path / "curie_rot8.jpg")])  # placed and named by the indexer itself
        assert [p["persons"] for _, p, _ in engine.store().scroll() if p["path"].endswith("curie_rot8.jpg")] == [
            ["Marie Curie"]
        ]
        names = people.catalog_names(engine, cat)
    assert sorted(names.values()) == [["Eileen Collins"]] * 2 + [["Marie Curie"]] * 2

    the_plan = plan_people(cat, names)
    assert [(k.path, k.keyword_type) for k in the_plan.new_keywords] == [("People|Marie Curie", "person")]
    assert len(the_plan.links) == 2  # Eileen's photos are already tagged
    from catalog.write import apply

    applied = apply(cat, the_plan)
    assert applied.keywords_created == 1 and applied.links_created == 2 and applied.integrity == "ok"
    assert applied.backup and Path(applied.backup).exists()
    with open_catalog(cat) as c:
        tree = c.keyword_tree()
        marie = [k for k in tree.by_id.values() if k.name == "Marie Curie"]
        assert len(marie) == 1 and marie[0].keyword_type == "person" and marie[0].full_path == "People|Marie Curie"
        tagged = {Path(p.path).name: p.keywords for p in c.photos()}
    assert "People|Marie Curie" in tagged["curie_orig.jpg"] and "People|Marie Curie" in tagged["curie_flip.jpg"]
    assert tagged["astro_orig.jpg"] == ("People|Eileen Collins",)
    assert plan_people(cat, names).empty  # written once: nothing left to do
    undone = remove_ours(cat)  # `catalog unwrite` takes the person keyword back
    with open_catalog(cat) as c:
        assert not [k for k in c.keyword_tree().by_id.values() if k.name == "Marie Curie"], undone
