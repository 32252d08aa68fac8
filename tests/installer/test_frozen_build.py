"""R29: the frozen (PyInstaller) Linux build gives the same results as the source: `index` of a small corpus with
broken files (R7's named reasons), `search`, `failures`, and the plug-in bridge (`serve` with the plug-in
simulator: right token answered, wrong token refused, R25).

Slow: building takes minutes (set PD_FROZEN_APP=dist/<name> to test an existing build). It builds with this
environment's Python (PD_BUILD_PYTHON to use another, e.g. build/venv-cpu/bin/python), in the variant its torch allows.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.lightroom.files import token_path
from tests.bridge.conftest import make_photos, tiny_models_dir  # noqa: F401  (shared fixture)
from tests.bridge.lightroom.plugin_sim import PluginSim
from tests.model_factory import TINY_MODEL_ID

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.reliability, pytest.mark.timeout(3600)]
pytest.importorskip("PyInstaller", reason="the installer extra (pip install -e .[installer])")


@pytest.fixture(scope="module")
def frozen_app(tmp_path_factory) -> Path:
    given = os.environ.get("PD_FROZEN_APP")
    if given:
        return Path(given).resolve()
    # PD_BUILD_PYTHON=build/venv-cpu/bin/python builds the CPU variant (installer/make_cpu_env.sh); by default this
    # environment builds the variant its torch allows (Linux .venv: PyPI's CUDA torch, so the GPU build).
    python = os.environ.get("PD_BUILD_PYTHON") or sys.executable
    probe = subprocess.run(
        [python, "-c", "import torch; print('gpu' if torch.version.cuda else 'cpu')"],
        capture_output=True, text=True, timeout=300,
    )
    variant = probe.stdout.strip() or "gpu"
    out = tmp_path_factory.mktemp("frozen")
    r = subprocess.run(
        ["nice", "-n", "10", python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(out / "dist"), "--workpath", str(out / "work"), str(ROOT / "installer" / "pixel-detective.spec")],
        env={**os.environ, "PD_VARIANT": variant}, capture_output=True, text=True, timeout=3000, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    (app,) = (out / "dist").iterdir()
    return app


def run(cmd: list[str], data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PIXEL_DETECTIVE_DATA_DIR": str(data_dir), **env}
    return subprocess.run([*cmd, *args], env=full_env, capture_output=True, text=True, timeout=600)


def corpus(folder: Path) -> None:
    photos = make_photos(folder, 24)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a photo\n")
    whole = photos[0].read_bytes()
    (folder / "half.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "magic-only.jpg").write_bytes(b"\xff\xd8\xff\xe0")


def index_and_search(cmd: list[str], data_dir: Path, folder: Path, models: Path) -> dict:
    shutil.copytree(models, data_dir / "models")
    model = ["--model", TINY_MODEL_ID]
    r = run(cmd, data_dir, "index", "--folder", str(folder), *model, "--workers", "2", "--json")
    assert r.returncode == 0, r.stderr
    failures = run(cmd, data_dir, "failures", "--json")
    assert failures.returncode == 0, failures.stderr
    hits = run(cmd, data_dir, "search", "a red photo", *model, "-n", "10", "--json")
    assert hits.returncode == 0, hits.stderr
    where = run(cmd, data_dir, "search", "--where", "ext=jpg", "-n", "50", "--json")
    return {
        "failures": json.loads(failures.stdout),
        "search": json.loads(hits.stdout),
        "where": json.loads(where.stdout) if where.returncode == 0 else where.returncode,
        "stderr": r.stderr,
    }


def by_name(failures) -> dict[str, str]:
    items = failures["failures"] if isinstance(failures, dict) else failures
    return {Path(f["path"]).name: f["reason"] for f in items}


def ranked(result) -> list[tuple[str, float]]:
    items = result["results"] if isinstance(result, dict) else result
    return [(Path(h["path"]).name, float(h["score"])) for h in items]


def test_r29_frozen_index_search_and_failures_match_the_source(frozen_app, tmp_path, tiny_models_dir):  # noqa: F811
    folder = tmp_path / "photos"
    corpus(folder)
    frozen = index_and_search([str(frozen_app / "pixel-detective")], tmp_path / "frozen-data", folder, tiny_models_dir)
    source = index_and_search([sys.executable, "-m", "bridge"], tmp_path / "source-data", folder, tiny_models_dir)
    assert "Traceback" not in frozen["stderr"]
    assert by_name(frozen["failures"]) == by_name(source["failures"])
    assert set(by_name(frozen["failures"])) == {"empty.jpg", "notes.jpg", "half.jpg", "magic-only.jpg"}
    f_hits, s_hits = ranked(frozen["search"]), ranked(source["search"])
    assert len(f_hits) == len(s_hits) == 10
    # the same photos with the same scores (the CPU build may carry another torch patch release: tolerance)
    assert {n for n, _ in f_hits} == {n for n, _ in s_hits}
    s_scores = dict(s_hits)
    assert all(abs(score - s_scores[n]) < 1e-3 for n, score in f_hits)
    assert frozen["where"] == source["where"] or (isinstance(frozen["where"], int) and frozen["where"] == source["where"])


def test_r29_frozen_plugin_bridge_answers_the_plugin_and_refuses_a_wrong_token(frozen_app, tmp_path):
    data_dir, bridge_dir = tmp_path / "data", tmp_path / "bridge-dir"
    proc = subprocess.Popen(
        [str(frozen_app / "pixel-detective"), "serve"],
        env={**os.environ, "PIXEL_DETECTIVE_DATA_DIR": str(data_dir), "PIXEL_DETECTIVE_BRIDGE_DIR": str(bridge_dir)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not token_path(bridge_dir).exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        with PluginSim(bridge_dir, token="0" * 64) as impostor:  # R25: a wrong token never gets a session
            assert not impostor.wait_connected(5)
            assert not impostor.seen.auth_tokens and not impostor.seen.pushes
        with PluginSim(bridge_dir) as sim:
            assert sim.wait_connected(60)
            st = sim.request("status")
            assert st["type"] == "status.result" and st["body"]["indexed"] == 0
            time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Lightroom connected" in err and "Traceback" not in err
    assert not token_path(bridge_dir).exists()


def test_frozen_plugin_install_finds_the_bundled_plugin(frozen_app, tmp_path):
    bundled = frozen_app / "_internal" / "lrplugin" / "PixelDetective.lrplugin" / "Info.lua"
    assert bundled.is_file()
    (tmp_path / "Modules").mkdir()
    r = run([str(frozen_app / "pixel-detective")], tmp_path / "data", "plugin", "install", "--dest", str(tmp_path / "Modules"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "Modules" / "PixelDetective.lrplugin" / "Info.lua").read_bytes() == bundled.read_bytes()
