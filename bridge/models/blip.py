"""Caption stage: BLIP (Salesforce/blip-image-captioning-*) through transformers, batched.

Weights are looked up in this order (mirrors bridge.models.registry for the CLIP embedder):
1. `name` is an existing directory (a `save_pretrained()` folder);
2. a folder imported with `pixel-detective models import-caption DIR --name NAME`
   (kept in <models_dir>/captions/<safe name>/ with a manifest.json);
3. the Hugging Face hub cache of this machine (offline lookup only, never the network);
otherwise `CaptionWeightsMissing` says exactly what is missing and how to get it.

The model loads lazily, once, under a lock, and `release()` frees it (the tray app runs all day).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bridge.models.batching import Backoff
from bridge.models.lifecycle import LazyModel
from bridge.models.registry import safe_name, sha256_file

if TYPE_CHECKING:
    import torch

CAPTION_MODELS: dict[str, str] = {
    "blip-base": "Salesforce/blip-image-captioning-base",
    "blip-large": "Salesforce/blip-image-captioning-large",
}
DEFAULT_CAPTION_MODEL = "blip-base"
MANIFEST = "manifest.json"
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
# Files a save_pretrained() folder needs; tf/flax weights, optimizer states etc. are left behind.
COPY_PATTERNS = ("*.json", "*.txt", "*.model", *WEIGHT_PATTERNS)
MAX_MISSING_FRACTION = 0.05  # more missing tensors than this: not a captioning checkpoint
_ARTEFACT = re.compile(r"^(?:ara\w*|there (?:is|are)|this is)\s+", re.IGNORECASE)
_REPEAT = re.compile(r"\b(\w+)(?:\s+\1\b)+", re.IGNORECASE)


class CaptionWeightsMissing(Exception):
    """No captioning weights on this machine; the message says how to get them."""


class CaptionError(Exception):
    pass


def caption_models_dir(models_dir: Path) -> Path:
    return Path(models_dir) / "captions"


def _hub_cache_dir() -> str | None:
    # huggingface_hub reads HF_HUB_CACHE once at import; honour a value set later (tests, the CLI).
    return os.environ.get("HF_HUB_CACHE") or None


def _repo_for(name: str) -> str | None:
    if name in CAPTION_MODELS:
        return CAPTION_MODELS[name]
    if re.fullmatch(r"[\w.-]+/[\w.-]+", name) and not Path(name).exists():
        return name
    return None


def _alias_for(repo: str | None) -> str | None:
    return next((k for k, v in CAPTION_MODELS.items() if v == repo), None)


def _has_weights(d: Path) -> bool:
    return (d / "config.json").is_file() and any(any(d.glob(p)) for p in WEIGHT_PATTERNS)


def _weight_files(d: Path) -> list[Path]:
    files = sorted(p for p in d.glob("*.safetensors"))
    # from_pretrained prefers safetensors; .bin only matters when no safetensors are there
    return files or sorted(d.glob("pytorch_model*.bin"))


def _hub_snapshot(repo: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(repo, local_files_only=True, cache_dir=_hub_cache_dir()))
    except Exception:  # LocalEntryNotFoundError and friends: simply not cached here
        return None
    return path if _has_weights(path) else None  # a half-finished download is no model


def resolve_caption_model(name: str, models_dir: Path) -> Path:
    """Local directory holding the weights for `name` (key of CAPTION_MODELS, hub repo id or a path)."""
    looked: list[str] = []
    as_path = Path(name).expanduser()
    if as_path.is_dir():
        if _has_weights(as_path):
            return as_path.resolve()
        looked.append(str(as_path))
    repo = _repo_for(name)
    captions = caption_models_dir(models_dir)
    for candidate in dict.fromkeys(n for n in (name, _alias_for(repo), repo) if n):
        d = captions / safe_name(candidate)
        if _has_weights(d):
            return d
        looked.append(str(d))
    if repo is not None:
        snap = _hub_snapshot(repo)
        if snap is not None:
            return snap
        looked.append(f"the Hugging Face hub cache ({repo})")
    label = repo or name
    alias = _alias_for(repo) or name
    raise CaptionWeightsMissing(
        f"no captioning weights for {name} ({label}) on this machine; looked in: {', '.join(looked)}. "
        f"On a connected machine run `huggingface-cli download {repo or 'Salesforce/blip-image-captioning-base'}` "
        "(fills the hub cache), or save the model there with `BlipForConditionalGeneration.from_pretrained(...)"
        ".save_pretrained(DIR)` + the same for BlipProcessor, copy DIR here and run "
        f"`pixel-detective models import-caption DIR --name {alias}`."
    )


# transformers' from_pretrained is not thread-safe: it builds the model on the meta device through state
# that is process-wide, and replicas loading side by side (`replicas.ReplicaCaptioner`) then got "Cannot copy
# out of meta tensor". One load at a time; loading is disk-bound anyway.
_LOAD_LOCK = threading.Lock()


def _load(directory: Path, *, device: str = "cpu", dtype: Any = None) -> tuple[Any, Any, dict[str, Any]]:
    """The real transformers path: BlipForConditionalGeneration + BlipProcessor from a local folder."""
    from transformers import BlipForConditionalGeneration, BlipProcessor

    with _LOAD_LOCK:
        # With output_loading_info the call returns (model, info); the stubs only know the plain form.
        loaded: Any = BlipForConditionalGeneration.from_pretrained(
            str(directory), dtype=dtype, output_loading_info=True, local_files_only=True
        )
        model, info = loaded
        model = model.to(device).eval()
        processor = BlipProcessor.from_pretrained(str(directory), local_files_only=True)
    return model, processor, info


def _check_loads(directory: Path) -> None:
    cfg_file = directory / "config.json"
    if not cfg_file.is_file():
        raise CaptionError(f"{directory} is not a saved model: no config.json (use save_pretrained())")
    try:
        model_type = json.loads(cfg_file.read_text()).get("model_type")
    except ValueError as e:
        raise CaptionError(f"{cfg_file} is not valid JSON: {e}") from e
    if model_type != "blip":
        raise CaptionError(
            f"{directory} holds a {model_type!r} model, not BLIP: import a "
            "Salesforce/blip-image-captioning-* folder saved with save_pretrained()"
        )
    if not _weight_files(directory):
        raise CaptionError(f"{directory} has no weights (*.safetensors or pytorch_model.bin)")
    try:
        model, _processor, info = _load(directory)
    except Exception as e:
        raise CaptionError(f"{directory} does not load as a BLIP captioning model: {e}") from e
    total = len(model.state_dict())
    missing = sorted(info.get("missing_keys") or [])
    if total and len(missing) / total > MAX_MISSING_FRACTION:
        raise CaptionError(
            f"{directory} is not a BLIP captioning checkpoint: {len(missing)} of {total} tensors missing "
            f"(e.g. {', '.join(missing[:3])}); a VQA or retrieval BLIP cannot caption"
        )


def import_caption_model(src: Path, name: str, models_dir: Path) -> Path:
    """Copy a save_pretrained() folder into <models_dir>/captions/<safe name>/ after checking it loads."""
    src = Path(src).expanduser()
    if not src.is_dir():
        raise CaptionError(f"not a directory: {src} (pass the folder written by save_pretrained())")
    dest = caption_models_dir(models_dir) / safe_name(name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.importing-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        weights = set(_weight_files(src))
        for f in sorted(src.iterdir()):
            wanted = any(f.match(p) for p in COPY_PATTERNS)
            is_weight = any(f.match(p) for p in WEIGHT_PATTERNS)
            if f.is_file() and wanted and (not is_weight or f in weights):
                shutil.copy2(f, tmp / f.name)
        _check_loads(tmp)  # check the copy: what is checked is what will be used
        manifest = {
            "format": 1,
            "name": name,
            "repo": _repo_for(name),
            "source": str(src.resolve()),
            "sha256": {f.name: sha256_file(f) for f in _weight_files(tmp)},
            "config_sha256": sha256_file(tmp / "config.json"),
            "imported_at": time.time(),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        if dest.exists():
            os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def _file_digest(path: Path) -> str:
    real = Path(os.path.realpath(path))
    if re.fullmatch(r"[0-9a-f]{64}", real.name):  # hub cache blobs are named by their sha256
        return real.name
    st = real.stat()
    key = (str(real), st.st_size, st.st_mtime_ns)
    if key not in _HASH_CACHE:
        _HASH_CACHE[key] = sha256_file(real)
    return _HASH_CACHE[key]


def weights_fingerprint(directory: Path) -> str:
    """Short hash of config + weights: a different model (or retrained weights) gets a different id."""
    manifest_file = directory / MANIFEST
    manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {}
    digests = dict(manifest.get("sha256") or {})
    for f in _weight_files(directory):
        digests.setdefault(f.name, _file_digest(f))
    h = hashlib.sha256((directory / "config.json").read_bytes())
    for fname in sorted(digests):
        h.update(f"{fname}={digests[fname]}".encode())
    return h.hexdigest()[:12]


def clean_caption(text: str, prompt: str | None = None) -> str:
    """Strip the prompt, BLIP's 'arafed'/'there is' artefacts and stuttered words; never returns ''
    when `text` has words (the cleaned form is dropped when cleaning would leave nothing)."""
    raw = " ".join(text.split())
    out = raw
    if prompt and out.lower().startswith(prompt.lower().strip()):
        out = out[len(prompt.strip()) :].strip()
    out = _REPEAT.sub(r"\1", out)
    for _ in range(2):  # "there is arafed man" has two layers
        out = _ARTEFACT.sub("", out)
    out = out.strip(" ,.;:-")
    return out or raw


# Measured: BLIP-base in fp16, 256 images with 3 beams, peaked at 19.5 GB on an H200 (~76 MB an image). Most
# of it grows with the beams (the decoder's cross-attention cache holds the 577 image tokens once per beam),
# so an image costs ~10 MB plus ~22 MB per beam. BLIP-large is not measured: the back-off corrects it.
CAPTION_MB_FIXED = 10
CAPTION_MB_PER_BEAM = 22
CAPTION_BATCH_MAX = 512
CAPTION_BATCH_CPU = 8  # batching beyond that buys nothing on a few cores


def auto_batch_size(device: str, num_beams: int = 3) -> int:
    """CPU: 8. CUDA: from 70% of the free memory and the measured footprint, 4 to 512 (an 80 GB GPU
    takes 512 with 3 beams; a 24 GB one ~200). Where the estimate is too high, `Captioner.caption` backs off."""
    if not device.startswith("cuda"):
        return CAPTION_BATCH_CPU
    import torch

    free, _total = torch.cuda.mem_get_info(torch.device(device))
    per_image = (CAPTION_MB_FIXED + CAPTION_MB_PER_BEAM * max(1, num_beams)) * 1024 * 1024
    return int(max(4, min(CAPTION_BATCH_MAX, (free * 0.7) // per_image)))


@dataclass
class LoadedCaptioner:
    model: Any
    processor: Any
    dtype: Any
    generate_kwargs: dict[str, Any]


class Captioner:
    """Thread-safe lazy wrapper: weights resolve at construction, the model (`self.model`, a `LazyModel`)
    loads on first use; `release()` frees it (the host does after an idle timeout)."""

    def __init__(
        self,
        name: str,
        models_dir: Path,
        *,
        device: str = "auto",
        precision: str = "auto",
        max_new_tokens: int = 30,
        num_beams: int = 3,
        batch_size: int = 0,
        prompt: str | None = None,
    ) -> None:
        from bridge.models.clip import pick_device

        self.name = name
        self.models_dir = Path(models_dir)
        self.directory = resolve_caption_model(name, self.models_dir)  # raises CaptionWeightsMissing early
        self.device = pick_device(device)  # a wrong --device is refused before any work starts, too
        if precision == "auto":
            precision = "fp16" if self.device.startswith("cuda") else "fp32"
        if precision not in ("fp32", "fp16", "bf16"):
            raise CaptionError(f"unknown precision {precision!r}: use auto, fp32, fp16 or bf16")
        self.precision = precision
        self.max_new_tokens = max_new_tokens
        self.num_beams = num_beams
        self.batch_size = batch_size or auto_batch_size(self.device, num_beams)
        # the size that fits, learned at run time: out of memory halves it, good runs double it back
        self.backoff = Backoff(self.batch_size, device=self.device, what="image")
        self.prompt = prompt
        label = name if name in CAPTION_MODELS else (_repo_for(name) or self.directory.name)
        # the ledger stage version: generation settings change captions too, so they are part of it
        settings = f"{max_new_tokens}/{num_beams}/{prompt or ''}"
        suffix = "" if (max_new_tokens, num_beams, prompt) == (30, 3, None) else "+" + _short(settings)
        self.model_id = f"{label}@{weights_fingerprint(self.directory)}{suffix}"
        self.input_size = self._read_input_size()
        self.model: LazyModel[LoadedCaptioner] = LazyModel(self._load)

    def _read_input_size(self) -> int:
        for fname in ("preprocessor_config.json", "processor_config.json"):
            p = self.directory / fname
            if p.is_file():
                cfg = json.loads(p.read_text())
                cfg = cfg.get("image_processor", cfg)
                size = cfg.get("size") or {}
                if isinstance(size, dict) and "height" in size:
                    return int(size["height"])
                if isinstance(size, int):
                    return size
        return 384  # BLIP's default

    def _load(self) -> LoadedCaptioner:
        import torch

        if "/snapshots/" in self.directory.as_posix():
            # hub-cache weights must load without touching the network (which may hang when offline)
            import huggingface_hub.constants as hf_constants

            hf_constants.HF_HUB_OFFLINE = True
            os.environ["HF_HUB_OFFLINE"] = "1"
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[self.precision]
        try:
            model, processor, _info = _load(self.directory, device=self.device, dtype=dtype)
        except Exception as e:
            raise CaptionError(f"cannot load captioning model from {self.directory}: {e}") from e
        tok = processor.tokenizer
        # Never let a caption start or consist of [PAD]/[UNK]/[CLS]/[MASK]/[DEC]: they decode to nothing.
        # [SEP] ends a caption and stays allowed, after at least one real token (min_new_tokens=1).
        sep = model.config.text_config.sep_token_id
        banned = sorted({i for i in tok.all_special_ids if i is not None and i != sep and i < len(tok)})
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "min_new_tokens": 1,
            "num_beams": self.num_beams,
            "do_sample": False,
            "suppress_tokens": banned,
            "repetition_penalty": 1.0,
        }
        if self.num_beams > 1:
            kwargs["early_stopping"] = True
        return LoadedCaptioner(model, processor, dtype, kwargs)

    def release(self) -> bool:
        """Free the model unless it is in use; the next caption loads it again."""
        return self.model.release()

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        a = np.asarray(image)
        if a.ndim == 2:
            a = np.repeat(a[:, :, None], 3, axis=2)
        if a.ndim != 3 or a.shape[2] not in (3, 4) or a.dtype != np.uint8:
            raise CaptionError(f"expected H x W x 3 uint8 RGB, got shape {a.shape} dtype {a.dtype}")
        a = a[:, :, :3]
        s = self.input_size
        if a.shape[:2] != (s, s):
            # Resize here (what the processor does: squash to S x S, bicubic) so a 24 MP photo never
            # becomes a 290 MB float tensor inside the processor.
            from PIL import Image

            a = np.asarray(Image.fromarray(a).resize((s, s), Image.Resampling.BICUBIC))
        return np.require(a, requirements=["C", "W"])  # torch.from_numpy warns on read-only arrays

    def caption(self, images: Sequence[np.ndarray] | torch.Tensor) -> list[str]:
        """One caption per H x W x 3 uint8 RGB image, any size; or, already on a device, an N x S x S x 3
        uint8 tensor at the model's input size (`input_size`). An image only gets "" when the model
        generated nothing at all (cannot happen with min_new_tokens=1 unless the model emits only
        whitespace tokens). Out of memory: the batch goes through in smaller parts."""
        import torch

        if len(images) == 0:
            return []
        with self.model.use() as m, torch.inference_mode():
            parts = self.backoff.run(len(images), lambda start, stop: self._generate(m, images[start:stop]))
        return [text for part in parts for text in part]

    def _generate(self, m: LoadedCaptioner, chunk: Sequence[np.ndarray] | torch.Tensor) -> list[str]:
        import torch

        n = len(chunk)
        if isinstance(chunk, torch.Tensor):
            inputs: dict[str, Any] = {"pixel_values": self._pixel_values(m, chunk)}
            if self.prompt:
                tokens = m.processor.tokenizer([self.prompt] * n, return_tensors="pt")
                inputs |= {k: v for k, v in tokens.items() if k != "token_type_ids"}
        else:
            prepared = [self._prepare(im) for im in chunk]
            if self.prompt:
                inputs = m.processor(images=prepared, text=[self.prompt] * n, return_tensors="pt")
            else:
                inputs = m.processor(images=prepared, return_tensors="pt")
            inputs = {k: v for k, v in inputs.items() if k != "token_type_ids"}
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(m.dtype)
        ids = m.model.generate(**inputs, **m.generate_kwargs)
        texts = m.processor.batch_decode(ids, skip_special_tokens=True)
        return [clean_caption(t, self.prompt) for t in texts]

    def _pixel_values(self, m: LoadedCaptioner, images: torch.Tensor) -> torch.Tensor:
        """What the processor does after its resize (scale to 0..1, normalise), on the tensor's device."""
        import torch

        s = self.input_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (s, s, 3) or images.dtype != torch.uint8:
            raise CaptionError(
                f"expected an N x {s} x {s} x 3 uint8 tensor, got shape {tuple(images.shape)} "
                f"dtype {images.dtype}; pass numpy images of any size instead"
            )
        ip = m.processor.image_processor
        mean = torch.tensor(ip.image_mean, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(ip.image_std, device=images.device).view(1, 3, 1, 1)
        x = images.permute(0, 3, 1, 2).to(torch.float32) * float(ip.rescale_factor)
        return (x - mean) / std


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]
