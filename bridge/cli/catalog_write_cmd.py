"""Writing to a closed Lightroom catalog from the command line: `run_write` (plan, then back up and apply, and
say what was done) behind `pixel-detective catalog write` (its options: `writeback_cmd.catalog_write`), and the
`catalog unwrite` command. The changes file format is documented in catalog/write/model.py.
Exit codes: 0 ok, 1 error, 75 locked (EX_TEMPFAIL: Lightroom has the catalog open).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bridge.cli.exits import Exit
from catalog.errors import CatalogError, CatalogLocked
from catalog.write import apply, plan, remove_ours
from catalog.write.model import PhotoChange, WriteOptions

LOCKED_MESSAGE = (
    "Lightroom has this catalog open — close Lightroom, or use the Lightroom plugin to write. ({})"
)


def _fail(exc: Exception) -> typer.Exit:
    """Print a one-line message (never a traceback) and return the exit to raise."""
    err = Console(stderr=True)
    if isinstance(exc, CatalogLocked):
        err.print(LOCKED_MESSAGE.format(exc), markup=False, highlight=False)
        return typer.Exit(Exit.LOCKED)
    if isinstance(exc, OSError):
        err.print(f"error: {exc.strerror or exc}: {exc.filename or ''}", markup=False, highlight=False)
    else:
        err.print(f"error: {exc}", markup=False, highlight=False)
    return typer.Exit(Exit.ERROR)


def run_write(
    catalog: Path, photos: list[PhotoChange], options: WriteOptions, *, dry_run: bool, as_json: bool
) -> None:
    """Plan, then (unless dry_run) back up and apply; print the plan and report."""
    run_plan(catalog, lambda: plan(catalog, photos, options), dry_run=dry_run, as_json=as_json)


def run_plan(
    catalog: Path, make_plan: Callable[[], Any], *, dry_run: bool, as_json: bool, keywords: str = "keyword(s)"
) -> None:
    """Every catalog write: `make_plan()` (reads the catalog), then unless dry_run back up and apply, then the
    plan and the report (`keywords` names what the keywords are, e.g. "person keyword(s)")."""
    try:
        the_plan = make_plan()
        if dry_run:
            typer.echo(the_plan.to_json(indent=1) if as_json else the_plan.summary())
            return
        report = apply(catalog, the_plan)
    except (CatalogError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps({"plan": the_plan.to_dict(), "report": report.to_dict()}, ensure_ascii=False))
    else:
        typer.echo(the_plan.summary())
        typer.echo(
            f"written: {report.keywords_created} {keywords}, {report.links_created} link(s), "
            f"{report.fields_changed} field(s) on {report.photos_touched} photo(s); integrity {report.integrity}; "
            f"backup {report.backup}"
        )
        for warning in report.warnings:
            typer.echo(f"warning: {warning}", err=True)


def unwrite(
    catalog: Annotated[Path, typer.Argument(help="Path to the .lrcat file")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Take back exactly what Pixel Detective wrote (keywords, links, captions, ratings, labels, picks), as
    recorded at each write; anything you added or changed since stays, and the report says why."""
    try:
        report = remove_ours(catalog)
    except (CatalogError, OSError) as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False) if as_json else report.summary())
