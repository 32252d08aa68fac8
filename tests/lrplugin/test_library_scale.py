"""The plugin at library scale (issue 16): Select All on a catalog of tens of thousands of photos, then
Apply metadata / Find duplicates / Analyze, under real Lua 5.1 against the real service over real sockets.

The paths go up in `upload` pieces under the 1 MiB frame cap, replies come down in `part` frames, the
progress bar moves and can cancel, and an error reply (a refused path, a frame the service had to drop)
reaches the user at once, naming the request, instead of a 120 s "no answer"."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.engine import Engine
from bridge.lightroom import Service, uploads
from bridge.settings import Settings
from tests.bridge.conftest import make_photos, settings, tiny_models_dir  # noqa: F401  (fixtures)
from tests.lrplugin.conftest import bridge_dir, start_bridge
from tests.lrplugin.harness import Harness
from tests.model_factory import TINY_MODEL_ID

OLD_LIMIT = 12_000  # just over the ~10k paths one frame held before "chunks"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, tiny_models_dir: Path) -> tuple[Path, list[Path]]:  # noqa: F811
    """12 indexed photos and an exact copy of the first, indexed once for this module: (data dir, photos)."""
    root = tmp_path_factory.mktemp("library")
    photos = make_photos(root / "photos", 12)
    shutil.copy(photos[0], root / "photos" / "copy_of_first.jpg")
    photos.append(root / "photos" / "copy_of_first.jpg")
    shutil.copytree(tiny_models_dir, root / "data" / "models")
    with Engine.open(Settings(data_dir=root / "data", model=TINY_MODEL_ID, workers=2, batch_size=8)) as engine:
        engine.index([str(root / "photos")])
    return root / "data", photos


@pytest.fixture
def photos(settings: Any, library: tuple[Path, list[Path]]) -> list[Path]:  # noqa: F811
    """The module's indexed library, in this test's own copy of the data dir."""
    shutil.copytree(library[0], settings.data_dir, dirs_exist_ok=True)
    return library[1]


def _catalog(h: Harness, photos: list[Path], total: int) -> list[str]:
    """The indexed photos plus photos Pixel Detective never saw, `total` in all, in one catalog."""
    folder = photos[0].parent / "Archive (never indexed)"
    paths = [str(p) for p in photos] + [
        str(folder / f"{2000 + i // 5000}" / f"{i // 250:04d} Wedding of a client, ceremony and party" / f"IMG_{i:06d}.CR3")
        for i in range(total - len(photos))
    ]  # about 150 bytes each, like a real library's: 12,000 of them are over 1 MiB
    h.lua.execute(
        """local paths = ...
        local catalog = import('LrApplication').activeCatalog()
        for i = 1, #paths do catalog:_addPhoto(paths[i]) end""",
        h.lua.table_from(paths),
    )
    return paths


@pytest.fixture
def live(
    harness: Harness, home: Path, settings: Any, photos: list[Path]  # noqa: F811
) -> Iterator[tuple[Harness, Service]]:
    start_bridge(harness)
    service = Service(settings, directory=bridge_dir(home)).start()
    try:
        harness.run_until(lambda: harness.require("Bridge").isConnected(), 20, "service connected")
        yield harness, service
    finally:
        service.stop()


def _menu(h: Harness, name: str, timeout: float = 60.0) -> dict[str, Any]:
    before = len(h.shown())
    h.run_file(name)
    h.run_until(lambda: len(h.shown()) > before, timeout, what=name)
    h.run_for(0.05)
    return h.shown()[-1]


def _updates(h: Harness, scope: int = 1) -> list[tuple[float, float]]:
    u = h.sdk.progress[scope].updates
    return [(u[i].done, u[i].total) for i in range(1, len(u) + 1)]


def _sent_frames(h: Harness) -> list[bytes]:
    """Every frame the plugin wrote on its `send` socket."""
    return [d for s in h.host.sockets.values() if s.mode == "send" for d in s.sent]


