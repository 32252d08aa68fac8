"""`pixel-detective index` and `watch`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bridge.cli import remote_run
from bridge.cli.common import (
    RichProgress,
    console,
    emit_json,
    fail,
    graceful_stop,
    needs_own_engine,
    owner_client,
    settings_from,
    user_errors,
)
from bridge.cli.exits import Exit
from bridge.engine import Engine, load_rules
from bridge.files import datadir
from bridge.files.objects import is_url
from bridge.files.paths import shown
from bridge.indexing.catalogs import catalog_sources, nothing_to_index
from bridge.indexing.pipeline import RunSummary
from bridge.indexing.standins import StandIn
from bridge.indexing.summary import rate_words
from bridge.indexing.upkeep import ensure_space

if TYPE_CHECKING:
    from bridge.api.client import LocalClient

USER_FILE_MODE = 0o644  # before the umask


def write_json_atomic(path: Path, data: object) -> None:
    """A state or summary file the user named: atomic (R2), readable by others as files they make are."""
    datadir.write_json_atomic(path, data, mode=USER_FILE_MODE, indent=2)


def catalog_roots(
    catalogs: list[Path], data_dir: Path, *, previews: bool
) -> tuple[list[str], list[StandIn], list[str]]:
    """`bridge.indexing.catalogs.catalog_sources`, with a catalog that cannot be read as the CLI's error."""
    from catalog.errors import CatalogError

    try:
        return catalog_sources(catalogs, data_dir, previews=previews)
    except CatalogError as e:
        raise fail(str(e), Exit.BUSY if type(e).__name__ == "CatalogLocked" else Exit.ERROR) from None


