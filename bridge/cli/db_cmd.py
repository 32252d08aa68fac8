"""`pixel-detective export-db` / `import-db`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bridge.cli import remote_run
from bridge.cli.common import console, fail, needs_own_engine, out, owner_client, settings_from, user_errors
from bridge.cli.exits import Exit
from bridge.engine import Engine
from bridge.files.diskspace import DiskFullError
from bridge.state.portable import PortableError, check_destination, export_index, import_index


def export_db(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Destination .tar.gz")],
    with_weights: Annotated[
        bool,
        typer.Option(
            "--with-weights",
            help="Carry imported (custom) models' weights files too, so import-db registers them "
            "(without it the archive names each one's file and checksum, and carries its config).",
        ),
    ] = False,
) -> None:
    """Export the whole index (ledger + vectors + payloads, the models' identities) into one portable,
    checksummed archive."""
    s = settings_from(ctx)
    try:
        check_destination(file)  # before the index is even opened: a folder or a missing one is refused
        client = owner_client(s)
        if client is not None:  # the tray app or `serve` owns the index: it writes the archive (remote_run.py)
            with client, user_errors():
                manifest = remote_run.export(client, file, with_weights)
        else:
            with user_errors(), Engine.open(s, purpose="pixel-detective export-db", model=False) as engine:
                manifest = export_index(engine, file, with_weights=with_weights)
    except (PortableError, DiskFullError) as e:
        raise fail(str(e)) from None
    n = sum(c["count"] for c in manifest["collections"])
    out.print(f"exported {n} vectors in {len(manifest['collections'])} collection(s) to {file}")


def import_db(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An archive made by export-db")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing index.")] = False,
) -> None:
    """Import an archive made by export-db: verified and built beside the current index, then switched in
    at once (an interrupted import leaves the previous index as it was)."""
    s = settings_from(ctx)
    client = owner_client(s)
    if client is not None:  # replacing the index under a running owner: never from beside it
        raise needs_own_engine(client, "import-db")
    with user_errors():
        try:
            manifest = import_index(  # no embedding model needed: an index built with a custom one imports
                file,
                s.data_dir,
                lambda: Engine.open(s, purpose="pixel-detective import-db", model=False),
                force=force,
            )
        except (PortableError, DiskFullError) as e:
            raise fail(str(e)) from None
    n = sum(c["count"] for c in manifest["collections"])
    out.print(f"imported {n} vectors from {file} into {s.data_dir}")
    for m in manifest.get("models", []):
        if m.get("source") == "imported" and m.get("weights_included"):
            out.print(f"model {m['id']}: registered from the archive (weights sha256 {m['sha256'][:12]}…)")
    models = [c["model"] for c in manifest["collections"]]
    if models and s.model not in models:
        out.print(f"note: this index's vectors are for {', '.join(models)}; search with --model {models[0]} "
                  f"(or set `model = \"{models[0]}\"` in the settings)")  # fmt: skip
    for missing in manifest.get("missing_models", []):
        console.print(f"[bold yellow]warning:[/] weights missing for {missing}", highlight=False)
    if manifest.get("missing_models"):
        raise typer.Exit(int(Exit.DEGRADED))  # imported, but searching by content needs those weights
