"""Print the pinned runtime requirements of Pixel Detective (no extras), read from an installed environment.

    python installer/runtime_requirements.py [--cpu]

Walks the installed `pixel-detective` distribution's requirements (markers evaluated for this platform) and prints
`name==version` for each, one a line. With --cpu, the CUDA-only packages (nvidia-*, cuda-*, triton) and torch /
torchvision are left out: the CPU build environment installs the CPU torch wheel itself (installer/make_cpu_env.sh).
"""

from __future__ import annotations

import sys
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CUDA_ONLY = ("nvidia-", "cuda-", "triton")
TORCH = ("torch", "torchvision")


def closure(root: str = "pixel-detective") -> dict[str, str]:
    env = default_environment()
    seen: dict[str, str] = {}
    todo = [root]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
                todo.append(req.name)
    seen.pop(canonicalize_name(root), None)
    return seen


def main() -> None:
    cpu = "--cpu" in sys.argv[1:]
    for name, version in sorted(closure().items()):
        if cpu and (name.startswith(CUDA_ONLY) or name in TORCH):
            continue
        print(f"{name}=={version}")


if __name__ == "__main__":
    main()
