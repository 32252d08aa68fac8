"""Quality-scores throughput on one core, side by side in one run (ratios, not absolute targets).

  .venv/bin/python bench/bench_quality.py [--repeat 10] [--json]

Bitmaps: the real photos in ../shared/data decoded by the pipeline's own decoder
(`bridge.indexing.decode.decode_image(path, target=448)`: shortest side in [448, 896), what the decode workers
hand to `score()`), and the same photos resized to exactly 448 px on the shortest side. Generated
textured images when ../shared is absent. Pinned to one core: OMP/BLAS/OpenCV threads = 1 before numpy
and cv2 load, so images/s per core = 1 / CPU seconds per image. Prints the rate per bitmap set, a
per-stage breakdown, and the ratio to the target of 50 images/s per core. Never asserts on time.

Then the duplicate signature (`bridge.analyses.dupsig.signature`, also computed in the decode worker) on the
same two bitmap sets, side by side with the imagehash computation it replaced (signature d1: imagehash
phash + dhash, PIL LANCZOS resizes of the whole bitmap, plus the OpenCV thumbnail): median wall ms per call,
CPU ms per image, and the speed-up as a ratio.

Then the batched torch path (`bridge.analyses.quality_batch.scores`, for bitmaps already on a GPU) side by
side with `quality.score` on the same bitmap sets plus one set of a single shape (so batches fill): wall and
CPU ms per image for the numpy path and for torch on the CPU at batch sizes 2 and 16 (one thread), and on
CUDA when a GPU is present; the largest score difference seen, against the documented tolerances.
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
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = (ROOT / ".." / "shared" / "data").resolve()
TARGET = 50.0  # images/s per core

from bridge.analyses import dupsig, quality  # noqa: E402


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


def dupsig_imagehash(pixels: np.ndarray) -> tuple[int, int, bytes]:
    """The d1 signature's computation, the reference: imagehash phash and dhash of the grayscale (each a
    PIL LANCZOS resize of the whole bitmap; phash through scipy's DCT), and the INTER_AREA thumbnail."""
    import imagehash
    from PIL import Image

    gray = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
    img = Image.fromarray(gray, "L")
    th, tw = dupsig.thumb_size(*gray.shape)
    thumb = cv2.resize(gray, (tw, th), interpolation=cv2.INTER_AREA) if (th, tw) != gray.shape else gray
    return (
        dupsig.pack_bits(imagehash.phash(img).hash),
        dupsig.pack_bits(imagehash.dhash(img).hash),
        thumb.tobytes(),
    )


def per_call(fn: Callable[[np.ndarray], object], images: list[np.ndarray], repeat: int) -> dict[str, float]:
    """Median wall ms of one call (robust to a busy machine) and CPU ms per image over all calls."""
    for img in images[:3]:
        fn(img)
    times = []
    c = time.process_time()
    for _ in range(repeat):
        for img in images:
            t = time.perf_counter()
            fn(img)
            times.append(time.perf_counter() - t)
    return {
        "median_ms": 1000 * float(np.median(times)),
        "cpu_ms_per_image": 1000 * (time.process_time() - c) / len(times),
    }


def dupsig_report(sets: dict[str, list[np.ndarray]], repeat: int) -> dict[str, dict[str, Any]]:
    """Per bitmap set: the current signature and the imagehash reference, and the speed-up."""
    out: dict[str, dict[str, Any]] = {}
    for name, imgs in sets.items():
        new = per_call(dupsig.signature, imgs, repeat)
        ref = per_call(dupsig_imagehash, imgs, repeat)
        out[name] = {
            f"signature {dupsig.DUPSIG_VERSION}": new,
            "imagehash reference (d1)": ref,
            "speedup_cpu": ref["cpu_ms_per_image"] / new["cpu_ms_per_image"],
            "speedup_median": ref["median_ms"] / new["median_ms"],
        }
    return out


def batched_report(sets: dict[str, list[np.ndarray]], repeat: int) -> dict[str, dict[str, object]]:
    """Per bitmap set: ms per image of quality.score and of quality_batch.scores (CPU batch 2 and 16, CUDA
    when present), and the largest difference per score between the two paths."""
    import torch

    torch.set_num_threads(1)
    first = sets[next(iter(sets))]
    one_shape = {"one shape, 672 x 448 (batches fill)": [resized(img, 672, 448) for img in first]}
    return {name: batched_row(imgs, repeat) for name, imgs in {**sets, **one_shape}.items()}


