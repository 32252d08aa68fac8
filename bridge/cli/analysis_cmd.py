"""`pixel-detective duplicates`: exact copies, near-duplicates and bursts, reported separately."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bridge.cli import remote_run
from bridge.cli.common import RichProgress, console, emit_json, out, owner_client, settings_from, user_errors


def duplicates(
    ctx: typer.Context,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            "-k",
            help="exact (byte-identical files), near (same picture: re-encodes, resizes, crops) or "
            "burst (frames of one camera burst); repeat for several. Default: all three.",
        ),
    ] = None,
    vectors: Annotated[
        bool,
        typer.Option(help="Use the image vectors to find near-duplicate candidates (crops, edits)."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output for scripts.")] = False,
) -> None:
    """Find duplicate groups in the index: exact copies, near-duplicates and bursts, never lumped together."""
    from bridge.analyses.duplicates import DupKind
    from bridge.cli.common import Exit, fail
    from bridge.engine import Engine
    from bridge.search.duplicates import find_in_index

    try:
        kinds = tuple(DupKind(k.strip().lower()) for k in kind) if kind else tuple(DupKind)
    except ValueError:
        raise fail(f"unknown --kind {kind}; use exact, near or burst", Exit.USAGE) from None
    settings = settings_from(ctx)
    client = owner_client(settings)
    if client is not None:  # the tray app or `serve` owns the index: it finds them (remote_run.py)
        with client, user_errors(), RichProgress(enabled=not as_json) as progress:
            groups, notes = remote_run.duplicates(client, kinds, vectors, progress)
    else:
        with (
            user_errors(),
            Engine.open(settings, purpose="pixel-detective duplicates") as engine,
            RichProgress(enabled=not as_json) as progress,
        ):
            groups, notes = find_in_index(engine, kinds=kinds, use_vectors=vectors, progress=progress)
    if as_json:
        emit_json(
            {
                "kinds": [str(k) for k in kinds],
                "notes": notes,
                "groups": [
                    {
                        "kind": str(g.kind),
                        "paths": list(g.paths),
                        "fingerprints": list(g.fingerprints),
                        **g.detail,
                    }
                    for g in groups
                ],
            }
        )
        return
    for note in notes:
        console.print(note, highlight=False)
    if not groups:
        out.print("no duplicates found")
        return
    for k in kinds:
        mine = [g for g in groups if g.kind == k]
        if not mine:
            continue
        table = Table(title=f"{k}: {len(mine)} group(s)", show_header=True, header_style="bold")
        table.add_column("#", no_wrap=True)
        table.add_column("files", overflow="fold")
        for i, g in enumerate(mine, 1):
            table.add_row(str(i), "\n".join(g.paths))
        out.print(table)
