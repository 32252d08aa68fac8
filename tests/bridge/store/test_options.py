"""The qdrant_* settings reach the remote store, and the data dir's store.json (written by `store migrate`)
decides which store an index uses: over the settings file, under the environment and explicit overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.settings import DATA_DIR_STORE_FILE, Settings, load_settings
from bridge.store.options import ServerOptions, server_options


def test_settings_map_onto_server_options():
    s = Settings(
        qdrant_timeout_s=7,
        qdrant_parallel=2,
        qdrant_retries=1,
        qdrant_backoff_s=0.25,
        qdrant_shard_number=6,
        qdrant_replication_factor=2,
        qdrant_write_consistency_factor=1,
    )
    assert server_options(s) == ServerOptions(
        timeout_s=7,
        parallel=2,
        retries=1,
        backoff_s=0.25,
        shard_number=6,
        replication_factor=2,
        write_consistency_factor=1,
    )
    assert server_options(Settings()) == ServerOptions()  # the same defaults in both places


def test_invalid_options_are_refused():
    with pytest.raises(ValueError):
        ServerOptions(parallel=0)


def record(data_dir: Path, **values: object) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / DATA_DIR_STORE_FILE).write_text(json.dumps(values))


def test_store_json_wins_over_the_settings_file(data_dir: Path, monkeypatch):
    record(data_dir, store="qdrant", qdrant_url="http://q:6333")
    s = load_settings()
    assert (s.store, s.qdrant_url) == ("qdrant", "http://q:6333")
    assert Settings(data_dir=data_dir).with_data_dir_store().store == "qdrant"  # what Engine.open does


def test_environment_and_explicit_overrides_win_over_store_json(data_dir: Path, monkeypatch):
    record(data_dir, store="qdrant", qdrant_url="http://q:6333")
    monkeypatch.setenv("PIXEL_DETECTIVE_STORE", "edge")
    s = load_settings()
    assert (s.store, s.qdrant_url) == ("edge", "http://q:6333")
    monkeypatch.delenv("PIXEL_DETECTIVE_STORE")
    assert load_settings(qdrant_url="http://other:6333").qdrant_url == "http://other:6333"


def test_no_store_json_changes_nothing(data_dir: Path):
    s = Settings(data_dir=data_dir)
    assert s.with_data_dir_store() is s


def test_a_damaged_store_json_is_an_error_naming_it(data_dir: Path):
    data_dir.mkdir(parents=True)
    (data_dir / DATA_DIR_STORE_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="store.json is damaged"):
        Settings(data_dir=data_dir).with_data_dir_store()


def test_a_damaged_store_json_is_one_line_from_the_cli(data_dir: Path):
    import subprocess
    import sys

    data_dir.mkdir(parents=True)
    (data_dir / DATA_DIR_STORE_FILE).write_text("{not json")
    out = subprocess.run(
        [sys.executable, "-m", "bridge", "status"], capture_output=True, text=True, timeout=120
    )
    text = out.stdout + out.stderr
    assert out.returncode == 1 and "store.json is damaged" in text
    assert "Traceback" not in text and "crash log" not in text
