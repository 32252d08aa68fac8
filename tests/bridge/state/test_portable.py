"""export-db / import-db edges and the data folder's hygiene: refused destinations, temp folders of dead
processes, private permissions."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile

import pytest

from bridge.engine import Engine
from bridge.files import datadir
from tests.bridge.cli.test_cli import pd
from tests.bridge.conftest import make_photos


@pytest.fixture
def indexed(settings, tmp_path):
    make_photos(tmp_path / "photos", 6)
    with Engine.open(settings) as engine:
        engine.index([str(tmp_path / "photos")])
    return settings


def test_export_to_a_folder_is_refused_before_writing(indexed, tmp_path):
    target = tmp_path / "backups"
    target.mkdir()
    r = pd(indexed.data_dir, "export-db", str(target), check=False)
    assert r.returncode == 1
    assert "is a folder" in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.glob("backups*")) == [target] and not any(target.iterdir())
    r = pd(indexed.data_dir, "export-db", str(tmp_path / "nope" / "x.tar.gz"), check=False)
    assert r.returncode == 1 and "does not exist" in r.stderr
    assert not (tmp_path / "nope").exists()


def test_stale_temp_folders_of_dead_processes_are_removed(indexed):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    tmp = indexed.data_dir / datadir.TMP_DIR
    tmp.mkdir(exist_ok=True)
    stale = tmp / f"import-{dead.pid}-dead0001"
    (stale / "unpacked").mkdir(parents=True)
    (stale / "unpacked" / "vectors.npy").write_bytes(b"\0" * 100_000)
    alive = tmp / f"export-{os.getppid()}-live0001"  # a live process's work is not ours to remove
    alive.mkdir()
    with Engine.open(indexed):
        pass
    assert not stale.exists() and alive.exists()


def test_exports_and_imports_work_inside_the_data_dir(indexed, tmp_path):
    archive = tmp_path / "x.tar.gz"
    pd(indexed.data_dir, "export-db", str(archive))
    with tarfile.open(archive) as tar:
        assert "manifest.json" in tar.getnames()
    assert not any((indexed.data_dir / datadir.TMP_DIR).iterdir())
    assert not list(tmp_path.glob("*.part"))


def test_data_dir_is_private_and_loose_modes_are_fixed(settings, tmp_path):
    with Engine.open(settings):
        pass
    assert settings.data_dir.stat().st_mode & 0o777 == 0o700
    assert settings.ledger_path.stat().st_mode & 0o777 == 0o600
    os.chmod(settings.data_dir, 0o755)
    os.chmod(settings.ledger_path, 0o644)
    r = pd(settings.data_dir, "doctor", "--json", check=False)
    assert "others can read your index" in r.stdout
    with Engine.open(settings):
        assert settings.ledger_path.with_name("ledger.sqlite-wal").stat().st_mode & 0o777 == 0o600
    assert settings.data_dir.stat().st_mode & 0o777 == 0o700
    assert settings.ledger_path.stat().st_mode & 0o777 == 0o600
