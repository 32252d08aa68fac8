"""R47 (and R48 for sidecars): hostile catalogs and special files, through the real CLI in subprocesses.

Every command runs in a child process with a timeout, so a regression that hangs fails the test instead of CI.
Catalogs are copies of the real LR5 catalog (rollback journal) from shared/data."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog.errors import HostileCatalog
from catalog.reader import open_catalog
from catalog.write import PhotoChange, apply, plan

pytestmark = [pytest.mark.reliability, pytest.mark.shared_data]
LR5 = Path("catalogs") / "lr5_test_catalog_1.lrcat"
ROOT = Path(__file__).resolve().parents[2]
_CLI = "import sys; from bridge.cli.app import main; sys.argv[0] = 'pixel-detective'; main()"


def run(*args: str, timeout: float = 60) -> tuple[int, str, float]:
    """`pixel-detective ARGS` in a child process; (exit code, stdout+stderr on one line, seconds)."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _CLI, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    text = " ".join((proc.stdout + proc.stderr).split())  # rich wraps messages at the terminal width
    return proc.returncode, text, time.monotonic() - started


@pytest.fixture
def lr5(shared_data: Path, tmp_path: Path) -> Path:
    src = shared_data / LR5
    if not src.is_file():
        pytest.skip(f"{src} not found")
    dest = tmp_path / "lr5" / src.name
    dest.parent.mkdir()
    shutil.copyfile(src, dest)
    return dest


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_recursive_view_is_a_bounded_time_error_not_a_hang(lr5: Path) -> None:
    conn = sqlite3.connect(lr5)
    conn.execute("DROP TABLE Adobe_images")
    conn.execute(
        "CREATE VIEW Adobe_images AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
        "SELECT i AS id_local, i AS rootFile FROM r"
    )
    conn.commit()
    conn.close()
    for command in ("info", "photos", "keywords"):
        code, out, seconds = run("catalog", command, str(lr5))
        assert code == 1 and "Adobe_images is a view" in out and "Traceback" not in out, out
        assert seconds < 30


def test_trigger_makes_the_write_refused_naming_it_and_bytes_unchanged(lr5: Path, tmp_path: Path) -> None:
    changes = tmp_path / "changes.json"
    conn = sqlite3.connect(lr5)
    first = conn.execute("SELECT min(id_local) FROM Adobe_images").fetchone()[0]
    stale_plan = plan(lr5, [PhotoChange(id=first, keywords=("Dog",), rating=3)])  # made before the trigger
    conn.execute(
        "CREATE TRIGGER pd_probe AFTER INSERT ON AgLibraryKeywordImage BEGIN "
        "UPDATE Adobe_images SET rating = 1; DELETE FROM AgLibraryCollection; END"
    )
    conn.commit()
    conn.close()
    changes.write_text(f'[{{"id": {first}, "keywords": ["Dog"], "rating": 3}}]')
    before = {p.name: sha(p) for p in lr5.parent.iterdir()}

    code, out, _ = run("catalog", "write", str(lr5), "--changes", str(changes))
    assert code == 1 and "trigger pd_probe on AgLibraryKeywordImage" in out and "Traceback" not in out, out
    code, out, _ = run("catalog", "write", str(lr5), "--changes", str(changes), "--dry-run")
    assert code == 1 and "pd_probe" in out
    # the library path checks again inside the write transaction (a plan made before the trigger appeared)
    with pytest.raises(HostileCatalog, match="pd_probe"):
        apply(lr5, stale_plan)
    assert {p.name: sha(p) for p in lr5.parent.iterdir()} == before  # no byte changed, no backup folder made


_CRASHING_WRITER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size = 10")  # a tiny page cache: changed pages spill into the .lrcat mid-transaction
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE Adobe_images SET rating = 1, colorLabels = 'Red'")
conn.execute("CREATE TABLE spill(x)")
conn.execute("INSERT INTO spill WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 3000) "
             "SELECT randomblob(1000) FROM r")
print("ready", flush=True)
sys.stdin.read()
"""


def _crash_mid_write(catalog: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_WRITER, str(catalog)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)  # the write transaction never commits
    proc.wait(timeout=10)


def _reads_as_before_the_write(path: Path) -> bool:
    try:
        conn = sqlite3.connect(path)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
            spilled = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'spill'").fetchone()
            return ok and spilled is None  # only the crashed write made that table
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False


def _state(catalog: Path) -> list[tuple[object, ...]]:
    with open_catalog(catalog) as cat:
        return sorted((p.id, p.rating, p.color_label, p.keywords) for p in cat.photos())


def test_hot_journal_after_a_crashed_write_is_rolled_back_in_the_copy(lr5: Path, tmp_path: Path) -> None:
    before = _state(lr5)
    original = sha(lr5)
    _crash_mid_write(lr5)
    journal = lr5.with_name(lr5.name + "-journal")
    assert journal.stat().st_size > 0 and sha(lr5) != original  # half-written pages + a hot journal
    on_disk = {p.name: (sha(p), p.stat().st_mtime_ns) for p in lr5.parent.iterdir()}

    # without its journal the same bytes do not read as the old catalog: what the copy must never do
    bare = tmp_path / "bare.lrcat"
    shutil.copyfile(lr5, bare)
    assert not _reads_as_before_the_write(bare)

    assert _state(lr5) == before
    code, out, _ = run("catalog", "info", str(lr5))
    assert code == 0 and "0500006" in out, out
    # reading rolled back only our copy: the user's files (and their hot journal) are as they were
    assert {p.name: (sha(p), p.stat().st_mtime_ns) for p in lr5.parent.iterdir()} == on_disk


def test_fifo_sidecar_read_write_dry_run_return_promptly(tmp_path: Path) -> None:
    photo = tmp_path / "IMG_1.CR2"
    photo.write_bytes(b"raw")
    os.mkfifo(tmp_path / "IMG_1.xmp")
    for args in (
        ("read", str(photo)),
        ("read", str(tmp_path / "IMG_1.xmp"), "--json"),
        ("write", str(photo), "-k", "dog"),
        ("write", str(photo), "-k", "dog", "--dry-run"),
    ):
        code, out, seconds = run("xmp", *args, timeout=30)
        assert code == 1 and "not-a-regular-file" in out and "Traceback" not in out, (args, out)
        assert seconds < 20
    assert (tmp_path / "IMG_1.xmp").is_fifo()
