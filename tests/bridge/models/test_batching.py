"""Out-of-memory back-off: a simulated allocation failure (a step that fails above k items) first, then the
real Embedder and Captioner with tiny models whose forward pass runs out of memory above k images, and the
initial sizes from free device memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bridge.models import blip, clip
from bridge.models.batching import Backoff, is_out_of_memory
from bridge.models.blip import Captioner, import_caption_model
from bridge.models.clip import Embedder
from bridge.models.registry import ModelError
from tests.blip_factory import TINY_IMAGE_SIZE, make_tiny_blip
from tests.model_factory import TINY_MODEL_ID
from tests.photo_factory import textured_image


class FakeDevice:
    """A step that runs out of memory when given more than `capacity` items; records what it processed."""

    def __init__(self, capacity: int, error: type[BaseException] = torch.OutOfMemoryError) -> None:
        self.capacity = capacity
        self.error = error
        self.attempts: list[int] = []
        self.processed: list[int] = []

    def step(self, items: list[int]):
        def run(start: int, stop: int) -> list[int]:
            self.attempts.append(stop - start)
            if stop - start > self.capacity:
                raise self.error("CUDA out of memory. Tried to allocate 2.00 GiB")
            self.processed.extend(items[start:stop])
            return [i * 10 for i in items[start:stop]]

        return run


def test_halves_until_it_fits_keeping_every_item_once_in_order() -> None:
    items = list(range(37))
    dev = FakeDevice(capacity=5)
    backoff = Backoff(16, device="cpu")
    parts = backoff.run(len(items), dev.step(items))
    assert [x for part in parts for x in part] == [i * 10 for i in items]
    assert dev.processed == items  # each item once, in order
    assert dev.attempts[:3] == [16, 8, 4]  # halved twice, then it fit
    assert backoff.size == 4 and backoff.out_of_memory == 2
    # the learned size is kept: the next call starts at 4, without running out of memory again
    dev.attempts.clear()
    backoff.run(12, dev.step(list(range(12))))
    assert dev.attempts == [4, 4, 4]
    assert backoff.out_of_memory == 2


def test_a_short_tail_that_fails_is_halved_too() -> None:
    dev = FakeDevice(capacity=2)
    backoff = Backoff(4, device="cpu")
    items = list(range(7))  # 4 fails, 2, 2, then a tail of 3 fits at the learned 2: 2 + 1
    backoff.run(len(items), dev.step(items))
    assert dev.processed == items
    assert dev.attempts == [4, 2, 2, 2, 1]


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory"),
        torch.cuda.OutOfMemoryError("CUDA out of memory"),
        RuntimeError("CUDA error: out of memory"),
        RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough memory"),
        MemoryError(),
    ],
)
def test_out_of_memory_errors_are_recognised(error: BaseException) -> None:
    assert is_out_of_memory(error)


def test_other_errors_propagate_at_once() -> None:
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))  # only a RuntimeError's text is read
    dev = FakeDevice(capacity=0, error=ValueError)
    with pytest.raises(ValueError):
        Backoff(8, device="cpu").run(8, dev.step(list(range(8))))
    assert dev.attempts == [8]  # no retry


@pytest.mark.parametrize(
    ("device", "advice"),
    [("cuda:1", "close other programs using the GPU"), ("cpu", "close other programs")],
)
def test_cannot_go_below_one_item(device: str, advice: str) -> None:
    dev = FakeDevice(capacity=0)
    backoff = Backoff(8, device=device)
    with pytest.raises(ModelError, match=f"out of memory on {device} even for a single image") as e:
        backoff.run(3, dev.step([1, 2, 3]))
    assert advice in str(e.value)
    assert dev.attempts == [3, 1]  # the tail of 3 halves to 1, which fails: nothing smaller to try
    assert not dev.processed


def test_grows_back_carefully_up_to_the_limit() -> None:
    dev = FakeDevice(capacity=2)
    backoff = Backoff(8, device="cpu", grow_after=2)
    backoff.run(8, dev.step(list(range(8))))  # 8 and 4 fail, then 4 good steps of 2
    assert backoff.size == 2 and backoff.out_of_memory == 2
    dev.capacity = 100  # the other program has ended
    # two failures doubled the run of good steps needed before a doubling from 2 to 8
    backoff.run(3 * 2, dev.step(list(range(6))))
    assert backoff.size == 2
    backoff.run(2, dev.step([0, 1]))  # the 8th full-size step in a row
    assert backoff.size == 4
    backoff.run(1, dev.step([0]))  # a short step proves nothing
    backoff.run(8 * 4, dev.step(list(range(32))))
    assert backoff.size == 8
    backoff.run(100 * 8, dev.step(list(range(800))))
    assert backoff.size == 8  # never above the limit


# --- the real Embedder: a tiny open_clip model whose image forward runs out of memory above k images


def images(n: int, size: int = 64) -> np.ndarray:
    return np.stack([np.asarray(textured_image(size, size, seed=i)) for i in range(n)])


def limit_forward(monkeypatch: pytest.MonkeyPatch, embedder: Embedder, k: int) -> list[int]:
    """Make the loaded model's encode_image fail above k images; returns the batch sizes it was given."""
    seen: list[int] = []
    with embedder.model.use() as m:
        real = m.model.encode_image

        def encode_image(x: torch.Tensor, *args, **kwargs):
            seen.append(int(x.shape[0]))
            if x.shape[0] > k:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
            return real(x, *args, **kwargs)

        monkeypatch.setattr(m.model, "encode_image", encode_image)
    return seen