def batched_row(imgs: list[np.ndarray], repeat: int) -> dict[str, object]:
    import torch

    from bridge.analyses import quality_batch

    tensors = [torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).contiguous() for img in imgs]
    runs: dict[str, Callable[[], object]] = {
        "numpy quality.score": lambda: [quality.score(img) for img in imgs],
        "torch CPU, batch 2": lambda: quality_batch.scores(tensors, batch_size=2),
        "torch CPU, batch 16": lambda: quality_batch.scores(tensors, batch_size=16),
    }
    if torch.cuda.is_available():
        on_gpu = [t.cuda() for t in tensors]
        runs["torch CUDA, batch 16"] = lambda: quality_batch.scores(on_gpu, batch_size=16)
    row: dict[str, object] = {name: timed(fn, len(imgs), repeat) for name, fn in runs.items()}
    ref, got = [quality.score(img) for img in imgs], quality_batch.scores(tensors)
    row["max_abs_difference"] = {
        f: max(abs(getattr(a, f) - getattr(b, f)) for a, b in zip(ref, got, strict=True))
        for f in ("sharpness", "noise", "motion_blur", "overall", "exposure", "brightness")
    }
    return row


def resized(img: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def timed(fn: Callable[[], object], n: int, repeat: int) -> dict[str, float]:
    """Wall and CPU ms per image over `repeat` calls of fn (each scoring n bitmaps), after one warm-up call."""
    fn()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        fn()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"ms_per_image": 1000 * wall / (repeat * n), "cpu_ms_per_image": 1000 * cpu / (repeat * n)}


def print_batched(report: dict[str, dict[str, object]]) -> None:
    from bridge.analyses.quality_batch import DETAIL_TOLERANCE, TONE_TOLERANCE

    print("\nquality_batch.scores (torch) vs quality.score (numpy/OpenCV), one CPU thread")
    print(f"{'bitmaps / path':56s} {'ms/img':>8s} {'CPU ms':>8s}")
    for name, row in report.items():
        print(name)
        for path, r in row.items():
            if path != "max_abs_difference" and isinstance(r, dict):
                print(f"  {path:54s} {r['ms_per_image']:8.2f} {r['cpu_ms_per_image']:8.2f}")
        diff = row["max_abs_difference"]
        assert isinstance(diff, dict)
        print("  max |difference|: " + ", ".join(f"{k} {v:.1e}" for k, v in diff.items()))
    print(f"(documented tolerances: tones {TONE_TOLERANCE:.0e}, detail scores {DETAIL_TOLERANCE:.0e})")


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
    table = {k: {**v, "ratio_to_target": v["images_per_s_per_core"] / TARGET} for k, v in results.items()}
    dup = dupsig_report(sets, args.repeat)
    report = {
        "source": source,
        "bitmaps": len(decoded),
        "sizes": sorted({f"{img.shape[1]}x{img.shape[0]}" for img in decoded}),
        "threads": {"cv2": cv2.getNumThreads(), "OMP_NUM_THREADS": os.environ["OMP_NUM_THREADS"]},
        "target_images_per_s_per_core": TARGET,
        "results": table,
        "stage_cpu_ms_per_image": breakdown,
        "dupsig": dup,
    }
    report["torch_batched"] = batched = batched_report(sets, args.repeat)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"quality.score() on one core: {len(decoded)} bitmaps from {source}, x{args.repeat} passes")
    print(
        f"cv2 threads = {cv2.getNumThreads()}, OMP_NUM_THREADS = 1; target {TARGET:.0f} images/s per core\n"
    )
    print(f"{'bitmaps':40s} {'images':>7s} {'ms/img':>8s} {'img/s/core':>11s} {'vs target':>10s}")
    for name, r in table.items():
        print(
            f"{name:40s} {r['images']:7d} {r['ms_per_image']:8.2f} {r['images_per_s_per_core']:11.1f} "
            f"{r['ratio_to_target']:9.2f}x"
        )
    print("\nstage (pipeline bitmaps)          CPU ms/img")
    for name, ms in breakdown.items():
        print(f"  {name:32s} {ms:8.2f}")
    print(f"  {'sum':32s} {sum(breakdown.values()):8.2f}")
    print(f"\nduplicate signature {dupsig.DUPSIG_VERSION} vs the imagehash reference (d1), one core")
    print(f"{'bitmaps':40s} {'new ms':>7s} {'CPU ms':>7s} {'ref ms':>7s} {'CPU ms':>7s} {'speed-up':>9s}")
    for name, sig in dup.items():
        new, ref = sig[f"signature {dupsig.DUPSIG_VERSION}"], sig["imagehash reference (d1)"]
        print(
            f"{name:40s} {new['median_ms']:7.2f} {new['cpu_ms_per_image']:7.2f} {ref['median_ms']:7.2f} "
            f"{ref['cpu_ms_per_image']:7.2f} {sig['speedup_cpu']:8.1f}x"
        )
    print("(ms: median wall time of one call; CPU ms: process CPU time per image; speed-up on CPU time)")
    print_batched(batched)


if __name__ == "__main__":
    main()
