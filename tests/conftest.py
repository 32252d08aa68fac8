"""Shared fixtures: the real test photos in ../shared/data (skipped when absent) and generated ones."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (PROJECT_ROOT / ".." / "shared" / "data").resolve()

# Never touch the user's real config or data dirs from tests.
os.environ.setdefault("PIXEL_DETECTIVE_CONFIG", str(PROJECT_ROOT / "tests" / "no-such-settings.toml"))


def _need_shared() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}: real-photo tests need the shared test data")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Read-only real photos. Copy before writing: see `copy_shared`."""
    return _need_shared()


@pytest.fixture
def copy_shared(tmp_path: Path):
    """Copy files from ../shared/data into a temp dir (keeping relative paths) and return the new paths."""

    def _copy(*relative: str, dest: Path | None = None) -> list[Path]:
        root = _need_shared()
        out = []
        target_root = dest or (tmp_path / "photos")
        for rel in relative:
            src = root / rel
            dst = target_root / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)
            out.append(dst)
        return out

    return _copy


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh Pixel Detective data dir for this test, also exported for subprocesses."""
    d = tmp_path / "pd-data"
    monkeypatch.setenv("PIXEL_DETECTIVE_DATA_DIR", str(d))
    return d
