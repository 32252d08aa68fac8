"""`pixel-detective tray`: the command that starts the desktop app (desktop/ itself holds no CLI code)."""

from __future__ import annotations

from typing import Annotated

import typer


def tray(
    ctx: typer.Context,
    no_tray: Annotated[
        bool, typer.Option("--no-tray", help="Open the search window as the main window.")
    ] = False,
    query: Annotated[list[str] | None, typer.Argument(help="Search for this at once.")] = None,
    install_desktop_entry: Annotated[
        bool,
        typer.Option(
            "--install-desktop-entry", help="Add Pixel Detective to the application menu (Linux), then exit."
        ),
    ] = False,
    autostart: Annotated[
        bool,
        typer.Option("--autostart", help="With --install-desktop-entry: also start it with the session."),
    ] = False,
) -> None:
    """Start the tray app (engine host + search window); a second launch shows the running one."""
    if install_desktop_entry:
        from desktop.entry import install

        for path in install(autostart=autostart):
            typer.echo(f"wrote {path}")
        raise typer.Exit(0)
    from bridge.cli.common import fail, settings_from
    from desktop.display import display_problem

    problem = display_problem()
    if problem:
        raise fail(problem)
    from desktop.app import run

    raise typer.Exit(run(settings_from(ctx), no_tray=no_tray, query=query or []))
