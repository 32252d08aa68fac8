"""End to end through the engine: real photos → index → search, renames, deletes, failures, versions."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bridge.engine import Engine
from bridge.models.clip import import_checked
from bridge.search.query import photo_vector, search, text_vector
from bridge.search.where import parse_where
from bridge.settings import Settings
from tests.bridge.conftest import make_photos
from tests.model_factory import TINY_ARCH, make_tiny_clip

REAL = [
    "jpeg/Canon_40D_small.jpg",
    "jpeg/Nikon_D70_small.jpg",
    "jpeg/immich_mongolels_rating.jpg",
    "jpeg/Canon_EOS_600D_IMG_5910.jpg",
    "jpeg/Canon_EOS_600D_IMG_5910.xmp",
    "jpeg/Samsung_SM-J327T1_orient6.jpg",
    "png/photo_animal_chelsea_cat.png",
    "tiff/Nikon_D1X_Reagan.tiff",
    "webp/immich_denali.webp",
    "heic/Apple_iPhone7.heic",
    "raw/canon_eos_6d.dng",
    "raw/canon_eos_6d.xmp",
    "raw/Canon_EOS_D30_RAW_CANON_D30_SRGB.CRW",
]
PHOTOS = [p for p in REAL if not p.endswith(".xmp")]


@pytest.fixture
def real_folder(copy_shared, tmp_path) -> Path:
    copy_shared(*REAL)
    return tmp_path / "photos"


def run(settings: Settings, roots, **kw):
    with Engine.open(settings) as engine:
        return engine.index([str(r) for r in roots], **kw)


def test_index_then_search_by_own_image_returns_it_first(settings, real_folder):
    summary = run(settings, [real_folder])
    assert summary.status == "completed"
    assert summary.failed == 0, summary.failures_by_reason
    assert summary.embedded == len(PHOTOS)
    with Engine.open(settings) as engine:
        assert engine.store().count() == len(PHOTOS)
        for rel in PHOTOS:
            path = real_folder / rel
            vec, _ = photo_vector(engine, path)
            top = search(engine, vec, limit=3)
            assert top[0].path == str(path), rel
            assert top[0].score == pytest.approx(1.0, abs=1e-3)
        # text queries run through the real text tower (random weights: ranking not meaningful)
        assert len(search(engine, text_vector(engine, "a cat"), limit=5)) == 5


def test_metadata_reaches_payload_and_filters(settings, real_folder):
    run(settings, [real_folder])
    with Engine.open(settings) as engine:
        vec = text_vector(engine, "anything")
        canon = search(engine, vec, limit=50, where=parse_where("camera=canon"))
        assert canon and all("canon" in r.fields["camera"].lower() for r in canon)
        assert {Path(r.path).name for r in canon} >= {"Canon_40D_small.jpg", "Canon_EOS_600D_IMG_5910.jpg"}
        rated = search(engine, vec, limit=50, where=parse_where("rating>=1"))
        assert rated and all(r.fields["rating"] >= 1 for r in rated)
        under = search(engine, vec, limit=50, where=parse_where(f"folder={real_folder / 'raw'}"))
        assert {Path(r.path).suffix.lower() for r in under} == {".dng", ".crw"}
        # the Lightroom sidecar next to the DNG supplies its keywords
        dng = next(r for r in under if r.path.endswith(".dng"))
        payload = engine.store().retrieve(
            [
                engine.store()
                .search(vec, limit=1, where=parse_where(f"folder={real_folder / 'raw'} ext=dng"))[0]
                .id
            ]
        )[0][1]
        assert payload["path"] == dng.path
        assert payload.get("metadata_sources")


def test_second_run_is_idempotent_and_renames_are_not_reembedded(settings, real_folder):
    first = run(settings, [real_folder])
    with Engine.open(settings) as engine:
        ids_before = sorted(pid for pid, _, _ in engine.store().scroll())
    again = run(settings, [real_folder])
    assert (again.embedded, again.metadata_read, again.unchanged) == (0, 0, first.files_seen)
    moved = real_folder / "moved"
    moved.mkdir()
    for rel in ("jpeg/Canon_40D_small.jpg", "raw/canon_eos_6d.dng"):
        os.rename(real_folder / rel, moved / Path(rel).name)
    after = run(settings, [real_folder])
    assert after.embedded == 0 and after.repathed == 2 and after.deleted == 2
    with Engine.open(settings) as engine:
        assert sorted(pid for pid, _, _ in engine.store().scroll()) == ids_before
        vec, _ = photo_vector(engine, moved / "canon_eos_6d.dng")
        top = search(engine, vec, limit=1)[0]
        assert top.path == str(moved / "canon_eos_6d.dng")
        payload = engine.store().retrieve([r.id for r in engine.store().search(vec, limit=1)])[0][1]
        assert payload["paths"] == [str(moved / "canon_eos_6d.dng")]


def test_copies_share_one_vector_and_deletes_leave_the_index(settings, tmp_path):
    folder = tmp_path / "gen"
    photos = make_photos(folder, 6)
    shutil.copy2(photos[0], folder / "copy_of_0.jpg")
    s = run(settings, [folder])
    assert s.embedded == 6 and s.files_seen == 7
    photos[1].unlink()
    (folder / "copy_of_0.jpg").unlink()
    s2 = run(settings, [folder])
    assert s2.deleted == 2
    with Engine.open(settings) as engine:
        assert engine.store().count() == 5
        assert engine.ledger.counts()["files"] == 5


def test_broken_files_get_named_reasons_and_are_not_retried_until_changed(settings, copy_shared, tmp_path):
    copy_shared("broken")
    folder = tmp_path / "photos" / "broken"
    s = run(settings, [folder])
    with Engine.open(settings) as engine:
        reasons = {Path(f.path).name: f.reason for f in engine.ledger.failures(stage="decode")}
        assert engine.store().count() == 1  # only the PNG named .jpg is a real image
    assert reasons == {
        "not_an_image_text.jpg": "not_an_image",
        "truncated_40pct_iPhone7.heic": "truncated",
        "truncated_4KB_header_only_Sony_HX5V.jpg": "truncated",
        "truncated_50pct_canon_eos_6d.dng": reasons["truncated_50pct_canon_eos_6d.dng"],
        "truncated_50pct_prairie_falcon.jpg": "truncated",
        "truncated_60pct_density_plot.png": "truncated",
        "zero_bytes.jpg": "empty_file",
    }
    assert reasons["truncated_50pct_canon_eos_6d.dng"] in {"truncated", "corrupt", "raw_no_image_data"}
    assert s.failed == 7 and s.embedded == 1
    again = run(settings, [folder])
    assert again.skipped_failed == 7 and again.embedded == 0
    victim = folder / "zero_bytes.jpg"
    os.utime(victim, (1, 1))  # changed mtime: retried once more
    third = run(settings, [folder])
    assert third.skipped_failed == 6 and third.failed == 1
    with Engine.open(settings) as engine:
        row = next(f for f in engine.ledger.failures(stage="decode") if f.path == str(victim))
        assert row.attempts == 2


def test_new_model_gets_its_own_collection_never_mixed(settings, tmp_path):
    folder = tmp_path / "gen"
    make_photos(folder, 5)
    run(settings, [folder])
    weights, config = make_tiny_clip(tmp_path / "other", seed=1)
    other_id = f"{TINY_ARCH}/test-seed1"
    import_checked(weights, other_id, settings.models_dir, config=config)
    other = settings.with_overrides(model=other_id)
    s2 = run(other, [folder])
    assert s2.embedded == 5  # new model: everything embedded again, into a new collection
    with Engine.open(other) as engine:
        assert engine.collection() != engine.collection(settings.model)
        assert engine.store().count() == 5
        assert engine.store(settings.model).count() == 5
        a = {p["fingerprint"] for _, p, _ in engine.store(settings.model).scroll()}
        b = {p["fingerprint"] for _, p, _ in engine.store().scroll()}
        assert a == b
        assert {p["model"] for _, p, _ in engine.store().scroll()} == {other_id}


def test_without_weights_metadata_is_still_recorded(data_dir, copy_shared, tmp_path):
    copy_shared("jpeg/Canon_40D_small.jpg", "heic/Apple_iPhone7.heic", "raw/canon_eos_6d.dng")
    s = Settings(data_dir=data_dir)  # default model, no weights on this machine
    with Engine.open(s) as engine:
        assert engine.embedder is None
        assert "models import" in engine.weights_problem and s.model in engine.weights_problem
        summary = engine.index([str(tmp_path / "photos")])
        assert summary.metadata_read == 3 and summary.embedded == 0
        fps = [r.fingerprint for r in engine.ledger.files_under(str(tmp_path / "photos")).values()]
        metas = engine.ledger.metadata_for(fps)
        assert len(metas) == 3
        assert any(m.get("camera_model") for m in metas.values())


def test_rebuild_embeddings_reembeds_everything_in_place(settings, tmp_path):
    folder = tmp_path / "gen"
    make_photos(folder, 5)
    run(settings, [folder])
    again = run(settings, [folder], rebuild=True)
    assert again.embedded == 5 and again.metadata_read == 0
    with Engine.open(settings) as engine:
        assert engine.store().count() == 5


def test_rules_apply_at_index_time_and_again_on_demand(settings, tmp_path):
    from bridge.engine import load_rules

    folder = tmp_path / "Weddings" / "Smith-Jones"
    make_photos(folder, 3)
    rules = tmp_path / "rules.toml"
    rules.write_text(
        "[[rule]]\nname = 'clients'\npath = '/Weddings/(?P<client>[^/]+)/'\nkeywords = ['Clients|{client}']\n"
    )
    s = settings.with_overrides(rules_file=rules)
    with Engine.open(s) as engine:
        engine.index([str(tmp_path / "Weddings")], rules=load_rules(s))
        hits = engine.store().search(
            text_vector(engine, "x"), limit=5, where=parse_where("keyword=Smith-Jones")
        )
        assert len(hits) == 3
        assert all(h.payload["keyword_paths"] == ["Clients|Smith-Jones"] for h in hits)
    rules.write_text(
        "[[rule]]\nname = 'clients'\npath = '/Weddings/(?P<client>[^/]+)/'\n"
        "keywords = ['Weddings|{client}']\n"
    )
    with Engine.open(s) as engine:
        assert engine.indexer(rules=load_rules(s)).reapply_rules() == 3
        payloads = [p for _, p, _ in engine.store().scroll()]
        assert all(p["keyword_paths"] == ["Weddings|Smith-Jones"] for p in payloads)


def test_hostile_and_odd_files_complete_the_run_and_never_become_vectors(settings, tmp_path):
    from tests.photo_factory import write_image, write_png_bomb, write_tiff_rgb16

    folder = tmp_path / "odd"
    deep = folder / ("très_long_dossier_" * 6) / ("子目录_" * 10)
    deep.mkdir(parents=True)
    write_png_bomb(folder / "bomb.png")
    write_image(folder / "cmyk.tif", 300, 200, mode="CMYK")
    write_tiff_rgb16(folder / "rgb16.tif", 300, 200)
    write_image(deep / "ünïcødé 照片 (1).jpg", 300, 200)
    (folder / "only-magic.jpg").write_bytes(b"\xff\xd8\xff")
    s = run(settings, [folder])
    assert s.status == "completed"
    assert s.failures_by_reason == {"too_large": 1, "truncated": 1}
    assert s.embedded == 3
    with Engine.open(settings) as engine:
        paths = {p["path"] for _, p, _ in engine.store().scroll()}
        assert not any(p.endswith(("bomb.png", "only-magic.jpg")) for p in paths)
        assert str(deep / "ünïcødé 照片 (1).jpg") in paths


def test_same_pipeline_on_the_qdrant_server_code_path(settings, tmp_path):
    """store = "qdrant" goes through qdrant-client (local mode here; a server URL in production)."""
    folder = tmp_path / "gen"
    photos = make_photos(folder, 6)
    remote = settings.with_overrides(store="qdrant")
    s = run(remote, [folder])
    assert s.embedded == 6
    with Engine.open(remote) as engine:
        vec, _ = photo_vector(engine, photos[2])
        assert search(engine, vec, limit=1)[0].path == str(photos[2])
        assert type(engine.store()).__name__ == "RemoteStore"


def test_an_unlistable_folder_is_not_a_deletion(settings, tmp_path, monkeypatch):
    folder = tmp_path / "lib"
    make_photos(folder / "a", 3)
    make_photos(folder / "b", 3, seed=1)
    run(settings, [folder])
    real_scandir = os.scandir

    def flaky(path):  # a share that drops out: listing folder b fails this time
        if str(path).endswith("/b"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("bridge.indexing.scan.os.scandir", flaky)
    s = run(settings, [folder])
    assert s.deleted == 0 and any("could not list" in n for n in s.notes)
    with Engine.open(settings) as engine:
        assert engine.store().count() == 6
