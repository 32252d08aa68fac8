"""Out-of-memory back-off for batched model steps (CLIP encode, BLIP generate).

A batch sized from free memory is an estimate: another program takes memory, a model needs more than measured,
a long caption grows the beam cache. So a step that runs out of memory is not an abort: the sub-batch is halved
and that part retried, items never lost or reordered, down to one item; only then does the error reach the
user, as a `ModelError` that says what to do. The size learned this way is kept for the next calls, and grows
back (doubling, up to the configured limit) only after a run of full-size steps in a row; every further
out-of-memory doubles that run, so a size that keeps failing is tried ever more rarely.

Torch-free at import: the error types and the CUDA cache are looked up only when torch is already loaded.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

from bridge.models.registry import ModelError

log = logging.getLogger(__name__)

R = TypeVar("R")

GROW_AFTER = 16  # full-size steps in a row before the learned size doubles back towards the limit
MAX_PATIENCE = 4096  # however often a size failed, it is tried again after this many good steps


def is_out_of_memory(error: BaseException) -> bool:
    """torch's OutOfMemoryError (CUDA), a RuntimeError saying so (other backends, the CPU allocator), or
    Python's MemoryError."""
    if isinstance(error, MemoryError):
        return True
    torch = sys.modules.get("torch")
    if torch is not None:
        kinds = tuple(
            k
            for k in (getattr(torch, "OutOfMemoryError", None), getattr(torch.cuda, "OutOfMemoryError", None))
            if isinstance(k, type)
        )
        if kinds and isinstance(error, kinds):
            return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in text or "not enough memory" in text)


def free_device_cache(device: str) -> None:
    """Hand the CUDA allocator's cached blocks back, so the smaller retry finds them."""
    torch = sys.modules.get("torch")
    if device.startswith("cuda") and torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class Backoff:
    """The sub-batch size one device can take, learned at run time. Shared by the calls on one model
    (thread-safe); `run` is the only entry point."""

    def __init__(self, limit: int, *, device: str, what: str = "image", grow_after: int = GROW_AFTER) -> None:
        self.limit = max(1, int(limit))
        self.size = self.limit
        self.device = device
        self.what = what
        self.grow_after = max(1, grow_after)
        self.out_of_memory = 0  # how often a step ran out of memory (for the log and the tests)
        self._patience = self.grow_after
        self._streak = 0
        self._lock = threading.Lock()

    def run(self, total: int, step: Callable[[int, int], R]) -> list[R]:
        """`step(start, stop)` over [0, total) in consecutive sub-batches of at most `size` items; returns
        each sub-batch's result in order. Out of memory: that sub-batch is halved and retried."""
        parts: list[R] = []
        start = 0
        while start < total:
            n = min(self.size, total - start)
            try:
                part = step(start, start + n)
            except Exception as e:
                if not is_out_of_memory(e):
                    raise
                if n == 1:
                    log.info("out of memory on %s with a single %s", self.device, self.what, exc_info=True)
                    raise ModelError(self._advice()) from None
                failed = True
            else:
                failed = False
            if failed:
                # After the except block: the error's traceback, and the tensors its frames hold, are gone.
                free_device_cache(self.device)
                self._shrink(n)
                continue
            parts.append(part)
            self._grow_after_success(n)
            start += n
        return parts

    def _shrink(self, n: int) -> None:
        with self._lock:
            self.out_of_memory += 1
            self.size = min(self.size, max(1, n // 2))
            self._streak = 0
            self._patience = min(self._patience * 2, MAX_PATIENCE)
            size = self.size
        log.warning(
            "out of memory on %s with %d %ss: going on with %d at a time", self.device, n, self.what, size
        )

    def _grow_after_success(self, n: int) -> None:
        with self._lock:
            if n < self.size or self.size >= self.limit:
                return  # a short tail proves nothing about the size; at the limit there is nothing to regain
            self._streak += 1
            if self._streak < self._patience:
                return
            self._streak = 0
            self.size = min(self.limit, self.size * 2)
            size = self.size
        log.info("%s: trying %d %ss at a time again", self.device, size, self.what)

    def _advice(self) -> str:
        if self.device.startswith("cuda"):
            return (
                f"out of memory on {self.device} even for a single {self.what}: close other programs using "
                "the GPU (nvidia-smi lists them), use a smaller model, or run with --device cpu"
            )
        return (
            f"out of memory on {self.device} even for a single {self.what}: close other programs, "
            "use a smaller model, or lower --workers"
        )