def test_embedder_backs_off_and_gives_the_same_vectors(
    tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = images(21)
    reference = Embedder(TINY_MODEL_ID, tiny_models_dir, device="cpu", batch_size=32).encode_images(batch)
    embedder = Embedder(TINY_MODEL_ID, tiny_models_dir, device="cpu", batch_size=16)
    seen = limit_forward(monkeypatch, embedder, k=3)
    vectors = embedder.encode_images(batch)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
    assert seen[:3] == [16, 8, 4] and embedder.backoff.size == 2
    assert sum(n for n in seen if n <= 3) == 21  # every image through the model exactly once
    seen.clear()
    np.testing.assert_allclose(embedder.encode_images(batch[:5]), reference[:5], atol=1e-5)
    assert seen == [2, 2, 1]  # the learned size is kept across calls
    assert embedder.encode_images(batch[:0]).shape == (0, reference.shape[1])


def test_embedder_takes_a_tensor(tiny_models_dir: Path) -> None:
    embedder = Embedder(TINY_MODEL_ID, tiny_models_dir, device="cpu")
    batch = images(4)
    as_tensor = torch.from_numpy(batch)
    np.testing.assert_allclose(embedder.encode_images(as_tensor), embedder.encode_images(batch), atol=1e-6)
    assert torch.equal(as_tensor, torch.from_numpy(batch))  # the caller's tensor is left alone


def test_embedder_out_of_memory_for_one_image_says_what_to_do(
    tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = Embedder(TINY_MODEL_ID, tiny_models_dir, device="cpu", batch_size=4)
    limit_forward(monkeypatch, embedder, k=0)
    with pytest.raises(ModelError, match="even for a single image"):
        embedder.encode_images(images(3))


# --- the real Captioner: a tiny BLIP whose generate runs out of memory above k images


@pytest.fixture(scope="module")
def caption_models(tmp_path_factory) -> Path:
    models = tmp_path_factory.mktemp("models")
    import_caption_model(make_tiny_blip(tmp_path_factory.mktemp("tiny-blip")), "blip-base", models)
    return models


def photos(n: int) -> list[np.ndarray]:
    return [np.asarray(textured_image(80 + 9 * i, 70 + 5 * i, seed=i)) for i in range(n)]


def test_captioner_backs_off_and_gives_the_same_captions(
    caption_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options: dict[str, Any] = {"device": "cpu", "max_new_tokens": 8, "num_beams": 2}
    reference = Captioner("blip-base", caption_models, batch_size=8, **options).caption(photos(7))
    captioner = Captioner("blip-base", caption_models, batch_size=8, **options)
    seen: list[int] = []
    with captioner.model.use() as m:
        real = m.model.generate

        def generate(*args, **kwargs):
            seen.append(int(kwargs["pixel_values"].shape[0]))
            if seen[-1] > 3:
                raise torch.OutOfMemoryError("CUDA out of memory")
            return real(*args, **kwargs)

        monkeypatch.setattr(m.model, "generate", generate)
    assert captioner.caption(photos(7)) == reference
    assert seen == [7, 3, 3, 1]  # 7 halved to 3, then the rest at the learned size
    assert captioner.backoff.size == 3


def test_captioner_takes_a_tensor_at_its_input_size(caption_models: Path) -> None:
    captioner = Captioner("blip-base", caption_models, device="cpu", max_new_tokens=8, num_beams=2)
    square = np.stack(
        [np.asarray(textured_image(TINY_IMAGE_SIZE, TINY_IMAGE_SIZE, seed=i)) for i in range(3)]
    )
    assert captioner.caption(torch.from_numpy(square)) == captioner.caption(list(square))
    with pytest.raises(blip.CaptionError, match="uint8 tensor"):
        captioner.caption(torch.zeros((1, 10, 10, 3), dtype=torch.uint8))


# --- initial sizes from free device memory (mem_get_info faked: no GPU here)


def fake_free(monkeypatch: pytest.MonkeyPatch, gb: float) -> None:
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (int(gb * 1e9), int(gb * 1e9)))


def test_caption_batch_from_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    assert blip.auto_batch_size("cpu") == 8
    fake_free(monkeypatch, 140)  # an H200
    assert blip.auto_batch_size("cuda:0") == 512
    fake_free(monkeypatch, 78)  # an H100
    assert blip.auto_batch_size("cuda:0", num_beams=3) >= 256
    fake_free(monkeypatch, 22)  # a 24 GB card: the measured ~76 MB an image with 3 beams
    assert 150 <= blip.auto_batch_size("cuda:0") <= 256
    assert blip.auto_batch_size("cuda:0", num_beams=1) > 2 * blip.auto_batch_size("cuda:0", num_beams=3)
    fake_free(monkeypatch, 0.1)
    assert blip.auto_batch_size("cuda:0") == 4


def test_embed_batch_from_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    assert clip.auto_batch_size("cpu", 224) == 32
    fake_free(monkeypatch, 78)
    assert clip.auto_batch_size("cuda", 224) == 512
    fake_free(monkeypatch, 2)
    assert clip.auto_batch_size("cuda", 224) > clip.auto_batch_size("cuda", 448) >= 8
