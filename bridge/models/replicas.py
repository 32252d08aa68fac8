"""Several devices: one model replica per device, sharing each batch dynamically.

`--device cuda:0,cuda:1` (or `all`: every visible CUDA device) loads one embedder, and one captioner, per
device. Each call's batch is cut into chunks in a shared queue; one thread per replica takes the next chunk
whenever its device is free, so a faster device takes more of them; the results come back in input order.
torch releases the GIL during the kernels, so the threads overlap where it matters.

The wrappers are `Embedder` / `Captioner` subclasses with the same interface (the indexer, the search and
the host use them unchanged): `device` is the first replica's (where text queries go), `devices` all of them,
and `model` the replicas' lifecycles seen as one, so the host's idle release frees all of them.

`cpu,cpu` is allowed: two replicas on the CPU share its cores (no faster), which is how the scheduling is
tested on machines without GPUs.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from bridge.models.blip import Captioner
from bridge.models.clip import DEVICE_CHOICES, Embedder, pick_device
from bridge.models.lifecycle import LazyModel
from bridge.models.registry import ModelError, resolve

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

EMBED_CHUNKS_PER_REPLICA = 4  # chunks per replica and call: enough for a fast device to take more
CAPTION_CHUNKS_PER_REPLICA = 2  # generate gains more from large batches; a fast GPU still takes 3 of 4


def parse_devices(spec: str, *, notes: list[str] | None = None) -> list[str]:
    """`auto`, `cpu`, `cuda`, `cuda:N` (one device), `cuda:0,cuda:1` (several; `cpu,cpu` too), or `all`
    (every visible CUDA device; the CPU where there is none, with a note appended to `notes`)."""
    spec = spec.strip()
    if spec == "all":
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count:
            return [f"cuda:{i}" for i in range(count)]
        note = "--device all: no CUDA device is visible here, so the models run on the CPU"
        log.warning(note)
        if notes is not None and note not in notes:
            notes.append(note)
        return ["cpu"]
    if "," not in spec:
        return [pick_device(spec)]
    items = [item.strip() for item in spec.split(",")]
    for item in items:
        if not item:
            raise ModelError(f"device list {spec!r} has an empty entry: use {DEVICE_CHOICES}")
        if item in ("auto", "all"):
            raise ModelError(f"{item!r} cannot be part of a device list ({spec!r}): name each device")
    return [pick_device(item) for item in items]  # each one checked against this machine, with its message


def make_embedder(
    model_id: str,
    models_dir: Path,
    *,
    device: str,
    precision: str = "auto",
    batch_size: int = 0,
    notes: list[str] | None = None,
) -> Embedder:
    """An `Embedder` for one device, a `ReplicaEmbedder` for several."""
    resolve(model_id, models_dir)  # missing weights are reported before a device problem, as for one device
    devices = parse_devices(device, notes=notes)
    if len(devices) == 1:
        single = device if "," not in device and device.strip() != "all" else devices[0]
        return Embedder(model_id, models_dir, device=single, precision=precision, batch_size=batch_size)
    return ReplicaEmbedder(model_id, models_dir, devices=devices, precision=precision, batch_size=batch_size)


def make_captioner(
    name: str, models_dir: Path, *, device: str, notes: list[str] | None = None, **options: Any
) -> Captioner:
    """A `Captioner` for one device, a `ReplicaCaptioner` for several; `options` as `Captioner` takes them."""
    devices = parse_devices(device, notes=notes)
    if len(devices) == 1:
        single = device if "," not in device and device.strip() != "all" else devices[0]
        return Captioner(name, models_dir, device=single, **options)
    return ReplicaCaptioner(name, models_dir, devices=devices, **options)


class ReplicaModels(LazyModel[T]):
    """The replicas' lifecycles as one: loaded and in use when any replica is, released together (each one
    unless in use). `use()` is the first replica's. Owns no model itself, so the base state is not set up."""

    def __init__(self, parts: Sequence[LazyModel[T]]) -> None:
        self.parts = list(parts)

    @property
    def loaded(self) -> bool:
        return any(p.loaded for p in self.parts)

    @property
    def in_use(self) -> int:
        return sum(p.in_use for p in self.parts)

    @property
    def last_used(self) -> float:
        return max(p.last_used for p in self.parts)

    @contextmanager
    def use(self) -> Iterator[T]:
        with self.parts[0].use() as model:
            yield model

    def release(self) -> bool:
        return any([p.release() for p in self.parts])  # a list, not a generator: every replica is asked

    def release_if_idle(self, idle_seconds: float) -> bool:
        return any([p.release_if_idle(idle_seconds) for p in self.parts])


