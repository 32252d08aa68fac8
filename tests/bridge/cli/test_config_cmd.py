"""`config init|validate|show` through the real CLI (`python -m bridge`), on a temp settings file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bridge.cli.config_cmd import PROFILES
from bridge.settings import Settings


def pd(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("PIXEL_DETECTIVE_")}
    full.update(PIXEL_DETECTIVE_CONFIG=str(config), **env)
    return subprocess.run([sys.executable, "-m", "bridge", *args], env=full, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_init_writes_a_valid_file_per_profile_and_never_overwrites(tmp_path, profile):
    config = tmp_path / "settings.toml"
    r = pd(config, "config", "init", "--profile", profile)
    assert r.returncode == 0, r.stderr
    data = tomllib.loads(config.read_text())
    assert data == PROFILES[profile][1]
    assert {"workers", "batch_size", "device", "http_listen"} <= data.keys()
    assert config.stat().st_mode & 0o077 == 0
    assert pd(config, "config", "validate").returncode == 0
    config.write_text("workers = 7\n")
    again = pd(config, "config", "init", "--profile", profile)
    assert again.returncode == 1 and "--force" in again.stderr
    assert config.read_text() == "workers = 7\n"  # untouched
    assert pd(config, "config", "init", "--profile", profile, "--force").returncode == 0
    assert tomllib.loads(config.read_text()) == PROFILES[profile][1]


def test_profiles_differ_where_they_should():
    assert PROFILES["server"][1]["store"] == "qdrant" and PROFILES["laptop"][1].get("store") is None
    assert PROFILES["cluster"][1]["cluster"] == "auto"
    assert PROFILES["laptop"][1]["http_listen"].startswith("127.")
    assert PROFILES["server"][1]["http_listen"].startswith("0.0.0.0")


def test_unknown_profile_is_a_usage_error(tmp_path):
    r = pd(tmp_path / "s.toml", "config", "init", "--profile", "mainframe")
    assert r.returncode == 2 and "laptop" in r.stderr
    assert not (tmp_path / "s.toml").exists()


def test_validate_reports_each_bad_field_on_one_line(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text(
        'workers = -1\nprecision = "fp8"\nbatch_sise = 64\ndecode_size = 448\n'
        '[[webhooks]]\nurl = "ftp://nope"\nevents = ["run_finished", "teatime"]\n'
    )
    r = pd(config, "config", "validate")
    assert r.returncode == 1
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    joined = "\n".join(lines)
    assert any(ln.startswith(f"{config}: workers:") and "-1" in ln for ln in lines), joined
    assert any(ln.startswith(f"{config}: precision:") and "fp8" in ln for ln in lines), joined
    assert any(ln.startswith(f"{config}: batch_sise: unknown setting") for ln in lines), joined
    assert any(ln.startswith(f"{config}: webhooks.0.url:") for ln in lines), joined
    assert any(ln.startswith(f"{config}: webhooks.0.events.1:") for ln in lines), joined
    assert not any("decode_size" in ln for ln in lines)
    assert len(lines) == 5, joined


def test_validate_a_broken_toml_and_a_missing_file(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("workers = = 2\n")
    r = pd(config, "config", "validate")
    assert r.returncode == 1 and "not valid TOML" in r.stderr
    r = pd(tmp_path / "absent.toml", "config", "validate")
    assert r.returncode == 1 and "no such settings file" in r.stderr


def test_show_says_where_each_value_came_from(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text('workers = 3\nbatch_size = 16\nremote_api_key = "pdk_secret"\n')
    data = tmp_path / "data"
    r = pd(config, "--data-dir", str(data), "config", "show", "--json", PIXEL_DETECTIVE_BATCH_SIZE="32")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    rows = shown["settings"]
    assert shown["settings_file"] == str(config)
    assert rows["workers"] == {"value": 3, "source": "file"}
    assert rows["batch_size"] == {"value": 32, "source": "env"}  # the environment beats the file
    assert rows["data_dir"] == {"value": str(data), "source": "flag"}
    assert rows["decode_size"] == {"value": Settings.model_fields["decode_size"].default, "source": "default"}
    assert rows["remote_api_key"]["value"] == "***" and "pdk_secret" not in r.stdout
    assert set(rows) == set(Settings.model_fields)
    env_dir = pd(config, "config", "show", "--json", PIXEL_DETECTIVE_DATA_DIR=str(data))
    assert json.loads(env_dir.stdout)["settings"]["data_dir"]["source"] == "env"
    text = pd(config, "config", "show")
    assert any(ln.split()[:2] == ["workers", "file"] for ln in text.stdout.splitlines()), text.stdout
