"""`pixel-detective store migrate --to edge | qdrant://HOST:PORT | http(s)://URL`."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bridge.cli.common import console, emit_json, fail, out, settings_from, user_errors
from bridge.engine import Engine
from bridge.files.diskspace import DiskFullError
from bridge.state.storemove import (
    MigrationError,
    MigrationReport,
    Target,
    current_target,
    migrate_index,
    parse_target,
)

app = typer.Typer(
    help="The vector store: move the index between the embedded store and a Qdrant server or cluster.",
    no_args_is_help=True,
)


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="edge (the embedded store), qdrant://HOST:PORT, qdrants://HOST:PORT (https) or an http(s):// "
            "URL of a Qdrant server; qdrant-local: qdrant-client's local mode in the data dir (for tests).",
        ),
    ],
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Overwrite a server collection that already holds points."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check both stores and say what would be copied; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Copy every model's vectors and payloads to another store (no re-embedding), verify them there, then
    switch the index to it. The source is left as it was; run again to resume an interrupted move.
    The server's API key comes from the qdrant_api_key setting or PIXEL_DETECTIVE_QDRANT_API_KEY."""
    s = settings_from(ctx)
    try:
        target = parse_target(to)
        with user_errors(), Engine.open(s, purpose="pixel-detective store migrate") as engine:
            with _Bar(enabled=not as_json) as bar:
                report = migrate_index(engine, target, replace=replace, dry_run=dry_run, progress=bar.update)
            source = current_target(engine.settings)
    except (MigrationError, DiskFullError) as e:
        raise fail(f"{e}") from None
    if as_json:
        emit_json(asdict(report))
    else:
        _print(report, source)
    if report.switched:
        _warn_if_overridden(ctx, target)


def _print(r: MigrationReport, source: Target) -> None:
    for c in r.collections:
        there = "new" if c.already_there is None else f"{c.already_there} points there before"
        if r.dry_run:
            out.print(f"{c.name}: {c.points} points would be copied ({there})")
            continue
        extra = f", {c.removed} stale points removed" if c.removed else ""
        layout = ", ".join(f"{k} {v}" for k, v in c.layout.items() if v is not None)
        out.print(
            f"{c.name}: {c.copied} points copied and verified ({there}{extra}){'; ' + layout if layout else ''}"
        )
    if r.dry_run:
        out.print(f"dry run: nothing written; the index still uses {r.source}")
        return
    n = sum(c.copied for c in r.collections)
    out.print(f"moved {n} vectors in {len(r.collections)} collection(s) in {r.seconds:.1f} s")
    out.print(f"the index now uses {r.target}.")
    hint = (
        "delete the folders in its store/ directory named pd_v*_* that you no longer need"
        if source.kind == "edge"
        else "drop its collections with the server's own tools"
    )
    out.print(f"The source, {r.source}, was left as it was: once you are satisfied, {hint}.")


def _warn_if_overridden(ctx: typer.Context, target: Target) -> None:
    """store.json loses to the environment: say so when PIXEL_DETECTIVE_STORE / _QDRANT_URL point elsewhere."""
    now = current_target(settings_from(ctx))
    if now != target:
        names = [
            k for k in os.environ if k.upper() in ("PIXEL_DETECTIVE_STORE", "PIXEL_DETECTIVE_QDRANT_URL")
        ]
        console.print(
            f"[yellow]warning:[/] {', '.join(names) or 'the environment'} still points the index at another "
            "store; unset it, or set it to the new store, before the next command"
        )


class _Bar:
    """One bar per collection: points copied / points in it, and time left."""

    def __init__(self, enabled: bool) -> None:
        show = enabled and (sys.stderr.isatty() or os.environ.get("PIXEL_DETECTIVE_PROGRESS") == "1")
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not show,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Bar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def update(self, name: str, done: int, total: int) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(name, total=total)
        self.bar.update(self.tasks[name], completed=done)
