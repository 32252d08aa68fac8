"""LazyModel: one load under concurrency, no release while in use, idle release on an injected clock,
reload after release. A tiny loader stands in for a model: no torch needed."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from bridge.models.lifecycle import LazyModel


class Loader:
    """Counts its calls; each call returns a new object (so a reload is visible)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    def __call__(self) -> object:
        self.calls += 1
        time.sleep(self.delay)  # widens the window in which unlocked callers would each load a copy
        return object()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_concurrent_first_users_share_one_load() -> None:
    loader = Loader(delay=0.05)
    lazy = LazyModel(loader)
    start = threading.Barrier(8)
    got: list[object] = []

    def user() -> None:
        start.wait()
        with lazy.use() as model:
            got.append(model)

    threads = [threading.Thread(target=user) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loader.calls == 1
    assert len(got) == 8 and len({id(m) for m in got}) == 1
    assert lazy.loaded and lazy.in_use == 0


def test_nothing_loads_before_first_use() -> None:
    loader = Loader()
    lazy = LazyModel(loader)
    assert not lazy.loaded and loader.calls == 0
    assert not lazy.release() and not lazy.release_if_idle(0)  # nothing to free


def test_a_model_in_use_is_never_released() -> None:
    clock = Clock()
    lazy = LazyModel(Loader(), clock=clock)
    inside, leave = threading.Event(), threading.Event()

    def long_forward_pass() -> None:
        with lazy.use():
            inside.set()
            leave.wait(10)

    t = threading.Thread(target=long_forward_pass)
    t.start()
    assert inside.wait(10)
    clock.now = 1000.0
    assert lazy.in_use == 1
    assert not lazy.release()
    assert not lazy.release_if_idle(10)
    assert lazy.loaded
    leave.set()
    t.join()
    assert lazy.in_use == 0
    assert lazy.release()
    assert not lazy.loaded


def test_release_if_idle_counts_from_the_last_use() -> None:
    clock = Clock()
    lazy = LazyModel(Loader(), clock=clock)
    with lazy.use():
        clock.now = 3.0  # a use that lasts: idle time counts from its end
    assert lazy.last_used == 3.0
    clock.now = 12.5
    assert not lazy.release_if_idle(10)
    with lazy.use():  # used again: the idle time starts over
        pass
    clock.now = 22.0
    assert not lazy.release_if_idle(10) and lazy.loaded
    clock.now = 22.5
    assert lazy.release_if_idle(10)
    assert not lazy.loaded


def test_use_after_release_loads_again() -> None:
    loader = Loader()
    lazy = LazyModel(loader)
    with lazy.use() as first:
        pass
    assert lazy.release()
    with lazy.use() as second:
        pass
    assert loader.calls == 2 and second is not first and lazy.loaded


def test_a_failed_load_leaves_nothing_and_is_tried_again() -> None:
    outcomes = [RuntimeError("out of memory"), "model"]

    def flaky() -> str:
        out = outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out

    lazy = LazyModel(flaky)
    with pytest.raises(RuntimeError), lazy.use():
        pass
    assert not lazy.loaded and lazy.in_use == 0
    with lazy.use() as model:
        assert model == "model"


def test_release_empties_the_cuda_cache_only_when_torch_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    emptied: list[bool] = []
    cuda = SimpleNamespace(is_available=lambda: True, empty_cache=lambda: emptied.append(True))
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=cuda))
    lazy = LazyModel(Loader())
    with lazy.use():
        pass
    assert lazy.release() and emptied == [True]
    monkeypatch.delitem(sys.modules, "torch")
    with lazy.use():
        pass
    assert lazy.release() and emptied == [True]  # no torch loaded: nothing imported, nothing emptied


def test_lifecycle_and_registry_stay_torch_free_at_import() -> None:
    code = (
        "import sys, bridge.models.lifecycle, bridge.models.registry; "
        "sys.exit('torch imported' if 'torch' in sys.modules else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
