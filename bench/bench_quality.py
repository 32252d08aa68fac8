"""Quality-scores throughput on one core, side by side in one run (ratios, not absolute targets).

  .venv/bin/python bench/bench_quality.py [--repeat 10] [--json]

Bitmaps: the real photos in ../shared/data decoded by the pipeline's own decoder
(`bridge.indexing.decode.decode_image(path, target=448)`: shortest side in [448, 896), what the decode workers
hand to `score()`), and the same photos resized to exactly 448 px on the shortest side. Generated
textured images when ../shared is absent. Pinned to one core: OMP/BLAS/OpenCV threads = 1 before numpy
and cv2 load, so images/s per core = 1 / CPU seconds per image. Prints the rate per bitmap set, a
per-stage breakdown, and the ratio to the target of 50 images/s per core. Never asserts on time.
"""

from __future__ import annotations

import os

# One core: set before numpy/cv2 import so their thread pools start at 1.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = (ROOT / ".." / "shared" / "data").resolve()
TARGET = 50.0  # images/s per core

from bridge.analyses.kinds import quality  # noqa: E402


def real_bitmaps() -> list[np.ndarray]:
    """Photos at least 448 px on the short side, decoded the way the pipeline decodes them."""
    from bridge.indexing.decode import DecodeError, decode_image

    out = []
    for folder, pattern in (("jpeg", "*.jpg"), ("png", "*.png"), ("tiff", "*.tif*"), ("webp", "*.webp")):
        for p in sorted((SHARED / folder).glob(pattern)):
            try:
                d = decode_image(p, target=448)
            except DecodeError:
                continue
            if min(d.pixels.shape[:2]) >= 448:
                out.append(d.pixels)
    return out


def generated_bitmaps(n: int = 16) -> list[np.ndarray]:
    from tests.photo_factory import textured_image

    return [np.asarray(textured_image(672, 448, seed=i)) for i in range(n)]


def at_448(images: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for img in images:
        h, w = img.shape[:2]
        f = 448 / min(h, w)
        out.append(cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA))
    return out


def rate(fn: Callable[[np.ndarray], object], images: list[np.ndarray], repeat: int) -> dict[str, float]:
    for img in images[:3]:
        fn(img)  # warm-up: first-call allocations and OpenCV dispatch
    t, c = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        for img in images:
            fn(img)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    n = repeat * len(images)
    return {
        "images": n,
        "ms_per_image": 1000 * wall / n,
        "images_per_s_per_core": n / cpu if cpu else float("inf"),
    }


def stages(images: list[np.ndarray], repeat: int) -> dict[str, float]:
    """CPU ms per image of each stage of score() (private helpers, same order and inputs)."""
    grays = []
    for img in images:
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        h, w = g.shape
        if min(h, w) > quality.ANALYSIS_SIDE:
            f = quality.ANALYSIS_SIDE / min(h, w)
            g = cv2.resize(g, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        grays.append(g)
    floats = [g.astype(np.float32) for g in grays]
    halves = [cv2.pyrDown(g) for g in floats]
    sigmas = [quality._noise_sigma(g) for g in floats]

    def gray_resize(i: int) -> None:
        g = cv2.cvtColor(images[i], cv2.COLOR_RGB2GRAY)
        h, w = g.shape
        if min(h, w) > quality.ANALYSIS_SIDE:
            f = quality.ANALYSIS_SIDE / min(h, w)
            cv2.resize(g, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)

    parts: dict[str, Callable[[int], object]] = {
        "luma + downscale": gray_resize,
        "histogram + exposure": lambda i: quality._exposure(
            cv2.calcHist([grays[i]], [0], None, [256], [0, 256]).ravel().astype(np.float64)
        ),
        "noise (Immerkaer)": lambda i: quality._noise_sigma(floats[i]),
        "sharpness (2-scale tiles)": lambda i: quality._sharpness(
            floats[i], cv2.pyrDown(floats[i]), sigmas[i]
        ),
        "motion (band-pass tensor)": lambda i: quality._motion(halves[i]),
    }
    out = {}
    for name, fn in parts.items():
        c = time.process_time()
        for _ in range(repeat):
            for i in range(len(images)):
                fn(i)
        out[name] = 1000 * (time.process_time() - c) / (repeat * len(images))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=10, help="passes over the bitmaps per measurement")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    cv2.setNumThreads(1)

    decoded = real_bitmaps() if SHARED.is_dir() else []
    source = "../shared/data via decode_image(target=448)" if decoded else "generated textured 672x448"
    if not decoded:
        decoded = generated_bitmaps()
    sets = {"pipeline bitmaps (short side 448-895)": decoded, "resized to 448 short side": at_448(decoded)}

    results = {name: rate(quality.score, imgs, args.repeat) for name, imgs in sets.items()}
    breakdown = stages(decoded, args.repeat)
    report = {
        "source": source,
        "bitmaps": len(decoded),
        "sizes": sorted({f"{img.shape[1]}x{img.shape[0]}" for img in decoded}),
        "threads": {"cv2": cv2.getNumThreads(), "OMP_NUM_THREADS": os.environ["OMP_NUM_THREADS"]},
        "target_images_per_s_per_core": TARGET,
        "results": {
            k: {**v, "ratio_to_target": v["images_per_s_per_core"] / TARGET} for k, v in results.items()
        },
        "stage_cpu_ms_per_image": breakdown,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"quality.score() on one core: {len(decoded)} bitmaps from {source}, x{args.repeat} passes")
    print(
        f"cv2 threads = {cv2.getNumThreads()}, OMP_NUM_THREADS = 1; target {TARGET:.0f} images/s per core\n"
    )
    print(f"{'bitmaps':40s} {'images':>7s} {'ms/img':>8s} {'img/s/core':>11s} {'vs target':>10s}")
    for name, r in report["results"].items():
        print(
            f"{name:40s} {r['images']:7d} {r['ms_per_image']:8.2f} {r['images_per_s_per_core']:11.1f} "
            f"{r['ratio_to_target']:9.2f}x"
        )
    print("\nstage (pipeline bitmaps)          CPU ms/img")
    for name, ms in breakdown.items():
        print(f"  {name:32s} {ms:8.2f}")
    print(f"  {'sum':32s} {sum(breakdown.values()):8.2f}")


if __name__ == "__main__":
    main()
