"""Builds a tiny open_clip model, saves it to disk, so tests load it through the real import/load path.

Random weights (seeded): an image's own embedding is still its nearest neighbour, which is what the
round-trip tests need; semantic text ranking needs real weights and is not tested here.
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_ARCH = "PD-Tiny-ViT"
TINY_MODEL_ID = f"{TINY_ARCH}/test-seed0"
TINY_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def make_tiny_clip(directory: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write <directory>/PD-Tiny-ViT.json and a safetensors weights file; return (weights, config)."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    config = directory / f"{TINY_ARCH}.json"
    config.write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(config)
    torch.manual_seed(seed)
    model = open_clip.create_model(TINY_ARCH, pretrained=None)
    weights = directory / "open_clip_model.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    return weights, config
