from __future__ import annotations

import numpy as np
import pytest

from bridge.models.clip import Embedder, choose_precision, import_checked, verify_weights
from bridge.models.registry import ModelError, WeightsMissing, resolve, spec_for
from tests.model_factory import TINY_MODEL_ID


def test_default_model_without_weights_says_how_to_get_them(tmp_path):
    with pytest.raises(WeightsMissing) as e:
        resolve("ViT-B-32/laion2b_s34b_b79k", tmp_path)
    msg = str(e.value)
    assert "models download ViT-B-32/laion2b_s34b_b79k" in msg and "models import" in msg


def test_unknown_model_lists_the_known_ones(tmp_path):
    with pytest.raises(ModelError, match="ViT-B-32/laion2b_s34b_b79k"):
        spec_for("NoSuch/model", tmp_path)


def test_imported_tiny_model_loads_and_embeds_deterministically(tiny_models_dir):
    e = Embedder(TINY_MODEL_ID, tiny_models_dir, device="cpu", precision="fp32")
    x = np.random.default_rng(1).integers(0, 255, (3, 64, 64, 3), dtype=np.uint8)
    a, b = e.encode_images(x), e.encode_images(x)
    assert a.shape == (3, 64) and np.allclose(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    t = e.encode_text(["a dog", "a cat"])
    assert t.shape == (2, 64) and not np.allclose(t[0], t[1])
    e.release()
    assert np.allclose(e.encode_images(x), a)  # reloads after release


def test_tampered_weights_fail_verification(tiny_models_dir, tmp_path):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    assert verify_weights(TINY_MODEL_ID, models)["sha256_ok"]
    w = resolve(TINY_MODEL_ID, models).weights_file
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        verify_weights(TINY_MODEL_ID, models)


def test_import_refuses_a_file_that_does_not_load(tmp_path, tiny_models_dir):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not weights")
    config = next(tiny_models_dir.rglob("PD-Tiny-ViT.json"))
    with pytest.raises(ModelError, match="does not load"):
        import_checked(junk, "PD-Tiny-ViT/junk", tmp_path / "m", config=config)
    assert not (tmp_path / "m" / "pd-tiny-vit__junk").exists()


def test_precision_auto_needs_measured_agreement(tmp_path):
    assert choose_precision("auto", "cpu", "X/y", tmp_path) == "fp32"
    (tmp_path / "precision_agreement.json").write_text('{"X/y": {"cpu:bf16": 0.9995}}')
    assert choose_precision("auto", "cpu", "X/y", tmp_path) == "bf16"
    assert choose_precision("auto", "cuda", "X/y", tmp_path) == "fp16"
    assert choose_precision("fp32", "cuda", "X/y", tmp_path) == "fp32"


def test_measured_bf16_agreement_is_recorded_and_used(tiny_models_dir, tmp_path, copy_shared):
    import shutil

    from bridge.cli.models_cmd import _sample_images
    from bridge.models.clip import measure_agreement, read_agreements

    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    folder = copy_shared("jpeg/Canon_40D_small.jpg", "png/photo_animal_chelsea_cat.png")[0].parent.parent
    images = _sample_images(folder, 64)
    assert images.shape == (2, 64, 64, 3)
    agreement = measure_agreement(TINY_MODEL_ID, models, images, precision="bf16")
    assert 0.9 < agreement <= 1.0 + 1e-6
    assert read_agreements(models)[TINY_MODEL_ID]["cpu:bf16"] == agreement
    expected = "bf16" if agreement >= 0.999 else "fp32"
    assert choose_precision("auto", "cpu", TINY_MODEL_ID, models) == expected
