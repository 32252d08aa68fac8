"""The PyInstaller spec resolves under the real PyInstaller (PD_SPEC_CHECK: everything it would bundle, computed
by the spec itself, stopped before the minutes-long analysis), and what it bundles includes the Lightroom plug-in,
the engine's data files and the modules loaded by name. The full frozen build: test_frozen_build.py (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "installer" / "pixel-detective.spec"
sys.path.insert(0, str(ROOT / "installer"))
import bundle  # noqa: E402

pytest.importorskip("PyInstaller", reason="the installer extra (pip install -e .[installer])")


def resolve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "check.json"
    return subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "work"), str(SPEC)],
        env={**os.environ, "PD_SPEC_CHECK": str(out), **env}, capture_output=True, text=True, timeout=120,
    )


def variant_here() -> str:
    return "cpu" if bundle.check_torch("cpu") is None else "gpu"


def test_the_spec_resolves_and_bundles_the_plugin_data_and_dynamic_imports(tmp_path):
    r = resolve(tmp_path, PD_VARIANT=variant_here())
    assert r.returncode == 0, r.stderr
    got = json.loads((tmp_path / "check.json").read_text())
    datas = {(Path(src).name, dest) for src, dest in got["datas"]}
    sources = [Path(src) for src, _ in got["datas"]]
    assert all(p.is_file() for p in sources)

    plugin = ROOT / "lrplugin" / "PixelDetective.lrplugin"
    for f in plugin.rglob("*.lua"):
        dest = str(Path("lrplugin") / "PixelDetective.lrplugin" / f.parent.relative_to(plugin))
        assert (f.name, dest) in datas, f"{f.name} not bundled"
    assert ("Info.lua", str(Path("lrplugin") / "PixelDetective.lrplugin")) in datas
    assert ("vocabulary.toml", str(Path("bridge") / "analyses" / "data")) in datas
    for f in (ROOT / "bridge" / "api" / "static").iterdir():
        assert (f.name, str(Path("bridge") / "api" / "static")) in datas
    assert any(name == "cacert.pem" and dest.startswith("certifi") for name, dest in datas)
    assert any(dest.startswith("open_clip") and name.endswith(".json") for name, dest in datas)  # model configs
    assert any(dest.startswith("open_clip") and "bpe" in name for name, dest in datas)  # tokenizer vocabulary

    assert any("libexiv2" in Path(src).name for src, _ in got["binaries"])
    assert any(dest == "torchvision" for _, dest in got["binaries"])  # its ops, loaded by path (nms, ...)
    hidden = set(got["hidden"])
    for name in ("bridge.cli.app", "bridge.api.app", "desktop.app", "pyexiv2.lib.exiv2api", "qdrant_edge",
                 "uvicorn.loops.auto", "uvicorn.protocols.http.h11_impl", "uvicorn.lifespan.on"):
        assert name in hidden, name
    assert not [h for h in hidden if h.startswith(("tests", "bridge.__main__"))]
    assert {"ray", "pytest", "boto3"} <= set(got["excludes"])


def test_the_cpu_build_leaves_cuda_out_and_refuses_a_cuda_torch(tmp_path):
    cpu = bundle.build("cpu", system="Linux")
    gpu = bundle.build("gpu", system="Linux")
    assert {"triton", "nvidia"} <= set(cpu.excludes) and "triton" not in gpu.excludes
    for name in ("nvidia/cublas/lib/libcublas.so.13", "torch/lib/libtorch_cuda.so", "torch/lib/libc10_cuda.so",
                 "torch\\lib\\cudnn64_9.dll", "triton/backends/nvidia/lib/libcuda.so"):
        assert bundle.is_cuda_binary(name), name
    for name in ("torch/lib/libtorch_cpu.so", "torch/lib/libc10.so", "pyexiv2/lib/libexiv2.so", "libgomp.so.1"):
        assert not bundle.is_cuda_binary(name), name
    if bundle.check_torch("cpu") is not None:  # this environment's torch is a CUDA build
        r = resolve(tmp_path, PD_VARIANT="cpu")
        assert r.returncode != 0 and "CPU wheel" in r.stderr and "make_cpu_env.sh" in r.stderr
        assert "Traceback" not in r.stderr


def test_mac_architecture_is_checked_and_names_the_build():
    assert bundle.build("cpu", "arm64", system="Darwin").name.startswith("pixel-detective-darwin-arm64-cpu")
    assert bundle.build("gpu", "x86_64", system="Darwin").name == "pixel-detective-darwin-x86_64-gpu"
    with pytest.raises(SystemExit, match="macOS builds only"):
        bundle.build("cpu", "arm64", system="Linux")
    with pytest.raises(SystemExit, match="one of"):
        bundle.build("cpu", "ppc", system="Darwin")
    with pytest.raises(SystemExit, match="PD_VARIANT"):
        bundle.build("tpu", system="Linux")
