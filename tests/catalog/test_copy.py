"""R12: reading never changes the user's files; the copy is verified before it is read."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from catalog import copy as copy_mod
from catalog.errors import CatalogError
from catalog.reader import open_catalog
from tests.catalog.fixtures import Built


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under the catalog's folder: content hash and mtime."""
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_r12_full_read_of_wal_catalog_changes_nothing(modern: Built) -> None:
    folder = modern.path.parent
    wal = modern.path.with_name(modern.path.name + "-wal")
    assert wal.stat().st_size > 0
    before = _snapshot(folder)
    assert {"Test.lrcat", "Test.lrcat-wal", "Test.lrcat-data/masks/mask-0001.bin"} <= set(before)
    with open_catalog(modern.path) as cat:
        assert len(cat.photos()) == 3  # the data lives only in the WAL: reading it proves the WAL was used
        cat.keyword_tree()
        cat.collections()
    assert _snapshot(folder) == before  # byte-identical, same mtimes, and no new -shm or journal files


def test_copy_retries_when_the_source_changes(modern: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0, "wal": 0}
    real = copy_mod._copy_bytes

    def flaky(src: Path, dst: Path, deadline: float, budget: float) -> None:
        calls["n"] += 1
        real(src, dst, deadline, budget)
        if str(dst).endswith("-wal"):
            calls["wal"] += 1
            if calls["wal"] == 1:  # Lightroom wrote while we copied: the copied WAL differs from the source
                Path(str(dst)).write_bytes(b"changed")

    monkeypatch.setattr(copy_mod, "_copy_bytes", flaky)
    dest = copy_mod.verified_copy(modern.path, modern.path.parent.parent / "copy1", pause=0.01)
    assert calls["wal"] == 2 and calls["n"] == 4  # a second full attempt happened
    conn = sqlite3.connect(dest)
    assert conn.execute("SELECT count(*) FROM Adobe_images").fetchone() == (3,)  # the good WAL was kept
    conn.close()


def test_copy_gives_up_when_the_source_keeps_changing(modern: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copy_mod, "_copy_once", lambda *args: None)
    with pytest.raises(CatalogError, match="kept changing"):
        copy_mod.verified_copy(modern.path, modern.path.parent.parent / "copy2", attempts=2, pause=0.01)


def test_damaged_catalog_is_refused(modern: Built) -> None:
    data = bytearray(modern.path.read_bytes())
    data[200:4000] = b"\xff" * 3800  # clobber page 1's b-tree header region
    Path(modern.path).write_bytes(bytes(data))
    with pytest.raises(CatalogError), open_catalog(modern.path):
        pytest.fail("read a damaged catalog")


def test_missing_catalog(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not found"), open_catalog(tmp_path / "nope.lrcat"):
        pass
