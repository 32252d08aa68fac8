"""Embedding model registry and weights: real open_clip names, hub cache or an imported local file.

Weights are looked up in this order:
1. a file imported with `pixel-detective models import FILE --model ID` (kept in <data_dir>/models/<id>/);
2. the Hugging Face hub cache of a connected machine (filled by `pixel-detective models download ID`
   or by any earlier open_clip use);
otherwise `WeightsMissing` says exactly what is missing and how to get it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str  # "<architecture>/<pretrained tag>"
    arch: str
    pretrained: str
    dim: int
    image_size: int
    tier: str  # "default", "stronger", "smaller", "custom"
    note: str = ""


REGISTRY: dict[str, ModelSpec] = {
    s.id: s
    for s in (
        ModelSpec(
            "ViT-B-32/laion2b_s34b_b79k",
            "ViT-B-32",
            "laion2b_s34b_b79k",
            512,
            224,
            "default",
            "balanced; ~17 img/s fp32, ~32 bf16 on 2 CPU cores",
        ),
        ModelSpec(
            "ViT-B-16/laion2b_s34b_b88k",
            "ViT-B-16",
            "laion2b_s34b_b88k",
            512,
            224,
            "stronger",
            "finer detail, ~4x the compute of ViT-B-32",
        ),
        ModelSpec(
            "ViT-L-14/laion2b_s32b_b82k",
            "ViT-L-14",
            "laion2b_s32b_b82k",
            768,
            224,
            "stronger",
            "best quality here; wants a GPU for large collections",
        ),
        ModelSpec(
            "MobileCLIP-S1/datacompdr",
            "MobileCLIP-S1",
            "datacompdr",
            512,
            256,
            "smaller",
            "fast on CPU and laptops",
        ),
        ModelSpec("RN50/openai", "RN50", "openai", 1024, 224, "smaller", "original OpenAI ResNet-50 CLIP"),
    )
}


class WeightsMissing(Exception):
    """No weights for a model on this machine; the message says how to get them."""


class ModelError(Exception):
    pass


def safe_name(model_id: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "__", model_id.lower()).strip("_")


def split_id(model_id: str) -> tuple[str, str]:
    if "/" not in model_id:
        raise ModelError(
            f"model id {model_id!r} must look like ARCH/PRETRAINED, e.g. ViT-B-32/laion2b_s34b_b79k"
        )
    arch, tag = model_id.split("/", 1)
    return arch, tag


@dataclass(frozen=True, slots=True)
class ResolvedWeights:
    spec: ModelSpec
    source: str  # "imported" or "hub-cache"
    weights_file: Path | None  # local file for imported weights
    config_file: Path | None  # open_clip architecture config for custom models
    manifest: dict[str, Any]


def model_dir(models_dir: Path, model_id: str) -> Path:
    return models_dir / safe_name(model_id)


def read_manifest(models_dir: Path, model_id: str) -> dict[str, Any] | None:
    p = model_dir(models_dir, model_id) / MANIFEST
    return json.loads(p.read_text()) if p.exists() else None


def imported_models(models_dir: Path) -> list[str]:
    """Ids of every model whose weights were imported into `models_dir`."""
    if not models_dir.is_dir():
        return []
    out = []
    for manifest in sorted(models_dir.glob(f"*/{MANIFEST}")):
        out.append(json.loads(manifest.read_text())["spec"]["id"])
    return out


def spec_for(model_id: str, models_dir: Path) -> ModelSpec:
    if model_id in REGISTRY:
        return REGISTRY[model_id]
    manifest = read_manifest(models_dir, model_id)
    if manifest:
        return ModelSpec(**manifest["spec"])
    known = ", ".join(REGISTRY)
    raise ModelError(
        f"unknown model {model_id!r}. Known: {known}. A custom open_clip model can be imported with "
        "`pixel-detective models import WEIGHTS --model ARCH/TAG --config ARCH.json`."
    )


def hub_cached(spec: ModelSpec) -> bool:
    """True when the hub cache of this machine already holds the pretrained weights (no network use)."""
    import open_clip
    from huggingface_hub import try_to_load_from_cache

    cfg = open_clip.get_pretrained_cfg(spec.arch, spec.pretrained) or {}
    repo = (cfg.get("hf_hub") or "").rstrip("/")
    if not repo:
        return False
    for filename in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
        hit = try_to_load_from_cache(repo, filename)
        if isinstance(hit, str) and os.path.exists(hit):
            return True
    return False


def resolve(model_id: str, models_dir: Path) -> ResolvedWeights:
    spec = spec_for(model_id, models_dir)
    manifest = read_manifest(models_dir, model_id)
    if manifest:
        return _resolved_in(model_dir(models_dir, model_id), spec, manifest)
    if spec.tier != "custom" and hub_cached(spec):
        return ResolvedWeights(spec, "hub-cache", None, None, {})
    raise WeightsMissing(
        f"no weights for {model_id} on this machine (looked in {model_dir(models_dir, model_id)} and the "
        "Hugging Face hub cache). On a connected machine run `pixel-detective models download "
        f"{model_id}`; offline, copy the weights file (open_clip_model.safetensors from the model's hub "
        f"page) here and run `pixel-detective models import FILE --model {model_id}`."
    )


def _resolved_in(d: Path, spec: ModelSpec, manifest: dict[str, Any]) -> ResolvedWeights:
    weights = d / manifest["weights_file"]
    if not weights.exists():
        raise WeightsMissing(f"imported weights for {spec.id} are gone ({weights}); import them again")
    config = d / manifest["config_file"] if manifest.get("config_file") else None
    return ResolvedWeights(spec, "imported", weights, config, manifest)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def import_weights(
    file: Path,
    model_id: str,
    models_dir: Path,
    *,
    config: Path | None = None,
    check: Callable[[ResolvedWeights], object] | None = None,
) -> dict[str, Any]:
    """Copy a weights file into the data dir and write its manifest. `check` (e.g. `embed.load_or_explain`,
    which `embed.import_checked` passes) loads the staged copy first; when it raises ModelError nothing is
    kept. This module never imports torch, so the loading check comes from the caller."""
    arch, tag = split_id(model_id)
    file = Path(file)
    if not file.exists():
        raise ModelError(f"weights file not found: {file}")
    if not file.is_file():
        raise ModelError(f"{file} is not a regular file (a folder, FIFO or device cannot hold weights)")
    if model_id in REGISTRY:
        spec = REGISTRY[model_id]
    else:
        if config is None:
            raise ModelError(
                f"{model_id} is not a built-in model: pass --config with its open_clip architecture JSON"
            )
        cfg = json.loads(Path(config).read_text())
        spec = ModelSpec(model_id, arch, tag, int(cfg["embed_dim"]), _image_size(cfg), "custom", "imported")
    d = model_dir(models_dir, model_id)
    tmp = d.with_name(d.name + ".importing")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(file, tmp / file.name)
    manifest: dict[str, Any] = {
        "format": 1,
        "spec": asdict(spec),
        "weights_file": file.name,
        "sha256": sha256_file(tmp / file.name),
        "imported_at": time.time(),
        "imported_from": str(file),
    }
    if config is not None:
        shutil.copy2(config, tmp / f"{arch}.json")
        manifest["config_file"] = f"{arch}.json"
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    if check is not None:
        try:
            check(_resolved_in(tmp, spec, manifest))
        except ModelError:
            shutil.rmtree(tmp, ignore_errors=True)  # what does not load is not kept
            raise ModelError(
                f"it does not load as {model_id} ({spec.arch}): the file is damaged, incomplete or another "
                "model's weights; nothing was imported"
            ) from None
    shutil.rmtree(d, ignore_errors=True)
    os.replace(tmp, d)
    return manifest


def download(model_id: str, cache_dir: Path | None = None) -> str:
    """Fetch pretrained weights from the hub (needs network). Returns the cached path."""
    import open_clip

    spec = spec_for(model_id, Path("."))
    return str(
        open_clip.download_pretrained(
            open_clip.get_pretrained_cfg(spec.arch, spec.pretrained),
            cache_dir=str(cache_dir) if cache_dir else None,
        )
    )


def _image_size(cfg: dict[str, Any]) -> int:
    size = cfg.get("vision_cfg", {}).get("image_size", 224)
    return int(size[0] if isinstance(size, list | tuple) else size)
