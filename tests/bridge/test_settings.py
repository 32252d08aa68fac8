from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.settings import Settings, load_settings


def test_file_then_env_then_flags(tmp_path, monkeypatch):
    cfg = tmp_path / "settings.toml"
    cfg.write_text('model = "RN50/openai"\nworkers = 3\nbatch_size = 16\nexclude = ["Exports/"]\n')
    monkeypatch.setenv("PIXEL_DETECTIVE_CONFIG", str(cfg))
    monkeypatch.setenv("PIXEL_DETECTIVE_WORKERS", "5")
    monkeypatch.setenv("PIXEL_DETECTIVE_DATA_DIR", str(tmp_path / "d"))
    s = load_settings(batch_size=64)
    assert (s.model, s.workers, s.batch_size, s.exclude) == ("RN50/openai", 5, 64, ["Exports/"])
    assert s.ledger_path == tmp_path / "d" / "ledger.sqlite"


def test_invalid_values_are_refused_with_the_field_name(monkeypatch):
    monkeypatch.setenv("PIXEL_DETECTIVE_PRECISION", "fp8")
    with pytest.raises(ValidationError, match="precision"):
        Settings()


def test_data_dir_defaults_per_user(monkeypatch):
    monkeypatch.delenv("PIXEL_DETECTIVE_DATA_DIR", raising=False)
    assert "pixel-detective" in str(Settings().data_dir)
