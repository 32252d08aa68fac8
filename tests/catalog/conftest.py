"""Catalog fixtures: copies of the real LR5 catalog, fixture-built modern catalogs, and a lock-holding process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.catalog.fixtures import MODERN_VERSIONS, Built, build_catalog

LR5 = Path("catalogs") / "lr5_test_catalog_1.lrcat"


@pytest.fixture
def lr5_catalog(shared_data: Path, tmp_path: Path) -> Path:
    """A private copy of the real LR5 catalog (never read /work/shared in place with SQLite)."""
    src = shared_data / LR5
    if not src.is_file():
        pytest.skip(f"{src} not found")
    dest = tmp_path / "lr5" / src.name
    dest.parent.mkdir()
    shutil.copyfile(src, dest)
    return dest


@pytest.fixture(params=MODERN_VERSIONS)
def modern(request: pytest.FixtureRequest, shared_data: Path, tmp_path: Path) -> Built:
    return build_catalog(shared_data, tmp_path / f"cat-{request.param}", request.param)


@pytest.fixture
def lrc14(shared_data: Path, tmp_path: Path) -> Built:
    return build_catalog(shared_data, tmp_path / "cat14", "1400000")


_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "exclusive":  # what Lightroom does: exclusive locking mode, lock held all session
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
else:  # an ordinary WAL reader keeps a SHARED lock while its connection is open
    conn.execute("SELECT count(*) FROM Adobe_images").fetchone()
print("ready", flush=True)
sys.stdin.read()
"""


@contextmanager
def holding_lock(catalog: Path, mode: str = "exclusive") -> Iterator[subprocess.Popen[str]]:
    """Another process (F_GETLK does not report our own locks) holding SQLite locks on `catalog`."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(catalog), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
