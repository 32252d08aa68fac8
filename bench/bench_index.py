"""Indexing speed, side by side in one run on this machine (ratios, not absolute targets).

  .venv/bin/python bench/bench_index.py [--files 96] [--naive 16] [--json]

Model: the ViT-B-32 architecture with random weights (same compute as the real default model; no weights
can be downloaded here). Photos: 24 MP JPEGs made by upscaling the real photos in ../shared/data
(textured generated images when that is absent), plus the decodable RAWs.

Prints: end-to-end rate (the real pipeline and CLI code path); the model's forward-only rate on
pre-decoded tensors; a naive baseline (full Pillow decode + open_clip preprocess + model, one image at a
time in one process); this machine's limit = cores / (decode CPU s/img + model CPU s/img); and the
RAW embedded-preview path against a full demosaic.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = (ROOT / ".." / "shared" / "data").resolve()
BENCH_MODEL = "ViT-B-32/bench-random-weights"
RAWS = ["raw/Canon_EOS_D30_RAW_CANON_D30_SRGB.CRW", "raw/canon_eos_6d.dng", "raw/RAW_KODAK_DC50_é.KDC"]


def make_24mp(folder: Path, n: int) -> list[Path]:
    """24 MP (6000x4000) JPEGs upscaled from the real photos, cycling through them."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((SHARED / "jpeg").glob("*.jpg")) if SHARED.is_dir() else []
    sources = [p for p in sources if min(Image.open(p).size) >= 400][:24]
    rng = np.random.default_rng(0)
    bases: list[Image.Image] = []
    for p in sources[: min(n, 24)]:
        bases.append(Image.open(p).convert("RGB").resize((6000, 4000), Image.Resampling.BILINEAR))
    if not bases:
        noise = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
        bases = [Image.fromarray(noise).resize((6000, 4000), Image.Resampling.BICUBIC)]
    out = []
    for i in range(n):
        img = bases[i % len(bases)]
        if i >= len(bases):  # distinct content per file: a small shifted crop keeps it a real photo
            dx, dy = (i * 37) % 200, (i * 53) % 150
            img = img.crop((dx, dy, dx + 5800, dy + 3850)).resize((6000, 4000), Image.Resampling.NEAREST)
        p = folder / f"bench_{i:04d}.jpg"
        img.save(p, quality=90)
        out.append(p)
    return out


def make_model(models_dir: Path) -> None:
    import open_clip
    import torch
    from safetensors.torch import save_file

    from bridge.models.registry import import_weights

    models_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = models_dir.parent / "ViT-B-32.json"
    cfg_path.write_text(json.dumps(open_clip.get_model_config("ViT-B-32")))
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    w = models_dir.parent / "vitb32-random.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(w))
    import_weights(w, BENCH_MODEL, models_dir, config=cfg_path)  # no loading check: timed separately


def bench_forward(embedder, n: int, batch: int) -> dict[str, float]:
    x = np.random.default_rng(0).integers(0, 255, (batch, 224, 224, 3), dtype=np.uint8)
    embedder.encode_images(x)  # warm-up
    t, c = time.perf_counter(), time.process_time()
    done = 0
    while done < n:
        embedder.encode_images(x)
        done += batch
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"img_per_s": done / wall, "cpu_s_per_img": cpu / done}


def bench_decode_cpu(paths: list[Path], image_size: int) -> float:
    from bridge.indexing.decode import decode_image
    from bridge.indexing.preprocess import model_input
    from bridge.metadata.read import read_metadata

    c = time.process_time()
    for p in paths:
        read_metadata(p)
        model_input(decode_image(p, target=448), image_size)
    return (time.process_time() - c) / len(paths)


def bench_naive(paths: list[Path]) -> float:
    """As simple CLIP indexers do: full decode, open_clip preprocess, model, one image at a time."""
    import open_clip
    import torch

    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    model.eval()
    t = time.perf_counter()
    with torch.inference_mode():
        for p in paths:
            img = Image.open(p).convert("RGB")
            model.encode_image(preprocess(img).unsqueeze(0))
    return len(paths) / (time.perf_counter() - t)


def bench_end_to_end(data_dir: Path, folder: Path, batch: int, analyses: bool = True) -> dict[str, object]:
    """One index run. analyses=False turns off quality scores, duplicate signatures and keywords, for the
    side-by-side cost of the analysis stages (the vocabulary's text vectors are built before timing)."""
    from bridge.engine import Engine
    from bridge.settings import Settings

    off = {} if analyses else {"quality": False, "duplicate_signatures": False, "keywords": False}
    s = Settings(data_dir=data_dir, model=BENCH_MODEL, batch_size=batch, **off)
    with Engine.open(s) as engine:
        assigner = engine.keyword_assigner()
        if assigner is not None:
            assigner.term_vectors()  # one-time per model and vocabulary (cached on disk)
        t = time.perf_counter()
        summary = engine.index([str(folder)])
        wall = time.perf_counter() - t
    assert summary.failed == 0, summary.failures_by_reason
    return {"img_per_s": summary.embedded / wall, "files": summary.embedded, "phases": summary.phase_seconds}


