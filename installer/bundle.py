"""What goes into the frozen app: the one list the PyInstaller spec (installer/pixel-detective.spec) reads.

Kept apart from the spec so a test can check it without PyInstaller's minutes-long analysis: every data file it
names exists, the Lightroom plug-in is in it, every hidden import resolves, and the CPU build excludes CUDA.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "lrplugin" / "PixelDetective.lrplugin"
VARIANTS = ("cpu", "gpu")
MAC_ARCHS = ("arm64", "x86_64", "universal2")

# Modules imported by name at run time (lazy imports inside functions are found by the analysis; these are not):
# uvicorn picks its loop/protocol implementations by string, open_clip/torchvision load model code lazily,
# pyexiv2 loads its C++ library through ctypes next to its own __init__, Qt's image-format plugins.
OWN_PACKAGES = ("bridge", "catalog", "desktop")  # all of ours: commands import their modules inside functions
HIDDEN_PACKAGES = ("uvicorn", "qdrant_edge")
HIDDEN_MODULES = (
    "pyexiv2.lib.exiv2api",
    "rawpy._rawpy",
    "pillow_heif",
    "zeroconf._utils.ipaddress",
    "PySide6.QtNetwork",
    "multipart",
    "python_multipart",
)
# Packages whose data files (not Python) must travel: open_clip's model configs and tokenizer vocabulary, certifi's
# CA bundle (also covered by its hook), the engine's vocabulary and the dashboard's static files.
DATA_PACKAGES = ("open_clip", "certifi", "bridge")
# Packages whose shared libraries sit next to their Python files and are opened by path (torchvision 0.29: its
# ops in _C_stable.so, loaded with torch.ops.load_library, which the analysis cannot see).
DYLIB_PACKAGES = {
    "pyexiv2": None, "qdrant_edge": None, "rawpy": None,  # None: PyInstaller's default patterns (lib*.so*, ...)
    "torchvision": ["_C*.so", "_C*.pyd", "_C*.dylib", "image*.so", "image*.pyd", "image*.dylib"],
}
# Never in the app: the cluster extra, test tools, and what no code path imports.
EXCLUDES = (
    "ray", "fsspec", "s3fs", "gcsfs", "boto3", "botocore", "moto", "pytest", "hypothesis", "mypy", "ruff",
    "lupa", "selenium", "tkinter", "IPython", "matplotlib", "pandas", "tensorboard", "torch.utils.tensorboard",
    "importlinter", "grimp",  # (not sympy.plotting: sympy imports it at start; torch needs sympy)
)
# The CPU build leaves out everything CUDA: the nvidia-* and cuda-* packages, triton (GPU kernels) and torch's own
# CUDA libraries (a CUDA torch cannot import without them, so the CPU build needs the CPU torch wheel:
# installer/make_cpu_env.sh on Linux; on macOS and Windows PyPI's torch is already CPU-only).
CUDA_EXCLUDES = ("triton", "nvidia", "cuda", "cuda_bindings", "cuda_pathfinder", "torch.cuda._gpu_trace")
CUDA_BINARY = re.compile(
    r"(^|[/\\])(nvidia|cuda_bindings|triton)[/\\]"
    r"|lib(torch_cuda|c10_cuda|cudart|cublas|cublasLt|cudnn|cufft|curand|cusolver|cusparse|cusparseLt|nccl|"
    r"nvrtc|nvjitlink|nvToolsExt|cupti|cufile|nvshmem|torch_nvshmem|caffe2_nvrtc)[^/\\]*$"
    r"|(cudart|cublas|cudnn|cufft|curand|cusolver|cusparse|nvrtc|nvJitLink|c10_cuda|torch_cuda)[^/\\]*\.dll$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Build:
    """One build: the variant, the OS and (macOS) the target architecture, and what the spec feeds PyInstaller."""

    variant: str
    system: str
    target_arch: str | None
    datas: list[tuple[str, str]] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        arch = self.target_arch or platform.machine().lower()
        return f"pixel-detective-{self.system.lower()}-{arch}-{self.variant}"


def plugin_datas() -> list[tuple[str, str]]:
    """Every file of the Lightroom plug-in, to lrplugin/PixelDetective.lrplugin/... inside the app."""
    return [
        (str(p), str(Path("lrplugin") / PLUGIN.name / p.parent.relative_to(PLUGIN)))
        for p in sorted(PLUGIN.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    ]


def bridge_datas() -> list[tuple[str, str]]:
    """The engine's own data: analyses/data/*.toml and api/static/* (pyproject's package-data)."""
    pkg = ROOT / "bridge"
    files = [*sorted((pkg / "analyses" / "data").glob("*.toml")), *sorted((pkg / "api" / "static").iterdir())]
    return [(str(p), str(p.parent.relative_to(ROOT))) for p in files if p.is_file()]


def own_modules() -> list[str]:
    """Every module of our own packages, listed from the source tree (no import: fast, and nothing runs)."""
    names = []
    for pkg in OWN_PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = f.relative_to(ROOT).with_suffix("").parts
            if "__pycache__" in parts or parts[-1] == "__main__":
                continue
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def check_torch(variant: str) -> str | None:
    """Why this environment cannot make the `variant` build, or None. Reads torch's version without importing it."""
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return "torch is not installed in this environment"
    version_py = Path(spec.origin).parent / "version.py"
    text = version_py.read_text() if version_py.is_file() else ""
    m = re.search(r"^cuda\s*(?::\s*[^=]+)?=\s*(.+)$", text, re.MULTILINE)
    cuda = m.group(1).strip() if m else "None"
    if variant == "cpu" and cuda not in ("None", "''", '""'):
        return (
            f"the CPU build needs torch's CPU wheel, but this environment's torch is a CUDA build (cuda {cuda}): "
            "run installer/make_cpu_env.sh and build with build/venv-cpu/bin/python"
        )
    return None


def build(variant: str | None = None, target_arch: str | None = None, system: str | None = None) -> Build:
    variant = (variant or os.environ.get("PD_VARIANT") or "cpu").lower()
    if variant not in VARIANTS:
        raise SystemExit(f"PD_VARIANT is one of {', '.join(VARIANTS)} (got {variant!r})")
    system = system or platform.system()
    target_arch = target_arch or os.environ.get("PD_TARGET_ARCH") or None
    if target_arch and system != "Darwin":
        raise SystemExit("PD_TARGET_ARCH is for macOS builds only (arm64, x86_64 or universal2)")
    if target_arch and target_arch not in MAC_ARCHS:
        raise SystemExit(f"PD_TARGET_ARCH is one of {', '.join(MAC_ARCHS)} (got {target_arch!r})")
    excludes = list(EXCLUDES) + (list(CUDA_EXCLUDES) if variant == "cpu" else [])
    return Build(
        variant=variant,
        system=system,
        target_arch=target_arch,
        datas=plugin_datas() + bridge_datas(),
        hidden=own_modules() + list(HIDDEN_MODULES),
        excludes=excludes,
    )


def is_cuda_binary(dest_name: str) -> bool:
    return bool(CUDA_BINARY.search(dest_name))


def missing_hidden(names: list[str]) -> list[str]:
    """Hidden imports that do not resolve in this environment (a wrong name would be silently skipped)."""
    out = []
    for name in names:
        try:
            if importlib.util.find_spec(name) is None:
                out.append(name)
        except (ImportError, ValueError):
            out.append(name)
    return out


if __name__ == "__main__":
    b = build(*sys.argv[1:2])
    print(b.name, len(b.datas), "data files;", "missing hidden imports:", missing_hidden(b.hidden) or "none")
