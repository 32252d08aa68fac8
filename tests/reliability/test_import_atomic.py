"""R37: kill -9 during `import-db` leaves the old index or the new one, complete and searchable; never half.

The bug this guards: a killed import left a ledger recording 2,095 embedded photos over a store holding
0–2,048 of them, and every command called the index fine.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from bridge.engine import Engine
from bridge.files import datadir
from bridge.indexing.payload import point_id
from bridge.search.query import search
from bridge.settings import Settings
from bridge.state.portable import LEDGER, export_index, read_manifest
from bridge.state.portable import (
    _stage as stage_import,  # the staging step on its own, for the mid-switch case
)
from tests.bridge.conftest import make_photos

pytestmark = pytest.mark.reliability


def build_and_export(settings: Settings, folder: Path, n: int, seed: int, archive: Path) -> set[str]:
    make_photos(folder, n, seed=seed)
    with Engine.open(settings) as engine:
        engine.index([str(folder)])
        export_index(engine, archive)
    return {str(p) for p in folder.iterdir()}


def other_settings(settings: Settings, data_dir: Path) -> Settings:
    shutil.copytree(settings.models_dir, data_dir / "models")
    return Settings(data_dir=data_dir, model=settings.model, workers=2, batch_size=8)


def assert_whole_index(settings: Settings, expected: dict[str, set[str]]) -> str:
    """The index is exactly one of `expected` (name → paths), every recorded vector is in the store, and a
    search finds a photo by its own vector. Returns which one it is."""
    with Engine.open(settings) as engine:
        paths = {r.path for r in engine.ledger.files_under("/").values()}
        which = [name for name, want in expected.items() if want == paths]
        assert which, f"the ledger holds neither index: {len(paths)} files"
        fps = {r.fingerprint for r in engine.ledger.files_under("/").values()}
        assert engine.ledger.done_fingerprints("embed", settings.model) == fps
        store = engine.store()
        # The open compared the store with the ledger; a repair would have said so.
        assert not any("missing" in n for n in engine.notices), engine.notices
        ids = set(store.ids())
        assert ids == {point_id(fp, settings.model) for fp in fps}
        probe = sorted(paths)[len(paths) // 2]
        fp = engine.ledger.file_by_path(probe).fingerprint
        vec = store.retrieve([point_id(fp, settings.model)], with_vectors=True)[0][2]
        assert search(engine, vec, limit=1)[0].path == probe
    assert not datadir.switch_pending(settings.data_dir)
    assert not any((settings.data_dir / datadir.TMP_DIR).iterdir()), "a killed import left its temp folder"
    return which[0]


def test_import_killed_at_random_points_leaves_old_or_new(cli, settings, tmp_path):
    a_zip, b_zip = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    a = build_and_export(settings, tmp_path / "a", 24, 1, a_zip)
    b = build_and_export(other_settings(settings, tmp_path / "b-data"), tmp_path / "b", 40, 2, b_zip)
    expected = {"a": a, "b": b}
    t = time.monotonic()
    full = cli("import-db", str(b_zip), "--force")
    assert full.returncode == 0, full.stderr
    whole = time.monotonic() - t
    current = assert_whole_index(settings, expected)
    assert current == "b"
    rng = random.Random()
    outcomes = []
    for _ in range(10):
        target = a_zip if current == "b" else b_zip
        proc = cli("import-db", str(target), "--force", wait=False)
        time.sleep(rng.uniform(0.2, whole))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        current = assert_whole_index(settings, expected)
        outcomes.append((proc.returncode, current))
    print("kill outcomes (returncode, index after):", outcomes)


def test_crash_in_the_middle_of_the_switch_is_completed_on_next_open(settings, tmp_path):
    a_zip, b_zip = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    a = build_and_export(settings, tmp_path / "a", 10, 1, a_zip)
    b = build_and_export(other_settings(settings, tmp_path / "b-data"), tmp_path / "b", 14, 2, b_zip)
    data = settings.data_dir
    work = data / datadir.TMP_DIR / "import-999999999-test"
    work.mkdir(parents=True)
    manifest = read_manifest(b_zip, work / "unpacked")
    stage_import(work, manifest)
    staged_store = next((work / "new" / "store").iterdir()).name
    replace = [LEDGER, f"store/{staged_store}"]
    # What commit_switch does, stopped after the ledger moved but before the store did (a kill there).
    datadir.write_json_atomic(
        data / datadir.SWITCH_JOURNAL,
        {"version": 1, "staged": str(work.relative_to(data) / "new"), "backup": str(work.relative_to(data) / "old"),
         "replace": replace, "remove": ["ledger.sqlite-wal", "ledger.sqlite-shm"]},
    )  # fmt: skip
    (work / "old" / "store").mkdir(parents=True)
    os.replace(data / LEDGER, work / "old" / LEDGER)
    os.replace(work / "new" / LEDGER, data / LEDGER)
    assert assert_whole_index(settings, {"a": a, "b": b}) == "b"