def bench_raw(repeat: int = 5) -> dict[str, object] | None:
    """Embedded-preview path vs full demosaic, per RAW that has a usable preview (others say so)."""
    from bridge.indexing.decode import decode_raw

    out: dict[str, object] = {}
    for rel in RAWS:
        p = SHARED / rel
        if not p.exists():
            continue
        if decode_raw(p, 448, prefer_preview=True).source != "raw-preview":
            out[p.name] = "no usable embedded preview: decoded by demosaic either way"
            continue

        def timed(path: Path = p, **kw: object) -> float:
            t = time.perf_counter()
            for _ in range(repeat):
                decode_raw(path, 448, **kw)  # type: ignore[arg-type]
            return (time.perf_counter() - t) / repeat

        preview, full = timed(prefer_preview=True), timed(prefer_preview=False, full_demosaic=True)
        out[p.name] = {"preview_s": preview, "full_demosaic_s": full, "ratio": full / preview}
    return out or None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=160, help="24 MP JPEGs for the end-to-end run")
    ap.add_argument("--naive", type=int, default=12, help="files for the naive baseline (it is slow)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="pd-bench-") as tmp_s:
        tmp = Path(tmp_s)
        t = time.perf_counter()
        photos = make_24mp(tmp / "photos", a.files)
        gen_s = time.perf_counter() - t
        data = tmp / "data"
        make_model(data / "models")
        from bridge.indexing.decode import decode_image
        from bridge.indexing.preprocess import model_input
        from bridge.models.clip import Embedder, choose_precision, measure_agreement

        # precision=auto: bf16 weights only where they agree with fp32 (>= 0.999) on these photos
        sample = np.stack([model_input(decode_image(p), 224) for p in photos[:16]])
        agreement = measure_agreement(BENCH_MODEL, data / "models", sample, precision="bf16")
        precision = choose_precision("auto", "cpu", BENCH_MODEL, data / "models")
        fwd = {}
        for prec in sorted({"fp32", precision}):
            embedder = Embedder(BENCH_MODEL, data / "models", device="cpu", precision=prec)
            fwd[prec] = bench_forward(embedder, 96, a.batch)
            embedder.release()
        decode_cpu = bench_decode_cpu(photos[:12], 224)
        naive = bench_naive(photos[: a.naive])
        e2e = bench_end_to_end(data, tmp / "photos", a.batch)
        plain_dir = tmp / "data-plain"
        shutil.copytree(data / "models", plain_dir / "models")
        plain = bench_end_to_end(plain_dir, tmp / "photos", a.batch, analyses=False)
        raw = bench_raw()
    limit = cores / (decode_cpu + fwd[precision]["cpu_s_per_img"])
    r = {
        "cores": cores,
        "photos": f"{a.files} x 24 MP JPEG (generated in {gen_s:.0f}s)",
        "precision": precision,
        "bf16_agreement": agreement,
        "end_to_end_img_per_s": e2e["img_per_s"],
        "forward_only_img_per_s": {k: v["img_per_s"] for k, v in fwd.items()},
        "naive_img_per_s": naive,
        "decode_cpu_s_per_img": decode_cpu,
        "model_cpu_s_per_img": {k: v["cpu_s_per_img"] for k, v in fwd.items()},
        "machine_limit_img_per_s": limit,
        "e2e_vs_naive": e2e["img_per_s"] / naive,
        "e2e_vs_limit": e2e["img_per_s"] / limit,
        "phases": e2e["phases"],
        "without_analyses_img_per_s": plain["img_per_s"],
        "analyses_cost_ratio": e2e["img_per_s"] / plain["img_per_s"],
        "raw": raw,
    }
    if a.json:
        print(json.dumps(r, indent=2))
        return
    print(f"cores {cores}; {r['photos']}; model ViT-B-32 (random weights), batch {a.batch}")
    print(
        f"  precision=auto chose     {precision} (bf16 agreement with fp32 {agreement:.5f}, needs >= 0.999)"
    )
    print(f"  end-to-end indexing      {r['end_to_end_img_per_s']:7.2f} img/s  ({precision})")
    for prec, v in fwd.items():
        print(
            f"  model forward only {prec:<5} {v['img_per_s']:7.2f} img/s  ({v['cpu_s_per_img'] * 1000:.0f} ms CPU/img)"
        )
    print(
        f"  without analyses         {r['without_analyses_img_per_s']:7.2f} img/s  -> with quality, duplicate "
        f"signatures and keywords: {r['analyses_cost_ratio']:.2f}x that rate"
    )
    print(f"  decode+metadata CPU      {decode_cpu * 1000:7.0f} ms/img")
    print(f"  naive baseline (fp32)    {naive:7.2f} img/s")
    print(f"  machine limit            {limit:7.2f} img/s  (cores / (decode CPU + {precision} model CPU))")
    print(f"  e2e / naive              {r['e2e_vs_naive']:7.2f}x   (target >= 5)")
    print(f"  e2e / machine limit      {r['e2e_vs_limit']:7.2f}    (target >= 0.7)")
    for name, v in (raw or {}).items():
        if isinstance(v, dict):
            print(
                f"  RAW {name}: preview {v['preview_s'] * 1000:.0f} ms vs full demosaic "
                f"{v['full_demosaic_s'] * 1000:.0f} ms = {v['ratio']:.1f}x   (target >= 10)"
            )
        else:
            print(f"  RAW {name}: {v}")
    print(f"  phases: {e2e['phases']}")


if __name__ == "__main__":
    main()
