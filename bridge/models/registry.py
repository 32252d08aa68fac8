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


@dataclass(frozen=True, slots=True)
class OfficialFile:
    """A published weights file of a built-in model, known by its SHA-256."""

    name: str
    sha256: str
    source: str  # where the checksum was published (and how it was checked)


@dataclass(frozen=True, slots=True)
class OfficialWeights:
    files: tuple[OfficialFile, ...]
    complete: bool  # True: these are all the official files, so any other file is refused


# Known checksums of the built-in models' official weights. Only checksums verified from the publisher are
# listed. RN50/openai's RN50.pt: OpenAI publishes it at .../clip/models/<sha256>/RN50.pt, and openai/CLIP's
# loader checks the download against that directory name; open_clip's own pretrained table (installed here)
# carries the same URL. The Hugging Face copies (open_clip_model.safetensors of laion/CLIP-ViT-B-32-… and the
# others, timm/resnet50_clip.openai for RN50) are not pinned here: their SHA-256 is the file's Git LFS object id
# on the hub page, and for weights downloaded with `models download` the hub cache names the file by it, which
# `models verify` checks. A model whose list is not complete also accepts other files, which must then pass
# the trained-weights check of `bridge.models.clip` (random weights are refused).
OFFICIAL_WEIGHTS: dict[str, OfficialWeights] = {
    "RN50/openai": OfficialWeights(
        (
            OfficialFile(
                "RN50.pt",
                "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762",
                "https://openaipublic.azureedge.net/clip/models/afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c"
                "78a7b63bc04b6762/RN50.pt (OpenAI names the file by its SHA-256; openai/CLIP checks it)",
            ),
        ),
        complete=False,
    ),
}


def official_match(model_id: str, sha256: str) -> bool | None:
    """True: `sha256` is an official file of the built-in `model_id`; False: it is not, and the list of
    official files is complete (so the file is refused); None: not known either way."""
    pins = OFFICIAL_WEIGHTS.get(model_id)
    if pins is None:
        return None
    if any(f.sha256 == sha256 for f in pins.files):
        return True
    return False if pins.complete else None


def wrong_builtin(model_id: str, why: str) -> NotOfficialWeights:
    """The refusal of a file that is not the official weights of a built-in model: what was expected, and
    the way to use the file anyway (a custom name)."""
    pins = OFFICIAL_WEIGHTS.get(model_id)
    expected = ""
    if pins is not None and pins.files:
        expected = " (expected " + " or ".join(f"sha256 {f.sha256} ({f.name})" for f in pins.files) + ")"
    arch = model_id.split("/", 1)[0]
    return NotOfficialWeights(
        f"this file is not the official {model_id} weights: {why}{expected}; nothing was imported. To use "
        f"these weights anyway, import them under a name of your own: `pixel-detective models import FILE "
        f"--model {arch}/my-weights --config {arch}.json` (the open_clip architecture config)"
    )


class WeightsMissing(Exception):
    """No weights for a model on this machine; the message says how to get them."""


class ModelError(Exception):
    pass


class NotOfficialWeights(ModelError):
    """A file offered under a built-in model's name that is not that model's official weights."""


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
    return hub_cached_file(spec) is not None


def hub_cached_file(spec: ModelSpec) -> str | None:
    """The hub cache's copy of the pretrained weights, or None (no network use)."""
    import open_clip
    from huggingface_hub import try_to_load_from_cache

    cfg = open_clip.get_pretrained_cfg(spec.arch, spec.pretrained) or {}
    repo = (cfg.get("hf_hub") or "").rstrip("/")
    if not repo:
        return None
    for filename in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
        hit = try_to_load_from_cache(repo, filename)
        if isinstance(hit, str) and os.path.exists(hit):
            return hit
    return None


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
        if official_match(model_id, digest := sha256_file(file)) is False:
            raise wrong_builtin(model_id, f"its sha256 is {digest}")
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
        except NotOfficialWeights:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        except ModelError:
            shutil.rmtree(tmp, ignore_errors=True)  # what does not load is not kept
            raise ModelError(
                f"it does not load as {model_id} ({spec.arch}): the file is damaged, incomplete or another "
                "model's weights; nothing was imported"
            ) from None
    shutil.rmtree(d, ignore_errors=True)
    os.replace(tmp, d)
    return manifest


PROBE_SECONDS = 3.0  # how long `download` waits to learn whether the hub can be reached at all


class Offline(ModelError):
    """The model hub cannot be reached from this machine; the message names the offline route."""


def offline_route(model_id: str) -> str:
    return (
        f"on a connected machine run `pixel-detective models download {model_id}` (or fetch "
        "open_clip_model.safetensors from the model's hub page), copy the file here and run "
        f"`pixel-detective models import FILE --model {model_id}`"
    )


def hub_reachable(timeout: float = PROBE_SECONDS) -> str | None:
    """None when the hub's host answers a TCP connection within `timeout` seconds, else why not. Name
    lookup runs in a thread, so a resolver that hangs offline cannot hold the caller longer than that."""
    import socket
    import threading
    from urllib.parse import urlsplit

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    url = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(None)
        except OSError as e:
            outcome.append(f"{host} cannot be reached ({e.strerror or type(e).__name__})")

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    return outcome[0] if outcome else f"{host} did not answer within {timeout:.0f} s"


def download(model_id: str, cache_dir: Path | None = None) -> str:
    """Fetch pretrained weights from the hub (needs network). Returns the cached path. Raises `Offline`
    within a few seconds when the hub cannot be reached (no minute of retries)."""
    spec = spec_for(model_id, Path("."))
    why = hub_reachable()  # before torch and open_clip are imported: offline, the answer comes in seconds
    if why is not None:
        raise Offline(f"cannot download {model_id}: {why}. Offline, {offline_route(model_id)}")
    import open_clip

    return str(
        open_clip.download_pretrained(
            open_clip.get_pretrained_cfg(spec.arch, spec.pretrained),
            cache_dir=str(cache_dir) if cache_dir else None,
        )
    )


def _image_size(cfg: dict[str, Any]) -> int:
    size = cfg.get("vision_cfg", {}).get("image_size", 224)
    return int(size[0] if isinstance(size, list | tuple) else size)
