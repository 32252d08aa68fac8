"""The analysis stages wired into the engine: quality scores, duplicate signatures, keywords and captions
recorded per stage in the ledger, shown in the payload, filterable, searchable, resumable on their own."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from bridge.analyses.kinds import pixel_versions
from bridge.engine import Engine
from bridge.indexing.payload import point_id
from bridge.models.blip import import_caption_model
from bridge.search.query import fuse, query_words, search, text_vector
from bridge.search.where import parse_where
from bridge.settings import Settings
from tests.blip_factory import make_tiny_blip
from tests.bridge.conftest import make_photos
from tests.photo_factory import textured_image


@pytest.fixture(scope="session")
def tiny_blip_dir(tmp_path_factory) -> Path:
    return make_tiny_blip(tmp_path_factory.mktemp("tiny-blip"))


@pytest.fixture
def caption_settings(settings: Settings, tiny_blip_dir: Path) -> Settings:
    import_caption_model(tiny_blip_dir, "tiny-blip", settings.models_dir)
    return settings.with_overrides(caption_model="tiny-blip")


def index(settings: Settings, folder: Path, **kw):
    with Engine.open(settings) as engine:
        return engine.index([str(folder)], **kw)


def payloads(settings: Settings) -> dict[str, dict]:
    with Engine.open(settings) as engine:
        return {p["path"]: p for _, p, _ in engine.store().scroll()}


def test_quality_and_signatures_are_stored_shown_and_filterable(settings, tmp_path):
    folder = tmp_path / "q"
    folder.mkdir()
    sharp = textured_image(320, 240, seed=1)
    sharp.save(folder / "sharp.jpg", quality=95)
    sharp.filter(ImageFilter.GaussianBlur(6)).save(folder / "blurred.jpg", quality=95)
    summary = index(settings, folder)
    assert summary.analyzed == 2 and summary.failed == 0
    with Engine.open(settings) as engine:
        versions = pixel_versions()
        for kind, version in versions.items():
            assert len(engine.ledger.done_fingerprints(kind, version)) == 2
        got = {p["filename"]: p for _, p, _ in engine.store().scroll()}
        assert got["sharp.jpg"]["q_sharpness"] > got["blurred.jpg"]["q_sharpness"]
        for p in got.values():
            for f in ("q_sharpness", "q_exposure", "q_noise", "q_overall"):
                assert 0.0 <= p[f] <= 1.0
        cut = (got["sharp.jpg"]["q_sharpness"] + got["blurred.jpg"]["q_sharpness"]) / 2
        vec = text_vector(engine, "a photo")
        hits = search(engine, vec, where=parse_where(f"sharpness>={cut:.4f}"))
        assert [h.path for h in hits] == [str(folder / "sharp.jpg")]
    again = index(settings, folder)
    assert again.analyzed == 0 and again.embedded == 0  # nothing redone


def test_quality_runs_without_model_weights(data_dir, tmp_path):
    folder = tmp_path / "p"
    make_photos(folder, 3)
    s = Settings(data_dir=data_dir, model="ViT-B-32/laion2b_s34b_b79k", workers=1)
    with Engine.open(s) as engine:
        assert engine.embedder is None  # no weights on this machine
        summary = engine.index([str(folder)])
        assert summary.analyzed == 3
        assert len(engine.ledger.done_fingerprints("quality", pixel_versions()["quality"])) == 3


def test_keywords_from_the_vocabulary_reach_ledger_and_payload(settings, tmp_path):
    folder = tmp_path / "k"
    make_photos(folder, 4)
    s = settings.with_overrides(
        keywords_max=3, keywords_min_score=-1.0, keywords_min_margin=-1.0
    )  # random model: top 3
    summary = index(s, folder)
    assert summary.keyworded == 4
    with Engine.open(s) as engine:
        assigner = engine.keyword_assigner()
        done = engine.ledger.done_fingerprints("keywords", assigner.version)
        assert len(done) == 4
        stored = engine.ledger.analyses_for(done, ["keywords"])
        for fp, kinds in stored.items():
            kw = kinds["keywords"]
            assert 1 <= len(kw["paths"]) <= 3
            assert len(set(kw["paths"])) == len(kw["paths"])
            (_, payload, _) = engine.store().retrieve([point_id(fp, s.model)])[0]
            assert payload["ai_keyword_paths"] == kw["paths"]
            assert payload["ai_keywords"] == kw["labels"]
            label = kw["labels"][0]
            hits = search(engine, text_vector(engine, "x"), where=parse_where(f"ai_keyword='{label}'"))
            assert fp in {h.fingerprint for h in hits}


def test_a_new_vocabulary_rekeywords_from_stored_vectors_without_reading_files(settings, tmp_path):
    folder = tmp_path / "k"
    make_photos(folder, 5)
    index(settings.with_overrides(keywords_min_score=-1.0, keywords_min_margin=-1.0), folder)
    narrowed = settings.with_overrides(
        keywords_min_score=-1.0, keywords_min_margin=-1.0, keywords_allow=["Subjects|Animals"]
    )
    summary = index(narrowed, folder)
    assert summary.embedded == 0 and summary.analyzed == 0  # no decode, no embedding
    assert summary.keyworded == 5
    for p in payloads(narrowed).values():
        assert p["ai_keyword_paths"] and all(k.startswith("Subjects|Animals") for k in p["ai_keyword_paths"])


def test_enabling_captions_later_runs_only_captions(caption_settings, tmp_path):
    folder = tmp_path / "c"
    make_photos(folder, 6)
    first = index(caption_settings, folder)
    assert first.embedded == 6 and first.captioned == 0
    with_captions = caption_settings.with_overrides(captions=True)
    second = index(with_captions, folder)
    assert (second.embedded, second.analyzed, second.metadata_read) == (0, 0, 0)
    assert second.captioned == 6
    with Engine.open(with_captions) as engine:
        cap = engine.captioner()
        assert len(engine.ledger.done_fingerprints("caption", cap.model_id)) == 6
    for p in payloads(with_captions).values():
        assert isinstance(p["ai_caption"], str) and p["ai_caption"].strip()
    third = index(with_captions, folder)
    assert third.captioned == 0


def test_captions_are_searchable_by_their_words(caption_settings, tmp_path):
    folder = tmp_path / "c"
    make_photos(folder, 8)
    s = caption_settings.with_overrides(captions=True)
    index(s, folder)
    got = payloads(s)
    with Engine.open(s) as engine:
        # A word that appears in exactly one photo's caption must bring that photo to the top,
        # whatever the (random) image similarity says.
        counts: dict[str, list[str]] = {}
        for path, p in got.items():
            for w in set(query_words(p["ai_caption"])):
                counts.setdefault(w, []).append(path)
        unique = sorted((w, ps[0]) for w, ps in counts.items() if len(ps) == 1)
        assert unique, "tiny captions share every word; change the seed"
        for word, path in unique[:3]:
            vec = text_vector(engine, word)
            hybrid = search(engine, vec, limit=3, text=word)
            assert hybrid[0].path == path, word
            assert word in hybrid[0].fields["ai_caption"].casefold()


def test_a_file_broken_before_captioning_is_recorded_and_the_rest_captioned(caption_settings, tmp_path):
    folder = tmp_path / "c"
    make_photos(folder, 3)
    s = caption_settings.with_overrides(captions=True)
    index(s.with_overrides(captions=False), folder)
    broken = folder / "gen_00001.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really")  # broken after indexing
    summary = index(s, folder)
    assert summary.captioned == 2
    with Engine.open(s) as engine:
        fails = {f.path: f for f in engine.ledger.failures()}
        assert fails[str(broken)].stage == "decode" and fails[str(broken)].reason
        captioned = engine.ledger.done_fingerprints("caption", engine.captioner().model_id)
        assert engine.ledger.file_by_path(str(broken)).fingerprint not in captioned


def test_missing_caption_weights_say_so_and_the_rest_still_runs(settings, tmp_path):
    folder = tmp_path / "c"
    make_photos(folder, 2)
    s = settings.with_overrides(captions=True, caption_model="blip-large")
    with Engine.open(s) as engine:
        summary = engine.index([str(folder)])
        assert engine.caption_problem and "blip-large" in engine.caption_problem
    assert summary.embedded == 2 and summary.captioned == 0


def test_reciprocal_rank_fusion():
    scores = fuse([["a", "b", "c"], ["c", "a"]], k=60)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)
    assert sorted(scores, key=lambda x: -scores[x]) == ["a", "c", "b"]
    assert query_words("A dog on the beach, at sunset!") == ["dog", "beach", "sunset"]


def test_analyses_of_removed_files_are_forgotten(settings, tmp_path):
    folder = tmp_path / "g"
    photos = make_photos(folder, 3)
    index(settings, folder)
    photos[0].unlink()
    index(settings, folder)
    with Engine.open(settings) as engine:
        live = set(engine.ledger.path_index())
        rows = engine.ledger.db.conn.execute("SELECT DISTINCT fingerprint FROM analyses").fetchall()
        assert {r[0] for r in rows} == live and len(live) == 2


def test_rules_apply_rebuilds_payloads_with_analysis_fields(settings, tmp_path):
    folder = tmp_path / "r"
    make_photos(folder, 2)
    index(settings, folder)
    with Engine.open(settings) as engine:
        idx = engine.indexer()
        idx.reapply_rules()
        for _, p, _ in engine.store().scroll():
            assert "q_overall" in p and "ai_keywords" in p


def _burst(folder: Path) -> None:
    """Three frames 200 ms apart from one camera, each shifted a little (a handheld burst)."""
    from PIL import ExifTags

    base = textured_image(400, 300, seed=5)
    for i in range(3):
        frame = base.transform(base.size, Image.Transform.AFFINE, (1, 0, 2 * i, 0, 1, i))
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "Canon"
        exif[ExifTags.Base.Model] = "EOS R5"
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        sub[ExifTags.Base.DateTimeOriginal] = "2024:05:01 10:00:00"
        sub[0x9291] = f"{i * 2}"  # SubSecTimeOriginal: .0, .2, .4 s
        frame.save(folder / f"burst_{i}.jpg", quality=92, exif=exif.tobytes())


def test_duplicates_command_reports_three_kinds_separately(settings, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from bridge.cli.app import app

    folder = tmp_path / "d"
    folder.mkdir()
    orig = textured_image(480, 360, seed=2)
    orig.save(folder / "orig.jpg", quality=95)
    shutil.copyfile(folder / "orig.jpg", folder / "copy_of_orig.jpg")
    orig.resize((240, 180)).save(folder / "orig_small.jpg", quality=80)
    textured_image(480, 360, seed=9).save(folder / "other.jpg", quality=95)
    _burst(folder)
    index(settings, folder)
    monkeypatch.setenv("PIXEL_DETECTIVE_MODEL", settings.model)
    res = CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), "duplicates", "--json"])
    assert res.exit_code == 0, res.output
    groups = json.loads(res.output)["groups"]
    by_kind: dict[str, list[set[str]]] = {}
    for g in groups:
        by_kind.setdefault(g["kind"], []).append({Path(p).name for p in g["paths"]})
    assert by_kind["exact"] == [{"orig.jpg", "copy_of_orig.jpg"}]
    assert {"orig.jpg", "orig_small.jpg"} <= set().union(*by_kind["near"]) or any(
        {"copy_of_orig.jpg", "orig_small.jpg"} <= g for g in by_kind["near"]
    )
    assert by_kind["burst"] == [{"burst_0.jpg", "burst_1.jpg", "burst_2.jpg"}]
    assert not any("other.jpg" in g for gs in by_kind.values() for g in gs)
    only = CliRunner().invoke(
        app, ["--data-dir", str(settings.data_dir), "duplicates", "--kind", "burst", "--json"]
    )
    assert {g["kind"] for g in json.loads(only.output)["groups"]} == {"burst"}


def test_stored_vectors_come_back_unit_norm(settings, tmp_path):
    """The keyword pass scores vectors read back from the store: they must come back as stored."""
    folder = tmp_path / "n"
    make_photos(folder, 2)
    index(settings, folder)
    with Engine.open(settings) as engine:
        for _, _, vec in engine.store().scroll(with_vectors=True):
            assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-3)


def test_a_failed_analysis_waits_until_the_file_changes(settings):
    from bridge.indexing.plan import gave_up
    from bridge.records import ScannedFile, Stage
    from bridge.state.rows import FailureRow

    n = settings.max_attempts
    f = ScannedFile("/p/a.jpg", 100, 5, "/p", "fp")
    fail = FailureRow("/p/a.jpg", Stage.QUALITY, "corrupt", "x", 1, 100, 5, 0.0)
    assert gave_up(fail, f, False, n)  # unchanged: not retried
    assert not gave_up(fail, ScannedFile("/p/a.jpg", 101, 6, "/p", "fp2"), False, n)
    assert not gave_up(fail, f, True, n)  # --retry-failed, attempts left
    spent = FailureRow("/p/a.jpg", Stage.QUALITY, "corrupt", "x", n, 100, 5, 0.0)
    assert gave_up(spent, f, True, n)
    assert not gave_up(None, f, False, n)


@pytest.mark.parametrize("device_decode", ["off", "on"])
def test_captions_come_in_the_same_pass_as_the_embedding(caption_settings, tmp_path, device_decode):
    """A first run with captions on decodes each photo once: the caption model gets the caption input made
    where the photo was decoded (CPU worker or device lane); the separate caption pass finds nothing left."""
    folder = tmp_path / "c"
    make_photos(folder, 20, size=(160, 120))
    s = caption_settings.with_overrides(captions=True, device_decode=device_decode)
    in_pass: list[int] = []
    with Engine.open(s) as engine:
        indexer = engine.indexer()
        indexer.on_caption_committed = in_pass.append
        summary = indexer.run([str(folder)])
        assert summary.status == "completed" and summary.failed == 0
        assert summary.embedded == 20 and summary.captioned == 20
        assert sum(in_pass) == 20  # all of them in the shared pass
        assert "caption" not in summary.phase_seconds  # the separate pass (a second decode) never ran
        assert len(engine.ledger.done_fingerprints("caption", engine.captioner().model_id)) == 20
    texts = [p["ai_caption"] for p in payloads(s).values()]
    assert len(texts) == 20 and all(t.strip() for t in texts)
    again = index(s, folder)
    assert (again.embedded, again.captioned) == (0, 0)


def test_in_pass_captions_match_the_caption_pass(caption_settings, tmp_path):
    """The same photos captioned in the shared pass and by the separate pass get the same captions."""
    folder = tmp_path / "c"
    make_photos(folder, 6, size=(160, 120))
    shared = caption_settings.with_overrides(captions=True)
    index(shared, folder)
    first = {p["path"]: p["ai_caption"] for p in payloads(shared).values()}
    later = caption_settings.with_overrides(data_dir=tmp_path / "later", captions=False)
    shutil.copytree(caption_settings.models_dir, later.models_dir)
    index(later, folder)
    index(later.with_overrides(captions=True), folder)  # captions added afterwards: the separate pass
    second = {p["path"]: p["ai_caption"] for p in payloads(later.with_overrides(captions=True)).values()}
    assert first == second
