"""`index --vocabulary-catalog` is kept for the index's next runs (data dir vocabulary.json): a plain `index`
afterwards goes on with the same vocabulary (nothing re-keyworded), `config show` says where it comes from, and
`--vocabulary-catalog ''` goes back to the built-in vocabulary. The real CLI, the tiny test model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.settings import DATA_DIR_VOCABULARY_FILE, Settings, load_settings
from tests.bridge.cli.test_cli import pd
from tests.bridge.conftest import make_photos
from tests.catalog.fixtures import build_catalog


def _index(s: Settings, folder: Path, *extra: str) -> dict:
    r = pd(s.data_dir, "index", str(folder), "--model", s.model, "--no-quality", "--json", *extra)
    return dict(json.loads(r.stdout))


@pytest.mark.slow  # four real `index` runs (~35 s of CPU); the precedence below runs by default
def test_vocabulary_catalog_persists_until_forgotten(settings: Settings, shared_data: Path, tmp_path: Path):
    cat = build_catalog(shared_data, tmp_path / "cat", "1400000").path
    folder = tmp_path / "photos"
    make_photos(folder, 3)
    first = _index(settings, folder, "--vocabulary-catalog", str(cat))
    assert first["keyworded"] == 3, first
    record = json.loads((settings.data_dir / DATA_DIR_VOCABULARY_FILE).read_text())
    assert record == {"vocabulary_catalog": str(cat)}

    again = _index(settings, folder)  # no option: the same vocabulary, so nothing is keyworded again
    assert again["keyworded"] == 0, again
    shown = json.loads(pd(settings.data_dir, "config", "show", "--json").stdout)["settings"]
    assert shown["vocabulary_catalog"] == {"value": str(cat), "source": "data dir vocabulary.json"}
    status = json.loads(pd(settings.data_dir, "status", "--json").stdout)
    assert status["vocabulary_catalog"] == str(cat)
    assert f"Keyword vocabulary: your keywords in {cat}" in " ".join(pd(settings.data_dir, "status").stdout.split())

    back = _index(settings, folder, "--vocabulary-catalog", "")  # forgotten: the built-in vocabulary
    assert back["keyworded"] == 3, back
    assert not (settings.data_dir / DATA_DIR_VOCABULARY_FILE).exists()


def test_an_explicit_setting_wins_over_the_record(settings: Settings, tmp_path: Path, monkeypatch) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / DATA_DIR_VOCABULARY_FILE).write_text(json.dumps({"vocabulary_catalog": "/a.lrcat"}))
    assert load_settings(data_dir=settings.data_dir).vocabulary_catalog == Path("/a.lrcat")
    assert load_settings(data_dir=settings.data_dir, vocabulary_catalog=Path("/b.lrcat")).vocabulary_catalog == (
        Path("/b.lrcat")
    )
    monkeypatch.setenv("PIXEL_DETECTIVE_VOCABULARY_CATALOG", "/c.lrcat")
    assert load_settings(data_dir=settings.data_dir).vocabulary_catalog == Path("/c.lrcat")
    monkeypatch.delenv("PIXEL_DETECTIVE_VOCABULARY_CATALOG")
    (settings.data_dir / DATA_DIR_VOCABULARY_FILE).write_text("not json")  # damaged: ignored, never fatal
    assert load_settings(data_dir=settings.data_dir).vocabulary_catalog is None


def test_status_says_which_vocabulary() -> None:
    from bridge.cli.info_cmd import _vocabulary_words

    assert _vocabulary_words({"vocabulary_catalog": None}) == "the built-in photography vocabulary"
    assert _vocabulary_words({"vocabulary_catalog": "/a.lrcat", "builtin_vocabulary": False}) == (
        "your keywords in /a.lrcat"
    )
