"""One lifecycle for the models the engine keeps in memory (CLIP embedder, BLIP captioner).

A `LazyModel` loads its model on first use, once, under a lock; counts the callers using it, so a release
never frees a model in the middle of a forward pass; and records when it was last used, so the long-running
host (the tray app runs all day) can free it after an idle timeout. The next use loads it again.

Torch-free at import: the CUDA cache is emptied only when torch is already loaded (by the model itself).
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class LazyModel(Generic[T]):
    """`use()` yields the model (loading it the first time); `release()` / `release_if_idle()` free it."""

    def __init__(self, load: Callable[[], T], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._clock = clock  # injectable, so idle timing is tested without sleeping
        self._lock = threading.Lock()
        self._model: T | None = None
        self._users = 0
        self._last_used = clock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def in_use(self) -> int:
        """How many callers are inside `use()` right now."""
        return self._users

    @property
    def last_used(self) -> float:
        """Clock time of the last `use()` entry or exit (or of construction)."""
        return self._last_used

    @contextmanager
    def use(self) -> Iterator[T]:
        # Loading holds the lock: concurrent first callers wait for the one load instead of each loading
        # a copy. A failed load leaves nothing behind; the next use tries again.
        with self._lock:
            if self._model is None:
                self._model = self._load()
            model = self._model
            self._users += 1
            self._last_used = self._clock()
        try:
            yield model
        finally:
            with self._lock:
                self._users -= 1
                self._last_used = self._clock()

    def release(self) -> bool:
        """Free the model unless someone is using it; True when it was freed."""
        return self._release_when(lambda: True)

    def release_if_idle(self, idle_seconds: float) -> bool:
        """Free the model when it has not been used for `idle_seconds`; True when it was freed."""
        return self._release_when(lambda: self._clock() - self._last_used >= idle_seconds)

    def _release_when(self, idle: Callable[[], bool]) -> bool:
        with self._lock:
            if self._model is None or self._users or not idle():
                return False
            self._model = None
        _free_memory()
        return True


def _free_memory() -> None:
    # Model objects can sit in reference cycles (transformers modules do); collect them now so the memory is
    # really returned, and hand the CUDA allocator's cached blocks back to the driver.
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
