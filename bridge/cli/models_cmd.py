"""`pixel-detective models list|import|verify|download`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypedDict

import typer
from rich.table import Table

from bridge.cli.common import emit_json, fail, out, settings_from, user_errors
from bridge.models.clip import import_checked, verify_weights
from bridge.models.registry import (
    REGISTRY,
    ModelError,
    ModelSpec,
    WeightsMissing,
    imported_models,
    official_match,
    resolve,
)

app = typer.Typer(
    help="Embedding models: which exist, which have weights here, import and verify weights.",
    no_args_is_help=True,
)


class _ModelRow(TypedDict):
    model: str
    default: bool
    weights: str
    dim: int | None
    tier: str
    note: str


@app.command("list")
def list_models(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Known models and whether their weights are on this machine."""
    s = settings_from(ctx)
    ids = list(REGISTRY) + [mid for mid in imported_models(s.models_dir) if mid not in REGISTRY]
    rows: list[_ModelRow] = []
    for mid in ids:
        spec: ModelSpec | None
        try:
            rw = resolve(mid, s.models_dir)
            weights, spec = rw.source, rw.spec
            if official_match(mid, str(rw.manifest.get("sha256", ""))) is False:
                weights += " (not the official file: see `models verify`)"
        except WeightsMissing:
            weights, spec = "missing", REGISTRY.get(mid)
        rows.append(
            {
                "model": mid,
                "default": mid == s.model,
                "weights": weights,
                "dim": spec.dim if spec else None,
                "tier": spec.tier if spec else "custom",
                "note": spec.note if spec else "",
            }
        )
    if as_json:
        emit_json(rows)
        return
    t = Table("model", "weights", "dim", "tier", "note")
    for r in rows:
        t.add_row(
            r["model"] + (" (current)" if r["default"] else ""),
            r["weights"],
            str(r["dim"]),
            r["tier"],
            r["note"],
        )
    out.print(t)


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Weights file (open_clip_model.safetensors or .bin/.pt).")],
    model: Annotated[
        str | None, typer.Option(help="Model id the weights belong to (default: current).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="open_clip architecture JSON, for custom models.")
    ] = None,
) -> None:
    """Import a weights file for offline use; it is checked by loading it before it is kept."""
    s = settings_from(ctx)
    mid = model or s.model
    with user_errors():
        try:
            manifest = import_checked(file, mid, s.models_dir, config=config)
        except (ModelError, RuntimeError, OSError, ValueError) as e:
            raise fail(f"could not import {file} as {mid}: {e}") from None
    out.print(f"imported {mid} (sha256 {manifest['sha256'][:12]}…); it loads and is ready to use")


@app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option()] = None,
    precision: Annotated[
        str | None, typer.Option(help="Also measure agreement of bf16 or fp16 with fp32.")
    ] = None,
    photos: Annotated[Path | None, typer.Option(help="Folder of photos for the agreement check.")] = None,
    device: Annotated[str, typer.Option()] = "cpu",
) -> None:
    """Check the weights' checksum and that they load; optionally measure reduced-precision agreement."""
    s = settings_from(ctx)
    mid = model or s.model
    try:
        report = verify_weights(mid, s.models_dir)
        if precision:
            from bridge.models.clip import MIN_AGREEMENT, measure_agreement

            images = _sample_images(photos, report["image_size"])
            agreement = measure_agreement(mid, s.models_dir, images, device=device, precision=precision)
            report[f"agreement_{precision}"] = agreement
            report["precision_auto_uses"] = precision if agreement >= MIN_AGREEMENT else "fp32"
    except (WeightsMissing, ModelError, RuntimeError) as e:
        raise fail(str(e)) from None
    emit_json(report)


def _sample_images(folder: Path | None, size: int):
    """Up to 32 photos from `folder` as model inputs, or textured test images when none are given."""
    import numpy as np

    from bridge.files.formats import is_supported
    from bridge.indexing.decode import decode_safe
    from bridge.indexing.preprocess import model_input
    from bridge.records import Decoded

    out = []
    if folder:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and is_supported(p):
                d = decode_safe(p, target=size)
                if isinstance(d, Decoded):
                    out.append(model_input(d, size))
            if len(out) == 32:
                break
    if not out:
        rng = np.random.default_rng(0)
        out = [
            np.kron(rng.integers(0, 255, (8, 8, 3)), np.ones((size // 8 + 1, size // 8 + 1, 1)))[
                :size, :size
            ].astype(np.uint8)
            for _ in range(16)
        ]
    return np.stack(out)


@app.command("download")
def download_cmd(ctx: typer.Context, model: Annotated[str | None, typer.Argument()] = None) -> None:
    """Download pretrained weights into the hub cache (needs internet; run on a connected machine)."""
    from bridge.models.registry import Offline, download, offline_route

    s = settings_from(ctx)
    mid = model or s.model
    try:
        path = download(mid)
    except (Offline, ModelError) as e:  # offline (said within seconds), or an unknown model
        raise fail(str(e)) from None
    except Exception as e:  # network errors come in many types; all mean the same to the user
        raise fail(f"download of {mid} failed ({type(e).__name__}); offline, {offline_route(mid)}") from None
    out.print(f"downloaded {mid} to {path}")


@app.command("import-caption")
def import_caption_cmd(
    ctx: typer.Context,
    folder: Annotated[
        Path, typer.Argument(help="A BLIP model folder (save_pretrained / a Hugging Face snapshot).")
    ],
    name: Annotated[str, typer.Option(help="Name to use it by (caption_model setting).")] = "blip-base",
) -> None:
    """Import a caption (BLIP) model folder for offline use; it is checked by loading it before it is kept."""
    from bridge.models.blip import CaptionError, import_caption_model

    s = settings_from(ctx)
    try:
        dest = import_caption_model(folder, name, s.models_dir)
    except (CaptionError, OSError, ValueError) as e:
        raise fail(f"could not import {folder} as caption model {name}: {e}") from None
    out.print(f"imported caption model {name} into {dest}; it loads and is ready to use")


@app.command("download-caption")
def download_caption_cmd(
    name: Annotated[
        str, typer.Argument(help="blip-base, blip-large or a Hugging Face repo id.")
    ] = "blip-base",
) -> None:
    """Download a caption model into the Hugging Face cache (needs internet; run on a connected machine)."""
    from huggingface_hub import snapshot_download

    from bridge.models.blip import CAPTION_MODELS

    repo = CAPTION_MODELS.get(name, name)
    try:
        path = snapshot_download(repo)
    except Exception as e:  # network errors come in many types; all mean the same to the user
        raise fail(f"download failed (is this machine online?): {e}") from None
    out.print(f"downloaded {repo} to {path}")
