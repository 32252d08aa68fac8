"""The `pixel-detective` command line."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from bridge import __version__
from bridge.cli import (
    analysis_cmd,
    config_cmd,
    db_cmd,
    index_cmd,
    info_cmd,
    keys_cmd,
    last_resort,
    logsetup,
    models_cmd,
    people_cmd,
    plugin_cmd,
    remote_cmd,
    rules_cmd,
    search_cmd,
    serve_cmd,
    store_cmd,
    writeback_cmd,
)
from bridge.cli.catalog_cmd import app as catalog_app
from bridge.cli.catalog_write_cmd import unwrite as catalog_unwrite
from bridge.cli.cull_cmd import cull_cmd
from bridge.cli.exits import EXIT_HELP
from bridge.cli.tray_cmd import tray as tray_cmd
from bridge.cli.xmp_cmd import read as xmp_read

app = typer.Typer(
    name="pixel-detective",
    help=f"Find any photo by describing it; similar shots; metadata filters. {EXIT_HELP}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"pixel-detective {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="PIXEL_DETECTIVE_DATA_DIR",
            help="Where the index lives (default: per-user data dir).",
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    ctx.obj = {"data_dir": data_dir} if data_dir else {}


app.command("index")(index_cmd.index)
app.command("watch")(index_cmd.watch_cmd)
app.command("search")(search_cmd.search_cmd)
app.command("tray")(tray_cmd)
app.command("serve")(serve_cmd.serve)
app.command("duplicates")(analysis_cmd.duplicates)
app.command("cull")(cull_cmd)
app.command("status")(info_cmd.status)
app.command("failures")(info_cmd.failures)
app.command("doctor")(info_cmd.doctor)
app.command("export-db")(db_cmd.export_db)
app.command("import-db")(db_cmd.import_db)
app.add_typer(models_cmd.app, name="models")
app.add_typer(rules_cmd.app, name="rules")
app.add_typer(store_cmd.app, name="store")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(config_cmd.app, name="config")
app.add_typer(remote_cmd.app, name="remote")
app.add_typer(plugin_cmd.app, name="plugin")
app.add_typer(people_cmd.app, name="people")
catalog_app.command("write")(writeback_cmd.catalog_write)
catalog_app.command("unwrite")(catalog_unwrite)
app.add_typer(
    catalog_app,
    name="catalog",
    help="Lightroom Classic catalogs: read from a verified copy; write back only while Lightroom is closed.",
)
xmp_app = typer.Typer(help="Read and write XMP sidecars (never writes into RAW files).", no_args_is_help=True)
xmp_app.command("read")(xmp_read)
xmp_app.command("write")(writeback_cmd.xmp_write)
app.add_typer(xmp_app, name="xmp", help="Read and write XMP sidecars (merged, never inside RAW files).")


def _thread_died(args: threading.ExceptHookArgs) -> None:
    # A background thread (watcher, progress, service) that dies must not print a traceback either.
    if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
        last_resort.report(args.exc_value)


def main() -> None:
    threading.excepthook = _thread_died
    logsetup.configure()
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("\nstopped\n")
        sys.exit(130)
    except BaseException as e:  # the last line of defence: no traceback reaches the user
        sys.exit(last_resort.report(e))
