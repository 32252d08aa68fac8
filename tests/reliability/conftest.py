from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bridge.conftest import settings, tiny_models_dir  # noqa: F401  (shared fixtures)


@pytest.fixture
def cli(data_dir: Path):
    """Run the real CLI in a subprocess against the test's data dir."""

    def _run(*args: str, wait: bool = True, timeout: float = 300, **kw):
        env = {**os.environ, "PIXEL_DETECTIVE_DATA_DIR": str(data_dir)}
        cmd = [sys.executable, "-m", "bridge", *args]
        if not wait:
            return subprocess.Popen(
                cmd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
                **kw,
            )
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, **kw)

    return _run
