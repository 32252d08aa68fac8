"""`pixel-detective plugin install [--dest DIR]`: put the Lightroom plug-in into Lightroom's Modules folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bridge.cli.common import console, fail, out
from bridge.cli.exits import Exit

app = typer.Typer(help="The Lightroom Classic plug-in: install it where Lightroom loads it.", no_args_is_help=True)

NEXT_STEP = "Restart Lightroom Classic; the plug-in's commands are under Library ▸ Plug-in Extras ▸ Pixel Detective."


@app.command("install")
def install(
    dest: Annotated[
        Path | None,
        typer.Option(
            "--dest",
            help="Folder to put PixelDetective.lrplugin in (default: Lightroom's Modules folder on macOS and "
            "Windows; required on Linux, where there is no Lightroom).",
        ),
    ] = None,
) -> None:
    """Copy the plug-in into Lightroom's Modules folder; an older copy is kept as PixelDetective.lrplugin.previous."""
    from bridge.lightroom.plugin_install import PluginInstallError, install_plugin

    if dest is not None and not dest.is_dir():  # never create folders the user did not ask for
        raise fail(f"not a folder: {dest} (--dest takes an existing folder)", Exit.USAGE)
    try:
        done = install_plugin(dest)
    except PluginInstallError as e:
        raise fail(e.message, Exit.USAGE if e.reason == "no_lightroom_here" else Exit.ERROR) from None
    if done.outcome == "unchanged":
        out.print(f"already installed, unchanged: {done.target}", markup=False, highlight=False)
        return
    out.print(f"{done.outcome}: {done.target}", markup=False, highlight=False)
    if done.backup is not None:
        console.print(f"the previous copy is kept as {done.backup}", markup=False, highlight=False)
    console.print(NEXT_STEP, markup=False, highlight=False)
