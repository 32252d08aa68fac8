"""One model replica per device: device lists, and batches shared among replicas on the CPU ("cpu,cpu"),
with the real tiny open_clip and BLIP models: the same results as one device, in input order, and a slow
replica leaving more of the work to the fast one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bridge.engine import Engine
from bridge.models.blip import Captioner, import_caption_model
from bridge.models.clip import Embedder
from bridge.models.registry import ModelError, WeightsMissing
from bridge.models.replicas import (
    ReplicaCaptioner,
    ReplicaEmbedder,
    make_captioner,
    make_embedder,
    parse_devices,
    share_work,
)
from bridge.settings import Settings
from tests.blip_factory import make_tiny_blip
from tests.model_factory import TINY_MODEL_ID
from tests.photo_factory import textured_image


def gpus(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)


# --- device lists


def test_parse_single_devices_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus(monkeypatch, 0)
    assert parse_devices("cpu") == ["cpu"]
    assert parse_devices("auto") == ["cpu"]
    assert parse_devices("cpu,cpu") == ["cpu", "cpu"]
    assert parse_devices(" cpu , cpu ") == ["cpu", "cpu"]
    gpus(monkeypatch, 2)
    assert parse_devices("auto") == ["cuda"]
    assert parse_devices("cuda:1") == ["cuda:1"]
    assert parse_devices("cuda:0,cuda:1") == ["cuda:0", "cuda:1"]
    assert parse_devices("cuda:0,cpu") == ["cuda:0", "cpu"]


def test_all_means_every_gpu_or_the_cpu_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus(monkeypatch, 3)
    assert parse_devices("all") == ["cuda:0", "cuda:1", "cuda:2"]
    gpus(monkeypatch, 0)
    notes: list[str] = []
    assert parse_devices("all", notes=notes) == ["cpu"]
    assert parse_devices("all", notes=notes) == ["cpu"]
    assert notes == ["--device all: no CUDA device is visible here, so the models run on the CPU"]


@pytest.mark.parametrize(
    ("spec", "gpu_count", "message"),
    [
        ("tpu", 0, "unknown device 'tpu': use auto, cpu, cuda, cuda:N, several as cuda:0,cuda:1, or all"),
        ("cuda:x", 2, "unknown device 'cuda:x'"),
        ("cpu,gpu", 0, "unknown device 'gpu'"),
        ("cuda:0,cuda:1", 0, "device 'cuda:0' requested but CUDA is not available here; use --device cpu"),
        ("cuda:0,cuda:1", 1, "device 'cuda:1' does not exist: this machine has 1 GPU"),
        ("cuda:0,", 2, "device list 'cuda:0,' has an empty entry"),
        ("auto,cpu", 0, "'auto' cannot be part of a device list"),
        ("all,cpu", 0, "'all' cannot be part of a device list"),
    ],
)
def test_parse_errors(monkeypatch: pytest.MonkeyPatch, spec: str, gpu_count: int, message: str) -> None:
    gpus(monkeypatch, gpu_count)
    with pytest.raises(ModelError) as e:
        parse_devices(spec)
    assert message in str(e.value)


def test_make_embedder_picks_the_plain_one_for_one_device(tiny_models_dir: Path, tmp_path: Path) -> None:
    one = make_embedder(TINY_MODEL_ID, tiny_models_dir, device="cpu")
    assert type(one) is Embedder and one.requested_device == "cpu"
    several = make_embedder(TINY_MODEL_ID, tiny_models_dir, device="cpu,cpu", batch_size=4)
    assert isinstance(several, ReplicaEmbedder)
    assert several.devices == ["cpu", "cpu"] and several.device == "cpu"
    assert several.preferred_batch_size() == 8  # both replicas' batches
    with pytest.raises(WeightsMissing):  # missing weights are said first, as with one device
        make_embedder("ViT-B-32/laion2b_s34b_b79k", tmp_path, device="tpu,cpu")


# --- the work queue


def test_share_work_keeps_order_and_propagates_errors() -> None:
    def worker(tag: str):
        def run(a: int, b: int) -> list[tuple[str, int]]:
            time.sleep(0.01)
            return [(tag, i) for i in range(a, b)]

        return run

    parts, taken = share_work([worker("a"), worker("b")], 10, 3)
    assert [i for part in parts for _, i in part] == list(range(10))
    assert sum(taken) == 4  # 3 + 3 + 3 + 1

    def broken(a: int, b: int) -> list[int]:
        raise ValueError("replica lost")

    with pytest.raises(ValueError, match="replica lost"):
        share_work([worker("a"), broken], 40, 1)


# --- the real tiny open_clip on "cpu,cpu"


def images(n: int) -> np.ndarray:
    return np.stack([np.asarray(textured_image(64, 64, seed=i)) for i in range(n)])


@pytest.fixture(scope="module")
def single(tiny_models_dir: Path) -> Embedder:
    return Embedder(TINY_MODEL_ID, tiny_models_dir, device="cpu")


@pytest.mark.parametrize("n", [1, 5, 23, 40])
def test_replicas_give_the_vectors_of_one_device_in_order(
    tiny_models_dir: Path, single: Embedder, n: int
) -> None:
    replicas = ReplicaEmbedder(TINY_MODEL_ID, tiny_models_dir, devices=["cpu", "cpu"], batch_size=4)
    batch = images(n)
    vectors = replicas.encode_images(batch)
    np.testing.assert_allclose(vectors, single.encode_images(batch), atol=1e-5)
    chunk = -(-n // 8)  # 2 replicas x 4 chunks each
    assert sum(replicas.shares.last) == -(-n // chunk)  # 23: 8 chunks of 3, the last one of 2
    texts = ["a dog", "a red car"]
    np.testing.assert_allclose(replicas.encode_text(texts), single.encode_text(texts), atol=1e-6)
    assert replicas.encode_images(batch[:0]).shape == (0, vectors.shape[1])


def slow_down(monkeypatch: pytest.MonkeyPatch, embedder: Embedder, seconds: float) -> None:
    with embedder.model.use() as m:
        real = m.model.encode_image

        def encode_image(x: torch.Tensor, *args, **kwargs):
            time.sleep(seconds)
            return real(x, *args, **kwargs)

        monkeypatch.setattr(m.model, "encode_image", encode_image)


def test_a_slow_replica_leaves_more_chunks_to_the_fast_one(
    tiny_models_dir: Path, single: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    replicas = ReplicaEmbedder(TINY_MODEL_ID, tiny_models_dir, devices=["cpu", "cpu"])
    slow_down(monkeypatch, replicas.replicas[1], 0.3)
    batch = images(32)  # 8 chunks of 4
    vectors = replicas.encode_images(batch)
    np.testing.assert_allclose(vectors, single.encode_images(batch), atol=1e-5)
    fast, slow = replicas.shares.last
    assert fast + slow == 8
    assert fast > slow, replicas.shares.last
    replicas.encode_images(batch)
    assert sum(replicas.shares.total) == 16


def test_a_failing_replica_fails_the_call(tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replicas = ReplicaEmbedder(TINY_MODEL_ID, tiny_models_dir, devices=["cpu", "cpu"])
    with replicas.replicas[1].model.use() as m:

        def broken(x: torch.Tensor, *args, **kwargs):
            raise torch.OutOfMemoryError("CUDA out of memory")  # even for one image: no way round it

        monkeypatch.setattr(m.model, "encode_image", broken)
    slow_down(monkeypatch, replicas.replicas[0], 0.05)  # so the broken one surely gets a chunk
    with pytest.raises(ModelError, match="even for a single image"):
        replicas.encode_images(images(16))


def test_replicas_load_and_release_together(tiny_models_dir: Path) -> None:
    replicas = ReplicaEmbedder(TINY_MODEL_ID, tiny_models_dir, devices=["cpu", "cpu"])
    assert not replicas.model.loaded
    replicas.encode_images(images(16))
    assert all(r.model.loaded for r in replicas.replicas) and replicas.model.in_use == 0
    assert not replicas.model.release_if_idle(3600)
    assert replicas.release()
    assert not replicas.model.loaded and not any(r.model.loaded for r in replicas.replicas)


# --- captions on "cpu,cpu", and the engine's wiring


@pytest.fixture(scope="module")
def caption_models(tmp_path_factory) -> Path:
    models = tmp_path_factory.mktemp("models")
    import_caption_model(make_tiny_blip(tmp_path_factory.mktemp("tiny-blip")), "blip-base", models)
    return models


def test_replica_captioner_gives_the_captions_of_one_device(caption_models: Path) -> None:
    photos = [np.asarray(textured_image(70 + 7 * i, 60 + 3 * i, seed=i)) for i in range(9)]
    options: dict[str, Any] = {"max_new_tokens": 8, "num_beams": 2, "batch_size": 3}
    one = Captioner("blip-base", caption_models, device="cpu", **options)
    several = make_captioner("blip-base", caption_models, device="cpu,cpu", **options)
    assert isinstance(several, ReplicaCaptioner)
    assert several.model_id == one.model_id  # the device is not part of what a caption is
    assert several.batch_size == 6 and several.device == "cpu"
    assert several.caption(photos) == one.caption(photos)
    assert sum(several.shares.last) == 3  # 9 images for 2 replicas x 2 chunks: chunks of 3
    assert several.caption([]) == []
    assert several.release() and not several.model.loaded


def test_engine_builds_replicas_for_a_device_list(settings: Settings, caption_models: Path) -> None:
    import shutil

    shutil.copytree(caption_models / "captions", settings.models_dir / "captions")
    s = settings.model_copy(update={"device": "cpu,cpu", "caption_beams": 1, "caption_batch_size": 5})
    with Engine.open(s, purpose="test") as engine:
        assert isinstance(engine.embedder, ReplicaEmbedder)
        captioner = engine.captioner(captions=True)
        assert isinstance(captioner, ReplicaCaptioner)
        assert captioner.num_beams == 1 and captioner.batch_size == 10
        assert all(r.num_beams == 1 and r.batch_size == 5 for r in captioner.replicas)
        assert "+" in captioner.model_id  # beams other than 3 give another caption model id
    with Engine.open(settings, purpose="test") as engine:
        assert type(engine.embedder) is Embedder
        captioner = engine.captioner(captions=True)
        assert type(captioner) is Captioner and captioner.num_beams == 3
