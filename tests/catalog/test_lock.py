"""R10 (Lightroom open → refused quickly, locks never bypassed) and R11 (stale lock file → closed)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from catalog import lock as lock_mod
from catalog.errors import CatalogLocked
from catalog.lock import check_lock, lock_file_for, parse_lock_pid
from catalog.reader import open_catalog
from tests.catalog.conftest import dead_pid, holding_lock
from tests.catalog.fixtures import Built

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SQLite lock probe uses fcntl (POSIX)")


def _write_lock(catalog: Path, pid: int) -> Path:
    path = lock_file_for(catalog)
    path.write_text(f"C:\\Program Files\\Adobe\\Adobe Lightroom Classic\\Lightroom.exe\n{pid}\n")
    return path


def test_parse_lock_pid() -> None:
    assert parse_lock_pid("/Applications/Adobe Lightroom Classic.app\n4242\n") == 4242
    assert parse_lock_pid("4242") == 4242
    assert parse_lock_pid("C:\\Lightroom.exe\r\n77\r\n") == 77
    assert parse_lock_pid("") is None
    assert parse_lock_pid("no pid here\n") is None


def test_r10_lightroom_open_reported_within_timeout(lrc14: Built) -> None:
    """Exclusive SQLite lock held by another process + .lrcat.lock naming a live PID."""
    with holding_lock(lrc14.path, "exclusive") as holder:
        _write_lock(lrc14.path, holder.pid)
        start = time.monotonic()
        with (
            pytest.raises(CatalogLocked, match="Lightroom has this catalog open"),
            open_catalog(lrc14.path, lock_timeout=2.0),
        ):
            pytest.fail("read a catalog that Lightroom holds")
        assert time.monotonic() - start < 2.0


def test_sqlite_lock_alone_counts_as_open(lrc14: Built) -> None:
    """Without any lock file (Lightroom crashed mid-write, or another tool): the SQLite lock decides."""
    for mode in ("exclusive", "reader"):
        with holding_lock(lrc14.path, mode):
            status = check_lock(lrc14.path)
            assert status.is_open and "SQLite lock" in status.reason, mode
    assert not check_lock(lrc14.path).is_open  # and released again once the holder is gone


def test_lock_file_with_live_pid_alone_counts_as_open(lrc14: Built) -> None:
    _write_lock(lrc14.path, os.getpid())
    status = check_lock(lrc14.path)
    assert status.is_open and status.pid == os.getpid()


def test_lock_file_without_pid_counts_as_open(lrc14: Built) -> None:
    lock_file_for(lrc14.path).write_text("garbage")
    assert check_lock(lrc14.path).is_open


def test_r11_stale_lock_is_treated_as_closed(lrc14: Built) -> None:
    pid = dead_pid()
    _write_lock(lrc14.path, pid)
    status = check_lock(lrc14.path)
    assert not status.is_open and status.pid == pid and "stale" in status.reason
    with open_catalog(lrc14.path) as cat:
        assert len(cat.photos()) == 3
    assert lock_file_for(lrc14.path).exists()  # never ours to delete


def test_hung_probe_reports_open_within_timeout(lrc14: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    """R10's timeout: a probe stuck on a dead network share must not hang the caller."""
    monkeypatch.setattr(lock_mod, "_probe", lambda path: time.sleep(3))
    start = time.monotonic()
    status = check_lock(lrc14.path, timeout=0.3)
    assert status.is_open and "did not finish" in status.reason
    assert time.monotonic() - start < 1.5
