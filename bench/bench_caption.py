"""Caption throughput (BLIP-base architecture), side by side with the CLIP ViT-B-32 embedding cost.

  .venv/bin/python bench/bench_caption.py [--images 8] [--device cpu|cuda] [--precision auto] [--json]

Model: the real Salesforce/blip-image-captioning-base architecture (ViT-B/16 at 384 px, BERT-base text
decoder, 30524-token vocab) with random weights, saved with save_pretrained() and loaded back through
bridge.models.blip.Captioner (no pretrained weights can be downloaded here). Random weights would stop at a
random length, so every caption is forced to exactly --tokens new tokens (min = max): the same decoder
work as a real ~20-token caption. Beam search as in production (3 beams).

Prints images/s at batch 1 and batch 8 (model + processor, images already at 384 px: decoding and
resizing are the pipeline's cost, measured by bench_index.py), CLIP ViT-B-32 forward-only images/s on
the same device, and the ratio caption cost / embedding cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = (ROOT / ".." / "shared" / "data").resolve()


def photos(n: int, size: int) -> list[np.ndarray]:
    """Real photos from ../shared/data (generated ones when absent), squashed to the model size."""
    from tests.photo_factory import textured_image

    paths = sorted((SHARED / "jpeg").glob("*.jpg")) if SHARED.is_dir() else []
    out = []
    for i in range(n):
        img = Image.open(paths[i % len(paths)]).convert("RGB") if paths else textured_image(640, 480, seed=i)
        out.append(np.asarray(img.resize((size, size), Image.Resampling.BICUBIC)).copy())
    return out


def make_blip_base(directory: Path) -> Path:
    """Random-weights BLIP with the blip-image-captioning-base config, saved like the real one."""
    import torch
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    from tests.blip_factory import SPECIAL, WORDS

    directory.mkdir(parents=True, exist_ok=True)
    words = list(dict.fromkeys(WORDS))
    # bert-base-uncased has 30522 entries; BLIP adds [DEC] (bos) and [ENC]: 30524 as in the real config
    filler = [f"[unused{i}]" for i in range(30522 - len(SPECIAL) - len(words))]
    (directory / "vocab.txt").write_text("\n".join(SPECIAL + words + filler + ["[DEC]", "[ENC]"]) + "\n")
    tokenizer = BertTokenizer(
        vocab=str(directory / "vocab.txt"), bos_token="[DEC]", additional_special_tokens=["[ENC]"]
    )
    config = BlipConfig(
        vision_config={"image_size": 384, "patch_size": 16},  # ViT-B/16 defaults
        text_config={
            "vocab_size": 30524,
            "num_attention_heads": 12,
            "bos_token_id": 30522,
            "sep_token_id": 102,
            "pad_token_id": 0,
        },
    )
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(config).eval()
    proc = BlipProcessor(image_processor=BlipImageProcessor(), tokenizer=tokenizer)
    proc.save_pretrained(directory)
    model.save_pretrained(directory)
    return directory


def bench_caption(captioner, images: list[np.ndarray], batch: int) -> dict[str, float]:
    captioner.batch_size = batch
    t, c = time.perf_counter(), time.process_time()
    captions = captioner.caption(images)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    assert len(captions) == len(images) and all(captions)
    return {
        "batch": batch,
        "images": len(images),
        "img_per_s": len(images) / wall,
        "cpu_s_per_img": cpu / len(images),
    }


def bench_clip(device: str, precision: str, n: int, batch: int) -> dict[str, float] | None:
    try:
        import open_clip
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None, device=device).eval()
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    model = model.to(dtype)
    x = torch.randn(batch, 3, 224, 224, device=device, dtype=dtype)
    with torch.inference_mode():
        model.encode_image(x)  # warm-up
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        done = 0
        while done < n:
            model.encode_image(x)
            done += batch
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return {"batch": batch, "img_per_s": done / (time.perf_counter() - t)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=8, help="images for the batch-8 run (batch 1 uses 3)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    ap.add_argument("--precision", default="auto", help="auto (fp16 on cuda, fp32 on cpu), fp32, fp16, bf16")
    ap.add_argument("--tokens", type=int, default=20, help="new tokens per caption (forced)")
    ap.add_argument("--beams", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import torch

    from bridge.models.blip import Captioner

    with tempfile.TemporaryDirectory(prefix="pd-bench-caption-") as tmp:
        t = time.perf_counter()
        model_dir = make_blip_base(Path(tmp) / "blip-base-random")
        build_s = time.perf_counter() - t
        c = Captioner(
            str(model_dir),
            Path(tmp) / "models",
            device=args.device,
            precision=args.precision,
            max_new_tokens=args.tokens,
            num_beams=args.beams,
        )
        with c.model.use() as loaded:  # random weights: fixed length
            loaded.generate_kwargs["min_new_tokens"] = args.tokens
        images = photos(args.images, c.input_size)
        c.caption(images[:1])  # warm-up: lazy load, allocator, kernels
        # batch 1 on a few images only: a CPU run must stay within ~3 minutes
        runs = [bench_caption(c, images[: max(1, min(3, args.images))], 1), bench_caption(c, images, 8)]
        precision = c.precision
        c.release()
    clip = bench_clip(c.device, precision, 32, 8)
    best = max(r["img_per_s"] for r in runs)
    result = {
        "device": c.device,
        "torch_threads": torch.get_num_threads(),
        "precision": precision,
        "tokens": args.tokens,
        "beams": args.beams,
        "build_model_s": round(build_s, 1),
        "caption": runs,
        "clip_vit_b32": clip,
        "caption_vs_embed_cost": (clip["img_per_s"] / best) if clip else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"device {c.device} ({precision}), {torch.get_num_threads()} torch threads; ")
    print(f"BLIP-base random weights, {args.tokens} tokens x {args.beams} beams; built in {build_s:.1f} s")
    for r in runs:
        print(
            f"  caption batch {r['batch']:>2}: {r['img_per_s']:7.2f} img/s "
            f"({r['cpu_s_per_img']:.2f} CPU s/img, {r['images']} images)"
        )
    if clip:
        print(f"  CLIP ViT-B-32 embed (forward only, batch 8): {clip['img_per_s']:7.2f} img/s")
        print(
            f"  caption cost / embedding cost: {result['caption_vs_embed_cost']:.1f}x (design doc expects ~25x)"
        )


if __name__ == "__main__":
    main()
