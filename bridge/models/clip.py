"""Embed stage: open_clip image encoder (batched) and text encoder (queries).

The model loads lazily, once, under a lock, and can be released when idle (the tray app runs all day).
Workers hand over S x S x 3 uint8 arrays; normalisation happens here, batched, on the model's device.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bridge.models.batching import Backoff
from bridge.models.lifecycle import LazyModel
from bridge.models.registry import (
    REGISTRY,
    ModelError,
    ResolvedWeights,
    import_weights,
    official_match,
    resolve,
    sha256_file,
    wrong_builtin,
)

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
AGREEMENT_FILE = "precision_agreement.json"
MIN_AGREEMENT = 0.999  # cosine agreement with fp32 a reduced precision must keep to be used


@dataclass
class LoadedModel:
    model: Any  # open_clip CLIP module
    tokenizer: Any
    model_id: str
    dim: int
    image_size: int
    interpolation: str
    mean: Any  # torch tensor (1,3,1,1) on device
    std: Any
    device: str
    dtype: Any  # torch dtype of the weights


DEVICE_CHOICES = "auto, cpu, cuda, cuda:N, several as cuda:0,cuda:1, or all"


def pick_device(requested: str = "auto") -> str:
    """One device: auto, cpu, cuda or cuda:N, checked against this machine (several: `replicas.parse_devices`)."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cpu":
        return requested
    if not re.fullmatch(r"cuda(:\d+)?", requested):
        raise ModelError(f"unknown device {requested!r}: use {DEVICE_CHOICES}")
    if not torch.cuda.is_available():
        raise ModelError(f"device {requested!r} requested but CUDA is not available here; use --device cpu")
    index = int(requested.split(":", 1)[1]) if ":" in requested else 0
    if index >= torch.cuda.device_count():
        raise ModelError(
            f"device {requested!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s)"
        )
    return requested


def load_or_explain(rw: ResolvedWeights, device: str = "cpu", precision: str = "fp32") -> LoadedModel:
    """`load_model`, with the ways it fails in the field (a damaged or half-copied weights file, a file of
    another architecture, too little memory) turned into a ModelError that says what to do. The library's own
    text goes to the log only: it names internals, not a remedy (R44)."""
    try:
        return load_model(rw, device=device, precision=precision)
    except ModelError:
        raise
    except Exception as e:
        log.info("loading %s from %s failed", rw.spec.id, rw.weights_file or rw.source, exc_info=True)
        where = f" from {rw.weights_file}" if rw.weights_file is not None else ""
        if "out of memory" in str(e).lower():
            raise ModelError(
                f"not enough memory on {device} to load the model {rw.spec.id}: close other programs using it, "
                "or run with --device cpu"
            ) from None
        raise ModelError(
            f"the model {rw.spec.id} could not be loaded{where}: the weights file is damaged, incomplete or "
            f"not a {rw.spec.arch} model. Check it with `pixel-detective models verify --model {rw.spec.id}` "
            f"and import it again with `pixel-detective models import FILE --model {rw.spec.id}`"
        ) from None


# open_clip keeps its model configs in a process-wide registry that `add_model_config` rescans; replicas
# loading side by side (`replicas.ReplicaEmbedder`) load one at a time. Loading is disk-bound anyway.
_LOAD_LOCK = threading.Lock()


def load_model(rw: ResolvedWeights, *, device: str = "cpu", precision: str = "fp32") -> LoadedModel:
    with _LOAD_LOCK:
        return _load_model(rw, device=device, precision=precision)


def _load_model(rw: ResolvedWeights, *, device: str, precision: str) -> LoadedModel:
    import open_clip
    import torch

    if rw.source == "hub-cache":
        # Cached weights must load without touching the network (which may hang when offline).
        import huggingface_hub.constants as hf_constants

        hf_constants.HF_HUB_OFFLINE = True
        os.environ["HF_HUB_OFFLINE"] = "1"
    if rw.config_file is not None:
        open_clip.add_model_config(rw.config_file)
    pretrained = str(rw.weights_file) if rw.weights_file is not None else rw.spec.pretrained
    model = open_clip.create_model(
        rw.spec.arch, pretrained=pretrained, device=device, require_pretrained=True
    )
    model.eval()
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    if dtype != torch.float32:
        model = model.to(dtype)
    cfg = open_clip.get_pretrained_cfg(rw.spec.arch, rw.spec.pretrained) or {}
    mean = torch.tensor(cfg.get("mean", OPENAI_MEAN), device=device).view(1, 3, 1, 1)
    std = torch.tensor(cfg.get("std", OPENAI_STD), device=device).view(1, 3, 1, 1)
    size = model.visual.image_size
    image_size = int(size[0] if isinstance(size, tuple | list) else size)
    tokenizer = open_clip.get_tokenizer(rw.spec.arch)
    with torch.no_grad():
        dim = int(model.encode_text(tokenizer(["x"]).to(device)).shape[-1])
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        model_id=rw.spec.id,
        dim=dim,
        image_size=image_size,
        interpolation=cfg.get("interpolation", "bicubic"),
        mean=mean,
        std=std,
        device=device,
        dtype=dtype,
    )


