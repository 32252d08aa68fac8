"""Engine fixtures: a tiny open_clip model built once, imported through the real `models import` path."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bridge.models.clip import import_checked
from bridge.settings import Settings
from tests.model_factory import TINY_MODEL_ID, make_tiny_clip


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("tiny-build")
    weights, config = make_tiny_clip(build)
    models = tmp_path_factory.mktemp("tiny-models")
    import_checked(weights, TINY_MODEL_ID, models, config=config)
    return models


@pytest.fixture
def settings(data_dir: Path, tiny_models_dir: Path) -> Settings:
    shutil.copytree(tiny_models_dir, data_dir / "models")
    return Settings(data_dir=data_dir, model=TINY_MODEL_ID, workers=2, batch_size=8)


def make_photos(folder: Path, n: int, size: tuple[int, int] = (96, 72), seed: int = 0) -> list[Path]:
    """Distinct generated JPEGs (smooth random colour fields, so each has its own embedding)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        small = rng.integers(0, 255, (4, 4, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
        p = folder / f"gen_{i:05d}.jpg"
        img.save(p, quality=85)
        out.append(p)
    return out
