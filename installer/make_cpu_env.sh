#!/usr/bin/env bash
# Linux: create the CPU build environment build/venv-cpu (torch's CPU wheel, no nvidia-*/cuda-*/triton packages).
# PyPI's Linux torch wheel is the CUDA one (it needs ~3 GB of nvidia libraries at import), so the CPU build needs
# the CPU wheel from PyTorch's own index. macOS and Windows need none of this: their PyPI torch is CPU-only
# (plus MPS on Apple silicon) and the project's .venv is already a CPU environment.
#   installer/make_cpu_env.sh
#   PD_TORCH_CPU="/path/torch-X+cpu-....whl torchvision==Y" installer/make_cpu_env.sh   # a local CPU wheel instead
# Every other package is pinned to the versions installed in .venv (installer/runtime_requirements.py --cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
VENV=build/venv-cpu
[ -x .venv/bin/python ] || { echo "run scripts/setup.sh first: the pins are read from .venv" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
reqs="$(mktemp)"; trap 'rm -f "$reqs"' EXIT
.venv/bin/python installer/runtime_requirements.py --cpu > "$reqs"
pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
if [ -n "${PD_TORCH_CPU:-}" ]; then
  # shellcheck disable=SC2086
  "${pip[@]}" --no-deps $PD_TORCH_CPU
else
  "${pip[@]}" --no-deps --index-url https://download.pytorch.org/whl/cpu torch==2.14.1+cpu torchvision==0.29.1+cpu
fi
"${pip[@]}" --no-deps -r "$reqs"
"${pip[@]}" --no-deps -e .
"${pip[@]}" pyinstaller==6.22.3 pyinstaller-hooks-contrib==2026.10
# torchvision's compiled ops must match torch (a CUDA-built torchvision beside the CPU torch fails at import).
"$VENV/bin/python" -c 'import torch; assert torch.version.cuda is None, "torch in build/venv-cpu is a CUDA build"
import torchvision.ops; print("CPU build environment ready: torch", torch.__version__, "torchvision", torchvision.__version__)'