def read_agreements(models_dir: Path) -> dict[str, dict[str, float]]:
    p = models_dir / AGREEMENT_FILE
    return json.loads(p.read_text()) if p.exists() else {}


def choose_precision(requested: str, device: str, model_id: str, models_dir: Path) -> str:
    """auto: fp16 on CUDA; on CPU bf16 weights only where a measured agreement with fp32 is >= 0.999."""
    if requested != "auto":
        return requested
    if device.startswith("cuda"):
        return "fp16"
    agreement = read_agreements(models_dir).get(model_id, {}).get(f"{device.split(':')[0]}:bf16")
    return "bf16" if agreement is not None and agreement >= MIN_AGREEMENT else "fp32"


def measure_agreement(
    model_id: str, models_dir: Path, images: np.ndarray, *, device: str = "cpu", precision: str = "bf16"
) -> float:
    """Lowest cosine similarity between fp32 and `precision` embeddings of `images`; recorded per
    model/device/precision, so `precision=auto` uses the faster one only where it was shown to agree."""
    ref = Embedder(model_id, models_dir, device=device, precision="fp32").encode_images(images)
    low = Embedder(model_id, models_dir, device=device, precision=precision).encode_images(images)
    agreement = float(np.min(np.sum(ref * low, axis=1)))
    path = models_dir / AGREEMENT_FILE
    data = read_agreements(models_dir)
    data.setdefault(model_id, {})[f"{device.split(':')[0]}:{precision}"] = agreement
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)
    return agreement


