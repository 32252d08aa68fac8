"""Watch mode: an XMP sidecar created, edited or deleted triggers its photo (metadata only, no re-embedding)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from watchdog.events import FileCreatedEvent, FileDeletedEvent, FileMovedEvent

from bridge.engine import Engine
from bridge.indexing.scan import PathFilter
from bridge.indexing.watch import ChangeCollector, watch_forever
from bridge.state.ledger import Ledger
from tests.bridge.conftest import make_photos


def wait_for(cond, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.1)


def test_sidecar_events_pend_their_photos(tmp_path):
    folder = tmp_path / "w"
    a, b = make_photos(folder, 2)
    (folder / "notes.xmp").write_text("<x/>")  # a sidecar of no photo here
    collector = ChangeCollector([str(folder)], PathFilter(), stable_seconds=0.0)
    collector.on_created(FileCreatedEvent(str(folder / "gen_00000.xmp")))
    collector.on_created(FileCreatedEvent(str(folder / "notes.xmp")))
    assert set(collector.pending) == {str(a)}
    collector.pending.clear()
    collector.on_deleted(FileDeletedEvent(str(folder / "gen_00001.jpg.xmp")))
    assert set(collector.pending) == {str(b)} and not collector.deleted  # the photo is not gone
    collector.pending.clear()
    # an editor's save: temp file renamed over the sidecar
    collector.on_moved(FileMovedEvent(str(folder / ".tmp123"), str(folder / "gen_00000.XMP")))
    assert set(collector.pending) == {str(a)}
    collector.pending.clear()
    collector.on_created(FileCreatedEvent(str(tmp_path / "elsewhere" / "gen_00000.xmp")))  # outside the root
    assert not collector.pending


@pytest.fixture
def watching(settings, tmp_path):
    folder = tmp_path / "watched"
    (photo,) = make_photos(folder, 1)
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
    wait_for(lambda: runs)  # the catch-up run indexed the photo
    yield engine, photo, runs
    stop.set()
    t.join(30)
    engine.close()


def sidecar_rating(engine: Engine, photo: Path) -> object:
    led = Ledger(engine.settings.ledger_path, readonly=True)  # the watcher's thread writes
    try:
        row = led.sidecars_for([str(photo)]).get(str(photo))
    finally:
        led.close()
    return "none" if row is None else row.fields.get("rating")


def test_watcher_reads_added_edited_and_deleted_sidecars(watching, shared_data):
    engine, photo, runs = watching
    assert sum(r.embedded for r in runs) == 1
    sidecar = photo.with_suffix(".xmp")
    shutil.copy(shared_data / "xmp/lightroom6.14_ladybug.xmp", sidecar)
    wait_for(lambda: sidecar_rating(engine, photo) == 1)

    text = sidecar.read_text(encoding="utf-8")
    assert "<xmp:Rating>1</xmp:Rating>" in text
    st = sidecar.stat()
    sidecar.write_text(text.replace("<xmp:Rating>1</", "<xmp:Rating>5</"), encoding="utf-8")
    os.utime(sidecar, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    wait_for(lambda: sidecar_rating(engine, photo) == 5)

    sidecar.unlink()
    wait_for(lambda: sidecar_rating(engine, photo) == "none")
    assert sum(r.embedded for r in runs) == 1  # never re-embedded
    assert all(r.failed == 0 for r in runs)