def print_summary(s: RunSummary) -> None:
    d = s.as_dict()
    console.print(
        f"[bold]{s.status}[/]: {s.files_seen} files seen, {s.new_or_changed} new/changed, "
        f"{s.embedded} embedded, {s.metadata_read} metadata read, {s.analyzed} scored, "
        f"{s.keyworded} keyworded, {s.captioned} captioned, {s.repathed} moved/renamed, "
        f"{s.deleted} removed, {s.failed} failed, {s.skipped_failed} known-bad skipped "
        f"in {s.wall_seconds:.1f}s ({rate_words(d['files_per_second']) or 'no photos indexed'})",
        highlight=False,
    )
    if s.phase_seconds:
        console.print("phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in sorted(s.phase_seconds.items())))
    if s.failures_by_reason:
        console.print("failures: " + ", ".join(f"{k} {v}" for k, v in sorted(s.failures_by_reason.items())))
        console.print("see `pixel-detective failures` for the files and reasons")
    for note in s.notes:
        console.print(f"[yellow]note:[/] {note}")


def index(
    ctx: typer.Context,
    # str, not Path: `s3://bucket/prefix` must keep its double slash
    folders: Annotated[
        list[str] | None,
        typer.Argument(help="Folders (or single photos) to index, or s3://, gs://… prefixes."),
    ] = None,
    folder: Annotated[
        list[str] | None, typer.Option("--folder", help="Same as FOLDERS (earlier CLI).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Images per model batch.")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "--max-workers", min=1, help="Decode processes (default: CPU cores)."),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(help="auto, cpu, cuda, cuda:N, several (cuda:0,cuda:1) or all: one model per GPU."),
    ] = None,
    device_decode: Annotated[
        str | None,
        typer.Option(
            "--device-decode",
            help="auto (on with a GPU), on or off: decode baseline JPEGs on the model's device in batches.",
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Spread decode and embed work over a Ray cluster: auto (the cluster this machine is in), "
            "ray://HOST:PORT, or local. This machine keeps the index. See docs/cluster.md.",
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Embedding model id (see `models list`).")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Keep watching the folders afterwards.")] = False,
    summary: Annotated[
        Path | None,
        typer.Option("--summary", "--save-summary", help="Write the run summary as JSON to this file."),
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild-embeddings",
            "--clear-embedding-cache",
            help="Re-embed every photo with the current model.",
        ),
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Retry files that failed before even if unchanged.")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Accepted for compatibility: runs always resume.", hidden=False)
    ] = False,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Also write progress to this JSON file after every batch (resume itself uses the ledger).",
        ),
    ] = None,
    catalog: Annotated[
        list[Path] | None,
        typer.Option(
            "--catalog",
            help="Also index the photos this Lightroom catalog references (read from a verified copy).",
        ),
    ] = None,
    catalog_previews: Annotated[
        bool,
        typer.Option(
            "--catalog-previews/--no-catalog-previews",
            help="Index offline originals from the catalog's own previews until they are back (on by default).",
        ),
    ] = True,
    captions: Annotated[
        bool | None,
        typer.Option(
            "--captions/--no-captions",
            help="Caption photos with BLIP, in the same pass as the embeddings (slow on a CPU).",
        ),
    ] = None,
    caption_beams: Annotated[
        int | None,
        typer.Option(
            "--caption-beams", min=1, max=8, help="Beam search width (3); 1 = greedy, about twice as fast."
        ),
    ] = None,
    caption_model: Annotated[
        str | None, typer.Option(help="blip-base, blip-large, a Hugging Face repo id or a local folder.")
    ] = None,
    keywords: Annotated[
        bool | None,
        typer.Option("--keywords/--no-keywords", help="Suggest keywords from the vocabulary (default on)."),
    ] = None,
    vocabulary_catalog: Annotated[
        Path | None,
        typer.Option(
            "--vocabulary-catalog",
            help="Use this Lightroom catalog's keyword tree as the keyword vocabulary (read-only); kept for "
            "the next runs of this index ('' goes back to the built-in vocabulary).",
        ),
    ] = None,
    quality: Annotated[
        bool | None,
        typer.Option("--quality/--no-quality", help="Sharpness, exposure and noise scores (default on)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Index folders: metadata, embeddings, quality scores, keywords (and captions if asked) into the
    local index. Each stage resumes on its own: enabling captions later runs only captions."""
    roots = [*(folders or []), *(folder or [])]
    if not roots and not catalog:
        raise fail("name at least one folder (or --catalog) to index", Exit.USAGE)
    missing = [r for r in roots if not is_url(r) and not os.path.exists(r)]  # a URL is listed by the run
    if missing:
        raise fail(f"not found: {', '.join(missing)} (nothing was changed in the index)")
    settings = settings_from(
        ctx,
        batch_size=batch_size,
        workers=workers,
        device=device,
        device_decode=device_decode,
        cluster=cluster,
        model=model,
        captions=captions,
        caption_beams=caption_beams,
        caption_model=caption_model,
        keywords=keywords,
        vocabulary_catalog=vocabulary_catalog,
        quality=quality,
    )
    notes: list[str] = []
    stand_ins: list[StandIn] = []
    if catalog:
        found, stand_ins, notes = catalog_roots(catalog, settings.data_dir, previews=catalog_previews)
        roots += found
        if not roots and not stand_ins:
            raise fail(nothing_to_index(catalog, notes))  # every original offline, no preview: say so
    if watch:
        _folders_only(roots)
    client = owner_client(settings)
    if client is not None:  # the tray app or `serve` owns the index: the job runs there (remote_run.py)
        given = {"--rebuild-embeddings": rebuild, "--retry-failed": retry_failed, "--watch": watch,
                 "--checkpoint": checkpoint is not None, f"--model {model}": model is not None
                 and model != client.info.get("model"), "--keywords/--no-keywords": keywords is not None,
                 "--quality/--no-quality": quality is not None, "--vocabulary-catalog": vocabulary_catalog
                 is not None, "--caption-beams": caption_beams is not None, "--caption-model": caption_model
                 is not None}  # fmt: skip
        tuning = {"--batch-size": batch_size, "--workers": workers, "--device": device,
                  "--device-decode": device_decode, "--cluster": cluster}  # fmt: skip
        _index_in_owner(client, roots, stand_ins, notes, refused=[k for k, v in given.items() if v],
                        ignored=[k for k, v in tuning.items() if v is not None], captions=captions,
                        summary=summary, as_json=as_json)  # fmt: skip
        return
    if vocabulary_catalog is not None:  # kept for this data dir's next runs (vocabulary.json); '' forgets it
        from bridge.analyses.vocabulary import remember_vocabulary_catalog

        chosen = remember_vocabulary_catalog(settings.data_dir, vocabulary_catalog)
        settings = settings.model_copy(update={"vocabulary_catalog": chosen})
    with user_errors(), Engine.open(settings, purpose="pixel-detective index") as engine:
        if engine.weights_problem:
            console.print(f"[bold yellow]warning:[/] {engine.weights_problem}", highlight=False)
            console.print(
                "[yellow]continuing without embeddings: metadata is still recorded for every file; "
                "run the same command again once the weights are there.[/]"
            )
        rules = load_rules(settings)
        ensure_space(settings, 0, "start indexing")  # before the store is opened: opening grows its maps
        with graceful_stop() as stop, RichProgress(enabled=not as_json) as progress:
            idx = engine.indexer(progress=progress, stop=stop, rules=rules)
            if engine.caption_problem:
                console.print(f"[bold yellow]warning:[/] {engine.caption_problem}", highlight=False)
                console.print("[yellow]continuing without captions.[/]")
            for notice in engine.notices:
                console.print(f"[bold yellow]warning:[/] {notice}", highlight=False)
            if checkpoint:
                done = [0]

                def on_batch(n: int) -> None:
                    done[0] += n
                    write_json_atomic(
                        checkpoint,
                        {
                            "roots": roots,
                            "processed": done[0],
                            "model": engine.model_id,
                            "summary": idx.summary.as_dict(),
                        },
                    )

                idx.on_batch_committed = on_batch
            result = idx.run(roots, rebuild=rebuild, retry_failed=retry_failed, stand_ins=stand_ins)
        result.notes.extend(notes)
        _report(result, summary, as_json)
        if watch:
            from bridge.indexing.watch import watch_forever

            with graceful_stop() as stop:
                watch_forever(engine, roots, rules=rules, stop=stop, catch_up=False, on_start=_say_watching)
        if engine.weights_problem or engine.caption_problem or engine.keywords_problem:
            raise typer.Exit(int(Exit.DEGRADED))  # a stage was skipped or ran without what was asked


def _report(result: RunSummary, summary: Path | None, as_json: bool) -> None:
    """A finished run, local or in the owner: the `--summary` file, then JSON or the summary lines; a stopped
    run exits 130."""
    if summary:
        write_json_atomic(summary, result.as_dict())
    if as_json:
        emit_json(result.as_dict())
    else:
        print_summary(result)
    if result.status == "stopped":
        raise typer.Exit(int(Exit.INTERRUPTED))


def _index_in_owner(
    client: LocalClient,
    roots: list[str],
    stand_ins: list[StandIn],
    notes: list[str],
    *,
    refused: list[str],
    ignored: list[str],
    captions: bool | None,
    summary: Path | None,
    as_json: bool,
) -> None:
    """`index` as a job of the running owner: the same messages, summary and exit codes as a local run."""
    if refused:
        raise needs_own_engine(client, ", ".join(refused))
    if ignored:
        console.print(f"[yellow]note:[/] {client.owner} indexes with its own settings; "
                      f"{', '.join(ignored)} not applied", highlight=False)  # fmt: skip
    if stand_ins:
        notes.append(f"{len(stand_ins)} offline original(s) were left for a run without the tray app or "
                     "`serve` (indexing from Lightroom's previews needs the index to itself)")  # fmt: skip
    if not roots:
        raise needs_own_engine(client, "indexing offline originals from Lightroom's previews")
    with client, user_errors():
        outcome = remote_run.index(client, roots, captions=captions, show_progress=not as_json)
    result = outcome.summary
    if result is None:  # cancelled while it waited in the owner's queue
        console.print("[bold]stopped[/]: the job was cancelled before it started", highlight=False)
        raise typer.Exit(int(Exit.INTERRUPTED))
    result.notes.extend(notes)
    _report(result, summary, as_json)
    if outcome.degraded:
        raise typer.Exit(int(Exit.DEGRADED))


def watch_cmd(
    ctx: typer.Context,
    folders: Annotated[
        list[str], typer.Argument(help="Folders (or s3://, gs://… prefixes, polled) to watch.")
    ],
    model: Annotated[str | None, typer.Option(help="Embedding model id.")] = None,
) -> None:
    """Index new, changed and deleted files as they happen (waits until a copy is complete)."""
    roots = list(folders)
    missing = [r for r in roots if not is_url(r) and not os.path.exists(r)]
    if missing:
        raise fail(f"not found: {', '.join(missing)} (nothing is being watched)")
    _folders_only(roots)
    settings = settings_from(ctx, model=model)
    # Ctrl-C is handled from the start: during start-up it simply means "stop as soon as you can".
    with (
        graceful_stop() as stop,
        user_errors(),
        Engine.open(settings, purpose="pixel-detective watch") as engine,
    ):
        if engine.weights_problem:
            console.print(f"[bold yellow]warning:[/] {engine.weights_problem}", highlight=False)
        from bridge.indexing.watch import watch_forever

        watch_forever(
            engine,
            roots,
            rules=load_rules(settings),
            stop=stop,
            on_run=lambda s: print_summary(s) if s.new_or_changed or s.deleted else None,
            on_start=_say_watching,
        )


def _folders_only(roots: list[str]) -> None:
    """Watching takes folders: refuse files (and FIFOs, devices) before anything is opened."""
    not_folders = [r for r in roots if not is_url(r) and not os.path.isdir(r)]
    if not_folders:
        raise fail(
            f"not a folder: {', '.join(not_folders)} (watching takes folders; index single files with `index`)"
        )


def _say_watching(roots: list[str]) -> None:
    console.print(f"watching {', '.join(shown(r) for r in roots)} (Ctrl-C to stop)", highlight=False)
