"""Caption stage: a tiny random-weights BLIP saved with save_pretrained() goes through the real
import / resolve / transformers loading path. Caption quality needs real weights and is not tested."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bridge.models.blip import (
    CAPTION_MODELS,
    Captioner,
    CaptionError,
    CaptionWeightsMissing,
    caption_models_dir,
    clean_caption,
    import_caption_model,
    resolve_caption_model,
)
from tests.blip_factory import TINY_IMAGE_SIZE, make_tiny_blip
from tests.photo_factory import textured_image


@pytest.fixture(scope="module")
def tiny_blip(tmp_path_factory) -> Path:
    return make_tiny_blip(tmp_path_factory.mktemp("tiny-blip"))


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, tiny_blip: Path) -> Path:
    models = tmp_path_factory.mktemp("models")
    import_caption_model(tiny_blip, "blip-base", models)
    return models


@pytest.fixture(scope="module")
def captioner(models_dir: Path) -> Captioner:
    return Captioner("blip-base", models_dir, device="cpu", max_new_tokens=12, num_beams=2, batch_size=4)


def generated(n: int) -> list[np.ndarray]:
    return [np.asarray(textured_image(120 + 17 * i, 90 + 11 * i, seed=i)) for i in range(n)]


def test_import_writes_manifest_and_loadable_copy(models_dir: Path, tiny_blip: Path) -> None:
    d = caption_models_dir(models_dir) / "blip-base"
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["name"] == "blip-base"
    assert manifest["source"] == str(tiny_blip.resolve())
    assert set(manifest["sha256"]) == {"model.safetensors"}
    assert (d / "config.json").is_file() and (d / "vocab.txt").is_file()
    assert not [p for p in d.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_captions_batch_deterministic_and_batch_independent(captioner: Captioner) -> None:
    images = generated(6)  # 6 with batch_size 4: a full and a partial batch
    first = captioner.caption(images)
    assert len(first) == 6
    assert all(isinstance(c, str) and c.strip() == c and c for c in first)
    assert len(set(first)) > 1  # different images, different captions
    assert captioner.caption(images) == first
    assert [captioner.caption([im])[0] for im in images] == first
    assert captioner.caption([]) == []


def test_properties_and_release(captioner: Captioner) -> None:
    assert captioner.input_size == TINY_IMAGE_SIZE
    assert captioner.device == "cpu"
    assert captioner.model_id.startswith("blip-base@")
    before = captioner.caption(generated(1))
    captioner.release()
    assert not captioner.model.loaded
    assert captioner.caption(generated(1)) == before  # reloads lazily, same result


def test_odd_inputs(captioner: Captioner) -> None:
    gray = np.full((50, 70), 128, np.uint8)
    rgba = np.zeros((33, 20, 4), np.uint8)
    exact = np.asarray(textured_image(TINY_IMAGE_SIZE, TINY_IMAGE_SIZE, seed=3))
    assert all(captioner.caption([gray, rgba, exact]))
    with pytest.raises(CaptionError):
        captioner.caption([np.zeros((10, 10, 3), np.float32)])


@pytest.mark.shared_data
def test_real_photos(captioner: Captioner, shared_data: Path) -> None:
    paths = sorted((shared_data / "jpeg").glob("*.jpg"))[:6]
    images = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    captions = captioner.caption(images)
    assert len(captions) == len(images) and all(captions)
    assert [captioner.caption([im])[0] for im in images] == captions


def test_resolve_order_explicit_dir_then_imported(models_dir: Path, tiny_blip: Path, tmp_path: Path) -> None:
    assert resolve_caption_model(str(tiny_blip), models_dir) == tiny_blip.resolve()
    imported = caption_models_dir(models_dir) / "blip-base"
    assert resolve_caption_model("blip-base", models_dir) == imported
    # the repo id finds the weights imported under the short name
    assert resolve_caption_model(CAPTION_MODELS["blip-base"], models_dir) == imported


def test_resolve_hub_cache(tiny_blip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hub cache laid out like huggingface_hub writes it: refs/main -> snapshots/<commit>/files."""
    cache = tmp_path / "hub"
    repo_dir = cache / "models--Salesforce--blip-image-captioning-large"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_blip, repo_dir / "snapshots" / commit)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    empty_models = tmp_path / "models"
    found = resolve_caption_model("blip-large", empty_models)
    assert found == repo_dir / "snapshots" / commit
    c = Captioner("blip-large", empty_models, device="cpu", max_new_tokens=5, num_beams=1)
    assert c.model_id.startswith("blip-large@")
    assert all(c.caption(generated(2)))
    # an imported copy wins over the hub cache
    import_caption_model(tiny_blip, "blip-large", empty_models)
    assert (
        resolve_caption_model("blip-large", empty_models) == caption_models_dir(empty_models) / "blip-large"
    )


def test_weights_missing_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(CaptionWeightsMissing) as e:
        Captioner("blip-base", tmp_path / "models")
    msg = str(e.value)
    assert "blip-base" in msg and CAPTION_MODELS["blip-base"] in msg
    assert str(tmp_path / "models" / "captions" / "blip-base") in msg
    assert "pixel-detective models import-caption DIR --name blip-base" in msg
    assert "hub cache" in msg


def test_import_rejects_non_blip_and_leaves_nothing(tiny_blip: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    not_a_model = tmp_path / "photos"
    not_a_model.mkdir()
    (not_a_model / "a.txt").write_text("hello")
    with pytest.raises(CaptionError, match="config.json"):
        import_caption_model(not_a_model, "blip-base", models)
    other = tmp_path / "bert"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (other / "model.safetensors").write_bytes(b"x")
    with pytest.raises(CaptionError, match="not BLIP"):
        import_caption_model(other, "blip-base", models)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_blip, broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CaptionError, match="does not load"):
        import_caption_model(broken, "blip-base", models)
    leftovers = list(caption_models_dir(models).iterdir()) if caption_models_dir(models).exists() else []
    assert leftovers == []


def test_model_id_changes_with_weights(models_dir: Path, tmp_path: Path) -> None:
    other = make_tiny_blip(tmp_path / "seed1", seed=1)
    models = tmp_path / "models"
    import_caption_model(other, "blip-base", models)
    a = Captioner("blip-base", models_dir, device="cpu").model_id
    b = Captioner("blip-base", models, device="cpu").model_id
    assert a != b and a.split("@")[0] == b.split("@")[0] == "blip-base"
    assert Captioner("blip-base", models_dir, device="cpu").model_id == a  # stable


def test_clean_caption() -> None:
    assert clean_caption("  arafed man   sitting on a a bench ") == "man sitting on a bench"
    assert clean_caption("there is a dog dog on the grass") == "a dog on the grass"
    assert clean_caption("a photography of a red car", "a photography of") == "a red car"
    assert clean_caption("arafed") == "arafed"  # cleaning never empties a caption
    assert clean_caption("") == ""
