"""Custom models round-trip through export-db / import-db: the archive names each collection's model (an
imported one with its weights file, checksum and config; its weights too with --with-weights), and an import
into a machine that lacks the model registers it, or imports the index and names the weights to import, or —
other weights registered under the same name — refuses before anything changes. The tiny test model is such an
imported (custom) model; the real CLI."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from bridge.engine import Engine
from bridge.models.registry import read_manifest
from bridge.settings import Settings
from tests.bridge.cli.test_cli import pd
from tests.bridge.conftest import make_photos


@pytest.fixture
def exported(settings: Settings, tmp_path: Path) -> Settings:
    make_photos(tmp_path / "photos", 4)
    with Engine.open(settings) as engine:
        engine.index([str(tmp_path / "photos")])
    return settings


def _manifest(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        f = tar.extractfile("manifest.json")
        assert f is not None
        return dict(json.loads(f.read()))


def test_with_weights_the_custom_model_is_registered_and_searchable(exported, tmp_path, monkeypatch):
    s = exported
    archive = tmp_path / "with.tar.gz"
    pd(s.data_dir, "export-db", str(archive), "--with-weights")
    (model,) = _manifest(archive)["models"]
    theirs = read_manifest(s.models_dir, s.model)
    assert theirs is not None
    assert model["id"] == s.model and model["source"] == "imported" and model["sha256"] == theirs["sha256"]
    assert model["weights_included"] and model["spec"] == theirs["spec"]

    fresh = tmp_path / "fresh"  # another machine: no models at all
    monkeypatch.setenv("PIXEL_DETECTIVE_MODEL", s.model)
    r = pd(fresh, "import-db", str(archive))
    assert f"model {s.model}: registered from the archive" in r.stdout
    ours = read_manifest(fresh / "models", s.model)
    assert ours is not None and ours["sha256"] == theirs["sha256"] and ours["spec"] == theirs["spec"]
    photo = next((tmp_path / "photos").iterdir())
    hits = json.loads(pd(fresh, "search", "--like", str(photo), "--json", "-n", "1").stdout)
    assert hits["results"][0]["path"] == str(photo)  # searchable with the registered weights


def test_without_weights_the_index_imports_and_names_what_is_missing(exported, tmp_path, monkeypatch):
    s = exported
    archive = tmp_path / "plain.tar.gz"
    pd(s.data_dir, "export-db", str(archive))
    (model,) = _manifest(archive)["models"]
    assert not model["weights_included"] and model["config_file"]
    with tarfile.open(archive) as tar:  # the config travels, the weights do not
        names = tar.getnames()
    assert any(n.endswith(model["config_file"]) for n in names)
    assert not any(n.endswith(model["weights_file"]) for n in names)

    fresh = tmp_path / "fresh"
    monkeypatch.setenv("PIXEL_DETECTIVE_MODEL", s.model)
    r = pd(fresh, "import-db", str(archive), check=False)
    assert r.returncode == 4, r.stderr  # imported, one thing left to do
    err = " ".join(r.stderr.split())
    assert s.model in err and model["sha256"] in err and "pixel-detective models import" in err
    assert "Traceback" not in r.stderr
    status = json.loads(pd(fresh, "status", "--json").stdout)
    assert status["files"] == 4


@pytest.mark.slow  # a third export/import round (the two above run by default)
def test_other_weights_under_the_same_name_are_refused_before_any_change(exported, tmp_path, monkeypatch):
    s = exported
    archive = tmp_path / "with.tar.gz"
    pd(s.data_dir, "export-db", str(archive), "--with-weights")
    other = tmp_path / "other"
    (other / "models").mkdir(parents=True)
    mdir = next(p for p in s.models_dir.iterdir() if p.is_dir())
    (other / "models" / mdir.name).mkdir()
    manifest = json.loads((mdir / "manifest.json").read_text()) | {"sha256": "0" * 64}
    (other / "models" / mdir.name / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("PIXEL_DETECTIVE_MODEL", s.model)
    r = pd(other, "import-db", str(archive), check=False)
    assert r.returncode == 1 and "holds other weights under that name" in r.stderr
    assert not (other / "ledger.sqlite").exists() or json.loads(pd(other, "status", "--json").stdout)["files"] == 0
    assert json.loads((other / "models" / mdir.name / "manifest.json").read_text())["sha256"] == "0" * 64
