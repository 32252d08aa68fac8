"""Screenshots for the README, taken from the real app on a real index of a library of ../shared/data
photos under a temporary $HOME (so the app shows ~/Pictures/Library/…), under Xvfb when xvfb-run works,
else the offscreen platform."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageStat

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "screenshots"
# The README's images are refreshed only on request (a test run must not dirty the working tree):
#   PIXEL_DETECTIVE_UPDATE_SCREENSHOTS=1 scripts/test.sh tests/desktop/test_screenshots.py
UPDATE = os.environ.get("PIXEL_DETECTIVE_UPDATE_SCREENSHOTS") == "1"
SHOTS = ("welcome.png", "search.png", "loupe.png", "indexing.png", "settings.png")


@pytest.mark.shared_data
def test_screenshots(settings, shared_data, tmp_path):
    out = DOCS if UPDATE else tmp_path / "screenshots"
    home = tmp_path / "home"
    home.mkdir()
    args = [
        sys.executable, "-m", "tests.desktop.screenshots_driver", "--shared", str(shared_data),
        "--data-dir", str(settings.data_dir), "--model", settings.model, "--out", str(out),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["HOME"] = str(home)  # the library is ~/Pictures/Library: no temporary path in the pictures
    env["PIXEL_DETECTIVE_THEME"] = "dark"
    env["PIXEL_DETECTIVE_CONFIG"] = str(home / ".config" / "pixel-detective" / "settings.toml")
    run = first = None
    if shutil.which("xvfb-run"):
        run = subprocess.run(
            ["xvfb-run", "-a", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400
        )
    if run is None or run.returncode != 0:
        first = run
        # Offscreen, on a fresh index (a half-done first try would leave nothing new to index and chart).
        fresh = tmp_path / "pd-data-offscreen"
        shutil.copytree(settings.data_dir / "models", fresh / "models")
        args[args.index("--data-dir") + 1] = str(fresh)
        shutil.rmtree(home / "Pictures", ignore_errors=True)
        run = subprocess.run(
            args,
            cwd=ROOT,
            env={**env, "QT_QPA_PLATFORM": "offscreen"},
            capture_output=True,
            text=True,
            timeout=400,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    if first is not None:
        (tmp_path / "xvfb-run.log").write_text(first.stdout + first.stderr)  # why Xvfb was not used
    for name in SHOTS:
        img = Image.open(out / name).convert("L")
        assert img.width > 500 and img.height > 300
        assert ImageStat.Stat(img).stddev[0] > 10  # not blank
