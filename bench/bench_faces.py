"""Faces + eyes per image on one CPU core (the faces stage of the decode workers), by part.

  .venv/bin/python bench/bench_faces.py [--repeat 1] [--cnn] [--json]

Bitmaps: every photo in ../shared/data decoded by the pipeline's own decoder (`decode_image(path, target=448)`,
what the decode workers hand the analysis), split into photos with faces and photos without. Pinned to one
core (OMP/BLAS/OpenCV threads = 1, dlib single-threaded), so images/s per core = 1 / CPU seconds per image.
Reports CPU ms per image of: detection alone (HOG; `--cnn` adds the MMOD CNN on the CPU), the whole
analysis without embeddings (detection + 5-point landmarks + face sharpness + eyes open), and the whole
analysis with the 128-d embedding (what indexing runs), plus the cost per face of landmarks + scores and of
the embedding. Never asserts on time.
"""

from __future__ import annotations

import os

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

from bridge.analyses import faces  # noqa: E402
from bridge.analyses.faces import FaceOptions  # noqa: E402


def bitmaps() -> list[tuple[str, np.ndarray]]:
    from bridge.indexing.decode import DecodeError, decode_image

    out = []
    for folder, pattern in (("jpeg", "*.jpg"), ("png", "*.png"), ("tiff", "*.tif*"), ("webp", "*.webp")):
        for p in sorted((SHARED / folder).rglob(pattern)):
            try:
                out.append((str(p.relative_to(SHARED)), decode_image(p, target=448).pixels))
            except DecodeError:
                continue
    return out


def cpu_ms(fn: Callable[[np.ndarray], object], imgs: list[np.ndarray], repeat: int) -> float:
    for img in imgs[:2]:
        fn(img)  # warm-up: model loading, first-call allocations
    c = time.process_time()
    for _ in range(repeat):
        for img in imgs:
            fn(img)
    return 1000 * (time.process_time() - c) / max(1, repeat * len(imgs))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cnn", action="store_true", help="also time the CNN detector on the CPU (~2-4 s/image)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not faces.available():
        sys.exit("the faces extra is not installed: pip install 'pixel-detective[faces]'")
    cv2.setNumThreads(1)
    named = bitmaps()
    counts = {n: len(faces.analyse(b, FaceOptions(embed=False)).faces) for n, b in named}
    with_faces = [b for n, b in named if counts[n]]
    without = [b for n, b in named if not counts[n]]
    n_faces = sum(counts.values())
    report: dict[str, object] = {
        "photos": len(named),
        "photos_with_faces": len(with_faces),
        "faces": n_faces,
        "mean_bitmap_px": int(np.mean([b.shape[0] * b.shape[1] for _, b in named])),
    }
    sets = {"all photos": [b for _, b in named], "photos with faces": with_faces, "photos without faces": without}
    rows: dict[str, dict[str, float]] = {}
    for name, imgs in sets.items():
        if not imgs:
            continue
        row = {
            "detect (HOG) ms": cpu_ms(lambda b: faces.detect(b), imgs, args.repeat),
            "faces + eyes, no embedding ms": cpu_ms(lambda b: faces.analyse(b, FaceOptions(embed=False)), imgs, args.repeat),
            "faces + eyes + embedding ms": cpu_ms(faces.analyse, imgs, args.repeat),
        }
        if args.cnn:
            row["detect (CNN, CPU) ms"] = cpu_ms(lambda b: faces.detect(b, FaceOptions(detector="cnn")), imgs, 1)
        row["images/s per core (faces + eyes + embedding)"] = 1000 / row["faces + eyes + embedding ms"]
        rows[name] = row
    if with_faces:
        per = rows["photos with faces"]
        k = n_faces / len(with_faces)  # faces per photo with faces
        report["landmarks + sharpness + eyes per face ms"] = (
            per["faces + eyes, no embedding ms"] - per["detect (HOG) ms"]
        ) / k
        report["embedding per face ms"] = (per["faces + eyes + embedding ms"] - per["faces + eyes, no embedding ms"]) / k
    report["sets"] = rows
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(
        f"{report['photos']} photos ({report['photos_with_faces']} with faces, {n_faces} faces), "
        f"mean bitmap {report['mean_bitmap_px'] / 1e6:.2f} MP; one core, CPU ms per image"
    )
    for name, row in rows.items():
        print(f"  {name}:")
        for k2, v in row.items():
            print(f"    {k2:<46} {v:8.1f}")
    for key in ("landmarks + sharpness + eyes per face ms", "embedding per face ms"):
        if key in report:
            print(f"  {key:<48} {report[key]:8.1f}")


if __name__ == "__main__":
    main()
