"""Built-in model names take only their official weights: a known checksum that differs, or untrained
(random) weights, are refused with the expected checksum and the custom-name route; a custom name is fine.
`models download` without a network fails in seconds and names the offline route."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from bridge.models import registry
from bridge.models.clip import import_checked, verify_weights
from bridge.models.registry import (
    REGISTRY,
    ModelSpec,
    NotOfficialWeights,
    OfficialFile,
    OfficialWeights,
    imported_models,
)
from tests.model_factory import TINY_ARCH, TINY_MODEL_ID

BUILTIN = f"{TINY_ARCH}/official"  # a built-in for this test only: the real ones are hundreds of MB


@pytest.fixture
def tiny_builtin(monkeypatch, tiny_models_dir):
    spec = ModelSpec(BUILTIN, TINY_ARCH, "official", 64, 64, "default", "test")
    monkeypatch.setitem(REGISTRY, BUILTIN, spec)
    weights = next(tiny_models_dir.rglob("open_clip_model.safetensors"))
    return weights


def test_a_file_whose_checksum_differs_from_the_official_one_is_refused(tiny_builtin, monkeypatch, tmp_path):
    official = "ab" * 32
    pins = OfficialWeights((OfficialFile("open_clip_model.safetensors", official, "test"),), complete=True)
    monkeypatch.setitem(registry.OFFICIAL_WEIGHTS, BUILTIN, pins)
    with pytest.raises(NotOfficialWeights) as e:
        import_checked(tiny_builtin, BUILTIN, tmp_path / "models")
    msg = str(e.value)
    assert f"expected sha256 {official}" in msg and "--model PD-Tiny-ViT/my-weights" in msg
    assert imported_models(tmp_path / "models") == []


def test_untrained_weights_under_a_builtin_name_are_refused_and_fine_under_a_custom_one(
    tiny_builtin, tmp_path, tiny_models_dir
):
    # No checksum pinned for this name: the file loads, but its logit scale is open_clip's initial 1/0.07.
    with pytest.raises(NotOfficialWeights, match="untrained"):
        import_checked(tiny_builtin, BUILTIN, tmp_path / "models")
    assert imported_models(tmp_path / "models") == []
    config = next(tiny_models_dir.rglob(f"{TINY_ARCH}.json"))
    import_checked(tiny_builtin, f"{TINY_ARCH}/my-weights", tmp_path / "models", config=config)
    assert verify_weights(f"{TINY_ARCH}/my-weights", tmp_path / "models")["official"] is None


def test_verify_reports_a_builtin_import_that_is_not_the_official_file(tiny_builtin, monkeypatch, tmp_path):
    """An import made before the checksum was known (or by hand) is reported by `models verify`."""
    config = next(tiny_builtin.parent.parent.rglob(f"{TINY_ARCH}.json"))
    manifest = import_checked(tiny_builtin, TINY_MODEL_ID, tmp_path / "models", config=config)
    d = tmp_path / "models" / registry.safe_name(BUILTIN)
    (tmp_path / "models" / registry.safe_name(TINY_MODEL_ID)).rename(d)
    text = (d / registry.MANIFEST).read_text().replace(TINY_MODEL_ID, BUILTIN)
    (d / registry.MANIFEST).write_text(text)
    pins = OfficialWeights((OfficialFile("x", "cd" * 32, "test"),), complete=True)
    monkeypatch.setitem(registry.OFFICIAL_WEIGHTS, BUILTIN, pins)
    with pytest.raises(NotOfficialWeights, match=manifest["sha256"]):
        verify_weights(BUILTIN, tmp_path / "models")


def test_the_verified_rn50_checksum_is_openais_url_directory():
    import open_clip

    url = open_clip.get_pretrained_cfg("RN50", "openai")["url"]
    (pinned,) = registry.OFFICIAL_WEIGHTS["RN50/openai"].files
    assert url.split("/")[-2] == pinned.sha256 and url.endswith("/" + pinned.name)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_download_fails_in_seconds_and_names_the_offline_route(data_dir):
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}"}
    env.pop("HF_HUB_OFFLINE", None)
    r = subprocess.run(
        [sys.executable, "-m", "bridge", "models", "download", "ViT-B-32/laion2b_s34b_b79k"],
        env=env,
        capture_output=True,
        text=True,
        timeout=5,  # the old path retried for ~51 s
    )
    assert r.returncode == 1
    assert "models import FILE --model ViT-B-32/laion2b_s34b_b79k" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_random_vit_b_32_weights_are_refused_under_the_default_models_name(tmp_path, data_dir):
    """The case from the field: randomly initialised ViT-B-32 weights (the right architecture, so they load)
    imported as ViT-B-32/laion2b_s34b_b79k; accepted under a custom name with the architecture config."""
    import json
    from pathlib import Path

    import open_clip
    import torch
    from safetensors.torch import save_file

    from tests.bridge.cli.test_cli import pd

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    weights = tmp_path / "open_clip_model.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    r = pd(data_dir, "models", "import", str(weights), "--model", "ViT-B-32/laion2b_s34b_b79k", check=False)
    assert r.returncode == 1 and "not the official ViT-B-32/laion2b_s34b_b79k weights" in r.stderr
    assert "--model ViT-B-32/my-weights" in r.stderr
    config = tmp_path / "ViT-B-32.json"
    config.write_text(json.dumps(open_clip.get_model_config("ViT-B-32")))
    pd(data_dir, "models", "import", str(weights), "--model", "ViT-B-32/my-weights", "--config", str(config))
    listed = json.loads(pd(data_dir, "models", "list", "--json").stdout)
    assert {m["model"]: m["weights"] for m in listed}["ViT-B-32/my-weights"] == "imported"
    assert Path(data_dir / "models").is_dir()
