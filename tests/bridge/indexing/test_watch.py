"""R22–R24: watched folders — slow copies indexed once when stable, temp names ignored, deletes applied."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from bridge.engine import Engine
from bridge.indexing.watch import watch_forever
from tests.bridge.conftest import make_photos


@pytest.fixture
def watching(settings, tmp_path):
    folder = tmp_path / "watched"
    folder.mkdir()
    s = settings.with_overrides(watch_stable_seconds=0.4, watch_rescan_minutes=0)
    engine = Engine.open(s)
    stop = threading.Event()
    runs: list = []
    t = threading.Thread(
        target=watch_forever,
        args=(engine, [str(folder)]),
        kwargs={"stop": stop, "poll": 0.1, "on_run": runs.append},
        daemon=True,
    )
    t.start()
    wait_for(lambda: runs)  # the catch-up run is over: it must not race the test's own copies
    runs.clear()
    yield engine, folder, runs
    stop.set()
    t.join(30)
    engine.close()


def wait_for(cond, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.1)


def indexed(engine: Engine) -> set[str]:
    # a read-only view from this thread while the watcher thread writes
    from bridge.state.ledger import Ledger

    led = Ledger(engine.settings.ledger_path, readonly=True)
    done = led.done_fingerprints("embed", engine.model_id)
    paths = {p for fp, ps in led.paths_for(done).items() for p in ps}
    led.close()
    return {os.path.basename(p) for p in paths}


def test_slow_copy_is_indexed_once_after_it_is_stable(watching, tmp_path):
    engine, folder, runs = watching
    (src,) = make_photos(tmp_path / "src", 1, size=(400, 300))
    data = src.read_bytes()
    dst = folder / "slow.jpg"
    with open(dst, "wb") as f:  # a copy that takes ~1.5 s, in pieces
        for i in range(0, len(data), len(data) // 6 + 1):
            f.write(data[i : i + len(data) // 6 + 1])
            f.flush()
            time.sleep(0.25)
    wait_for(lambda: "slow.jpg" in indexed(engine))
    time.sleep(1.0)
    embedded = sum(r.embedded for r in runs)
    failed = sum(r.failed for r in runs)
    assert (embedded, failed) == (1, 0), [r.failures_by_reason for r in runs]  # never caught half-written


def test_temp_names_ignored_and_editor_saves_indexed_once(watching, tmp_path):
    engine, folder, runs = watching
    photos = make_photos(tmp_path / "src", 4)
    shutil.copy(photos[0], folder / "download.jpg.part")
    shutil.copy(photos[1], folder / "~$lock.jpg")
    shutil.copy(photos[2], folder / "._apple.jpg")
    # editor-style save: write a temp file, then rename it over the final name
    shutil.copy(photos[3], folder / ".edit-tmp-123")
    os.rename(folder / ".edit-tmp-123", folder / "final.jpg")
    wait_for(lambda: "final.jpg" in indexed(engine))
    time.sleep(1.0)
    assert indexed(engine) == {"final.jpg"}
    assert sum(r.embedded for r in runs) == 1


def test_many_files_at_once_are_one_batch_and_deletes_leave(watching, tmp_path):
    engine, folder, runs = watching
    make_photos(folder / "burst", 60)
    wait_for(lambda: len(indexed(engine)) == 60)
    assert len([r for r in runs if r.embedded]) <= 2  # batched, not one run per file
    for p in sorted((folder / "burst").iterdir())[:10]:
        p.unlink()
    wait_for(lambda: len(indexed(engine)) == 50)


def test_folder_renamed_is_repathed_not_reembedded_and_moved_out_is_swept(watching, tmp_path):
    """R24/R5 under `watch`: the same fingerprint re-pathing as `index` (one code path); a folder moved out
    of the tree leaves no ghost entries."""
    engine, folder, runs = watching
    make_photos(folder / "trip", 6)
    wait_for(lambda: len(indexed(engine)) == 6)
    time.sleep(1.0)
    runs.clear()

    os.rename(folder / "trip", folder / "trip-2024")
    wait_for(lambda: sum(r.repathed for r in runs) >= 6 and sum(r.deleted for r in runs) >= 6)
    time.sleep(1.0)
    assert sum(r.embedded for r in runs) == 0  # the vectors stayed; only their paths changed
    from bridge.state.ledger import Ledger

    led = Ledger(engine.settings.ledger_path, readonly=True)
    paths = {p for ps in led.paths_for(led.done_fingerprints("embed", engine.model_id)).values() for p in ps}
    led.close()
    assert paths and all(os.sep + "trip-2024" + os.sep in p for p in paths)
    hits = engine.store().scroll()
    assert all("trip-2024" in payload["path"] for _, payload, _ in hits)

    runs.clear()
    shutil.move(str(folder / "trip-2024"), str(tmp_path / "elsewhere"))  # out of the watched tree
    wait_for(lambda: not indexed(engine))
    wait_for(lambda: engine.store().count() == 0)  # no ghost vectors either