def auto_batch_size(device: str, image_size: int) -> int:
    """CPU: 32 (measured sweet spot for ViT-B-32). CUDA: sized from free memory, 8 to 512.

    An estimate, on the safe side: ~12 MB per image (the activations of a ViT-B at 224 px in fp16, with
    generous headroom), scaled by pixel count, against half the free memory. Where it is still too much (a
    larger model, another program on the GPU), the encoder's out-of-memory back-off finds the size that fits."""
    if not device.startswith("cuda"):
        return 32
    import torch

    free, _total = torch.cuda.mem_get_info(torch.device(device))
    per_image = 12 * 1024 * 1024 * (image_size / 224) ** 2
    return int(max(8, min(512, (free * 0.5) // per_image)))


class Embedder:
    """Thread-safe lazy wrapper: the weights resolve at construction, the model (`self.model`, a
    `LazyModel`) loads on first use; `release()` frees it (the host does after an idle timeout)."""

    def __init__(
        self,
        model_id: str,
        models_dir: Path,
        *,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 0,
    ) -> None:
        self.model_id = model_id
        self.models_dir = models_dir
        self.requested_device = device
        self.requested_precision = precision
        self.requested_batch_size = batch_size  # 0: from the device's free memory (`auto_batch_size`)
        self.weights = resolve(model_id, models_dir)  # raises WeightsMissing early, before any work starts
        self.device = pick_device(device)  # a wrong --device is refused before any work starts, too
        self.model: LazyModel[LoadedModel] = LazyModel(self._load)
        self._backoff: Backoff | None = None
        self._backoff_lock = threading.Lock()

    def _load(self) -> LoadedModel:
        precision = choose_precision(self.requested_precision, self.device, self.model_id, self.models_dir)
        return load_or_explain(self.weights, self.device, precision)

    def release(self) -> bool:
        """Free the model unless it is in use; the next encode loads it again."""
        return self.model.release()

    def preferred_batch_size(self) -> int:
        """How many images one forward pass takes here: the `batch_size` asked for, else sized from the
        device's free memory (measured once, on first ask). The indexer hands batches of this size."""
        return self.backoff.limit

    @property
    def backoff(self) -> Backoff:
        """The sub-batch size this device takes, learned at run time (kept across calls and releases)."""
        with self._backoff_lock:
            if self._backoff is None:
                limit = self.requested_batch_size or auto_batch_size(
                    self.device, self.weights.spec.image_size
                )
                self._backoff = Backoff(limit, device=self.device, what="image")
            return self._backoff

    def encode_images(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        """N x S x S x 3 uint8 → N x dim float32, L2-normalised. A torch tensor (on any device) is taken as
        it is, without a copy through the CPU. Out of memory: the batch goes through in smaller parts."""
        import torch

        backoff = self.backoff
        with self.model.use() as m, torch.inference_mode():
            parts = backoff.run(len(batch), lambda start, stop: self._encode(m, batch[start:stop]))
            if not parts:
                return np.zeros((0, m.dim), np.float32)
        return np.concatenate(parts)

    @staticmethod
    def _encode(m: LoadedModel, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        import torch

        if isinstance(batch, torch.Tensor):
            x = batch.to(m.device)
        else:
            x = torch.from_numpy(np.require(batch, requirements=["C", "W"])).to(m.device)
        # a copy, always: the in-place division must never touch a caller's float tensor
        x = x.permute(0, 3, 1, 2).to(torch.float32, copy=True).div_(255)
        x = ((x - m.mean) / m.std).to(m.dtype)
        feats = torch.nn.functional.normalize(m.model.encode_image(x).float(), dim=-1)
        return feats.cpu().numpy().astype(np.float32)

    def encode_text(self, texts: list[str]) -> np.ndarray:
        import torch

        with self.model.use() as m, torch.inference_mode():
            tokens = m.tokenizer(texts).to(m.device)
            feats = torch.nn.functional.normalize(m.model.encode_text(tokens).float(), dim=-1)
        return feats.cpu().numpy().astype(np.float32)


# Trained CLIP weights end with a logit scale at (or near) the training clamp of 100; open_clip starts it at
# 1/0.07 ≈ 14.3. A built-in name whose weights still carry the initial value holds untrained (random) weights.
UNTRAINED_LOGIT_SCALE = 20.0


def trained_or_refuse(loaded: LoadedModel) -> None:
    """Refuse weights imported under a built-in name that were never trained (random initialisation)."""
    if loaded.model_id not in REGISTRY:
        return
    scale = getattr(loaded.model, "logit_scale", None)
    if scale is None:
        return
    value = float(scale.detach().float().exp())
    if value < UNTRAINED_LOGIT_SCALE:
        raise wrong_builtin(
            loaded.model_id, f"they look untrained (logit scale {value:.1f}, trained CLIP weights have ~100)"
        )


def _load_checked(rw: ResolvedWeights) -> LoadedModel:
    loaded = load_or_explain(rw)
    trained_or_refuse(loaded)
    return loaded


def import_checked(
    file: Path, model_id: str, models_dir: Path, *, config: Path | None = None
) -> dict[str, Any]:
    """`models.import_weights` with the loading check: what does not load as `model_id` is not kept, nor
    what is not the official weights of a built-in model (a checksum known to differ, or untrained)."""
    return import_weights(file, model_id, models_dir, config=config, check=_load_checked)


def verify_weights(model_id: str, models_dir: Path) -> dict[str, Any]:
    """Check checksum (imported weights against the import and, for a built-in model, against its official
    files; hub-cache weights against the hub's own SHA-256) and that the weights load into the architecture."""
    rw = resolve(model_id, models_dir)
    report: dict[str, Any] = {"model": model_id, "source": rw.source}
    if rw.weights_file is not None:
        actual = sha256_file(rw.weights_file)
        report["sha256"] = actual
        report["sha256_ok"] = actual == rw.manifest.get("sha256")
        if not report["sha256_ok"]:
            raise ModelError(f"{rw.weights_file} does not match the checksum recorded at import")
        official = official_match(model_id, actual)
        report["official"] = official
        if official is False:
            raise wrong_builtin(model_id, f"its sha256 is {actual}")
    elif rw.source == "hub-cache":
        report.update(_hub_checksum(rw))
    loaded = load_or_explain(rw)
    trained_or_refuse(loaded)
    report["dim"] = loaded.dim
    report["image_size"] = loaded.image_size
    return report


def _hub_checksum(rw: ResolvedWeights) -> dict[str, Any]:
    """The hub cache names a large (Git LFS) file by its SHA-256 as the hub published it: hash and compare."""
    from bridge.models.registry import hub_cached_file

    path = hub_cached_file(rw.spec)
    if path is None:
        return {}
    blob = os.path.basename(os.path.realpath(path))
    if not re.fullmatch(r"[0-9a-f]{64}", blob):
        return {"sha256": sha256_file(Path(path)), "official": None}  # a small file: named by its git sha1
    actual = sha256_file(Path(path))
    if actual != blob:
        raise ModelError(
            f"the cached weights of {rw.spec.id} ({path}) do not match the hub's checksum {blob}: the download "
            f"is damaged; run `pixel-detective models download {rw.spec.id}` again"
        )
    return {"sha256": actual, "official": True}