def share_work(
    workers: Sequence[Callable[[int, int], R]], total: int, chunk: int
) -> tuple[list[R], list[int]]:
    """[0, total) cut into chunks of `chunk` items; one thread per worker takes the next chunk from a shared
    queue until none is left. Returns the chunks' results in order and how many chunks each worker took.
    The first exception stops the others taking more, and is raised once all have stopped."""
    bounds = [(start, min(total, start + chunk)) for start in range(0, total, max(1, chunk))]
    if len(bounds) == 1 or len(workers) == 1:
        return [workers[0](a, b) for a, b in bounds], [len(bounds)] + [0] * (len(workers) - 1)
    pending: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(bounds)):
        pending.put(i)
    results: list[Any] = [None] * len(bounds)
    taken = [0] * len(workers)
    errors: list[BaseException] = []
    failed = threading.Event()

    def work(w: int) -> None:
        while not failed.is_set():
            try:
                i = pending.get_nowait()
            except queue.Empty:
                return
            try:
                results[i] = workers[w](*bounds[i])
            except BaseException as e:  # re-raised in the caller's thread
                errors.append(e)
                failed.set()
                return
            taken[w] += 1

    threads = [threading.Thread(target=work, args=(w,), name=f"replica-{w}") for w in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results, taken


class _Shares:
    """Chunks each replica took: in the last call and since construction (the test of dynamic sharing, and a
    sign in the log of one device much slower than the others)."""

    def __init__(self, n: int) -> None:
        self.last = [0] * n
        self.total = [0] * n
        self._lock = threading.Lock()

    def add(self, taken: list[int]) -> None:
        with self._lock:
            self.last = taken
            self.total = [a + b for a, b in zip(self.total, taken, strict=True)]


class ReplicaEmbedder(Embedder):
    """`Embedder` over several devices: each `encode_images` call is shared among the replicas;
    `encode_text` (a query: small) goes to the first."""

    def __init__(
        self,
        model_id: str,
        models_dir: Path,
        *,
        devices: Sequence[str],
        precision: str = "auto",
        batch_size: int = 0,
        chunks_per_replica: int = EMBED_CHUNKS_PER_REPLICA,
    ) -> None:
        if len(devices) < 2:
            raise ValueError("a ReplicaEmbedder needs two devices or more; use Embedder for one")
        # The base sets the attributes callers read (weights, model_id, device = the first replica's).
        super().__init__(model_id, models_dir, device=devices[0], precision=precision, batch_size=batch_size)
        self.requested_device = ",".join(devices)
        self.replicas = [
            Embedder(model_id, models_dir, device=d, precision=precision, batch_size=batch_size)
            for d in devices
        ]
        self.devices = [r.device for r in self.replicas]
        self.chunks_per_replica = max(1, chunks_per_replica)
        self.model = ReplicaModels([r.model for r in self.replicas])
        self.shares = _Shares(len(self.replicas))

    def preferred_batch_size(self) -> int:
        """All replicas' batches together: one call keeps every device busy."""
        return sum(r.preferred_batch_size() for r in self.replicas)

    def encode_images(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        n = len(batch)
        if n == 0:
            return self.replicas[0].encode_images(batch)
        chunk = -(-n // (len(self.replicas) * self.chunks_per_replica))
        workers = [_slice_caller(r.device, r.encode_images, batch) for r in self.replicas]
        parts, taken = share_work(workers, n, chunk)
        self.shares.add(taken)
        return np.concatenate(parts)

    def encode_text(self, texts: list[str]) -> np.ndarray:
        return self.replicas[0].encode_text(texts)


class ReplicaCaptioner(Captioner):
    """`Captioner` over several devices: each `caption` call is shared among the replicas. `batch_size` is
    theirs together, so the caption pass hands over enough images to keep every device busy."""

    def __init__(
        self,
        name: str,
        models_dir: Path,
        *,
        devices: Sequence[str],
        chunks_per_replica: int = CAPTION_CHUNKS_PER_REPLICA,
        **options: Any,
    ) -> None:
        if len(devices) < 2:
            raise ValueError("a ReplicaCaptioner needs two devices or more; use Captioner for one")
        super().__init__(name, models_dir, device=devices[0], **options)
        self.replicas = [Captioner(name, models_dir, device=d, **options) for d in devices]
        self.devices = [r.device for r in self.replicas]
        self.batch_size = sum(r.batch_size for r in self.replicas)
        self.chunks_per_replica = max(1, chunks_per_replica)
        self.model = ReplicaModels([r.model for r in self.replicas])
        self.shares = _Shares(len(self.replicas))

    def caption(self, images: Sequence[np.ndarray] | torch.Tensor) -> list[str]:
        n = len(images)
        if n == 0:
            return []
        chunk = -(-n // (len(self.replicas) * self.chunks_per_replica))
        workers = [_slice_caller(r.device, r.caption, images) for r in self.replicas]
        parts, taken = share_work(workers, n, chunk)
        self.shares.add(taken)
        return [text for part in parts for text in part]


def _slice_caller(device: str, fn: Callable[[Any], R], items: Any) -> Callable[[int, int], R]:
    """`fn` over items[start:stop], with `device` as the thread's current CUDA device (what library code
    that allocates on "the current device" then uses). A function, so each replica's values are bound."""

    def call(start: int, stop: int) -> R:
        if not device.startswith("cuda"):
            return fn(items[start:stop])
        import torch

        with torch.cuda.device(device):
            return fn(items[start:stop])

    return call