def _library_run(
    h: Harness, svc: Service, photos: list[Path], total: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _catalog(h, photos, total)  # nothing selected: Lightroom's target photos are the whole filmstrip
    monkeypatch.setattr(uploads, "PART_BYTES", 700)  # a few photos per `part`, to see them put together

    t0 = time.monotonic()
    shown = _menu(h, "ApplyMetadata.lua")
    apply_s = time.monotonic() - t0
    assert shown["kind"] == "bezel" and f"Updated {len(photos)} photos" in shown["title"], (shown, svc.status())
    assert h.photo(photos[0]).pluginProps.pd_analyzedAt
    assert h.photo(photos[0]).pluginProps.pd_duplicateGroup == h.photo(photos[-1]).pluginProps.pd_duplicateGroup
    frames = _sent_frames(h)
    assert max(len(f) for f in frames) <= 1024 * 1024 + 1
    ups = [f for f in frames if b'"type":"upload"' in f[:200]]
    assert len(ups) >= 2, "the paths went up in pieces"
    updates = _updates(h)
    sending = [u for u in updates if u[1] == total]
    assert sending[-1] == (total, total) and len(sending) == len(ups)  # one step per piece
    receiving = [u for u in updates if u[1] == len(photos)]
    assert len(receiving) >= 2, updates  # the reply came in parts
    assert h.sdk.progress[1].finished

    t0 = time.monotonic()
    shown = _menu(h, "FindDuplicates.lua")
    dup_s = time.monotonic() - t0
    assert shown["kind"] == "bezel" and "1 duplicate groups" in shown["title"], (shown, svc.status())
    ((name, paths),) = h.collections()["Pixel Detective duplicates"].items()
    assert sorted(paths) == sorted([str(photos[0]), str(photos[-1])])

    # Analyze: the service refuses a path it cannot open; the user hears it now, not after 120 s.
    t0 = time.monotonic()
    shown = _menu(h, "AnalyzeSelected.lua")
    analyze_s = time.monotonic() - t0
    print(f"{total} paths: apply {apply_s:.1f} s, duplicates {dup_s:.1f} s, analyze refused {analyze_s:.1f} s")
    assert shown["kind"] == "message" and "IMG_000000.CR3" in str(shown), (shown, svc.status())
    assert analyze_s < 30
    assert h.errors() == []


def test_select_all_just_over_the_old_limit(live: tuple[Harness, Service], photos: list[Path], monkeypatch) -> None:
    h, svc = live
    _library_run(h, svc, photos, OLD_LIMIT, monkeypatch)


@pytest.mark.slow
def test_select_all_50k_photos(live: tuple[Harness, Service], photos: list[Path], monkeypatch) -> None:
    h, svc = live
    _library_run(h, svc, photos, 50_000, monkeypatch)


def test_cancel_while_the_paths_go_up(live: tuple[Harness, Service], photos: list[Path]) -> None:
    h, _ = live
    _catalog(h, photos, OLD_LIMIT)
    h.lua.execute("require('Bridge').CHUNK_BYTES = 40000")  # ~50 pieces
    before = len(h.shown())
    h.run_file("ApplyMetadata.lua")
    h.run_until(lambda: len(h.sdk.progress) and len(h.sdk.progress[1].updates) >= 2, 30, "two pieces sent")
    h.sdk.cancelProgress()
    h.run_until(lambda: len(h.shown()) > before, 30, "the cancel")
    assert h.shown()[-1] == {**h.shown()[-1], "kind": "bezel", "title": "Pixel Detective: cancelled"}
    sent = [f for f in _sent_frames(h) if b'"type":"upload"' in f[:200]]
    assert 2 <= len(sent) < 40 and not any(b'"type":"metadata"' in f[:200] for f in _sent_frames(h))
    assert not h.photo(photos[0]).pluginProps.pd_analyzedAt  # nothing written
    # the connection is fine: the same menu on a small selection works
    h.select(photos[:2])
    shown = _menu(h, "ApplyMetadata.lua")
    assert shown["kind"] == "bezel" and "Updated 2 photos" in shown["title"], shown
    assert h.errors() == []


def test_an_oversized_request_fails_at_once_and_names_the_request(
    live: tuple[Harness, Service], photos: list[Path]
) -> None:
    """Against a service without "chunks" the paths go in one frame: over the cap the user hears why at once
    — from the plugin itself, or (were it to send one) from the service's `too_large` naming the request."""
    h, _ = live
    paths = _catalog(h, photos, OLD_LIMIT)
    assert len(json.dumps(paths)) > 1024 * 1024
    h.lua.execute("require('Bridge')._state.peerFeatures = {}")  # as an older service would say
    t0 = time.monotonic()
    shown = _menu(h, "ApplyMetadata.lua", timeout=30)
    assert shown["kind"] == "message" and "at most 1048576" in str(shown), shown
    assert not any(b'"type":"metadata"' in f[:200] for f in _sent_frames(h))  # refused before sending
    h.lua.execute("require('Bridge').MAX_FRAME = 8 * 1024 * 1024")  # a plugin that would send it anyway
    shown = _menu(h, "ApplyMetadata.lua", timeout=30)
    assert shown["kind"] == "message" and "send fewer paths" in str(shown), shown
    assert any(b'"type":"metadata"' in f[:200] and len(f) > 1024 * 1024 for f in _sent_frames(h))
    assert time.monotonic() - t0 < 30  # not the 120 s "no answer"
    assert h.errors() == []
