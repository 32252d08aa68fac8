"""`pixel-detective serve`: the Lightroom bridge service, headless, until Ctrl-C / SIGTERM."""

from __future__ import annotations

from typing import Annotated

import typer

from bridge.cli.common import console, graceful_stop, settings_from, user_errors
from bridge.cli.exits import Exit


def serve(
    ctx: typer.Context,
    advertise: Annotated[
        bool, typer.Option("--advertise", help="Announce a status port on the local network (zeroconf).")
    ] = False,
) -> None:
    """Serve the Lightroom plugin: search, analyze and metadata from Lightroom (runs until Ctrl-C)."""
    from rich.markup import escape

    from bridge.lightroom import Service

    settings = settings_from(ctx)
    with graceful_stop() as stop, user_errors():
        service = Service(settings, advertise=advertise).start()  # OwnerBusy → exit 75
        try:
            st = service.status()
            console.print(f"token file: {st['token_file']}", highlight=False)
            console.print(f"port file:  {st['port_file']} (written by the Lightroom plugin)", highlight=False)
            if service.host is not None and service.host.engine.weights_problem:
                console.print(f"[yellow]warning:[/] {service.host.engine.weights_problem}", highlight=False)
            console.print("waiting for Lightroom… (Ctrl-C to stop)")
            connected = False
            problem: str | None = None
            while not stop.wait(0.5):
                st = service.status()
                if st["last_problem"] != problem:  # why the plugin is not connected (refused, stale, …)
                    problem = st["last_problem"]
                    if problem:
                        console.print(
                            f"[yellow]not connected:[/] {escape(problem)}", highlight=False, soft_wrap=True
                        )
                if st["lightroom_connected"] != connected:
                    connected = st["lightroom_connected"]
                    if connected:
                        plugin = st["plugin"] or {}
                        console.print(
                            f"Lightroom connected (plugin {plugin.get('plugin_version', '?')}, "
                            f"catalog {plugin.get('catalog', '?')})",
                            highlight=False,
                        )
                    else:
                        console.print("Lightroom disconnected; waiting for it to come back…")
        finally:
            service.stop()
    raise typer.Exit(int(Exit.OK))
