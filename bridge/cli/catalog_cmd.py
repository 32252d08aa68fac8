"""`pixel-detective catalog …`: read-only views of a catalog. Exit codes: 0 ok, 1 error, 75 locked (EX_TEMPFAIL)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from bridge.cli.exits import Exit
from catalog.errors import CatalogError, CatalogLocked
from catalog.keywords import KeywordTree
from catalog.reader import Catalog, open_catalog

app = typer.Typer(
    help="Read Lightroom Classic catalogs (from a verified copy; never writes).", no_args_is_help=True
)
CatalogArg = Annotated[Path, typer.Argument(help="Path to the .lrcat file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


def _run(path: Path, body: Callable[[Catalog], None]) -> None:
    """Open, run `body`, and turn every expected failure into a message and an exit code (never a traceback)."""
    err = Console(stderr=True, highlight=False)
    try:
        with open_catalog(path) as cat:
            body(cat)
            for warning in cat.warnings:  # an unknown newer version: read, but say so
                err.print(f"[yellow]warning: {escape(warning)}[/]")
    except CatalogLocked as exc:
        err.print(f"[yellow]{escape(str(exc))}[/]")
        raise typer.Exit(Exit.LOCKED) from exc
    except CatalogError as exc:  # UnsupportedCatalog, HostileCatalog, CatalogTooSlow, …
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(Exit.ERROR) from exc
    except OSError as exc:  # e.g. the temp folder for the copy cannot be created
        err.print(f"[red]cannot read {escape(str(path))}: {escape(str(exc.strerror or exc))}[/]")
        raise typer.Exit(Exit.ERROR) from exc


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command()
def info(catalog: CatalogArg, as_json: JsonOpt = False) -> None:
    """Version, photo, keyword and collection counts."""

    def body(cat: Catalog) -> None:
        data = {
            "path": str(cat.source),
            "version": cat.version.raw,
            "product": cat.version.product,
            "photos": len(cat.photos()),
            "keywords": len(cat.keyword_tree().by_id),
            "collections": len(cat.collections()),
            "lock": cat.lock.reason,
        }
        if as_json:
            _echo_json(data)
        else:
            for key, value in data.items():
                typer.echo(f"{key:12} {value}")

    _run(catalog, body)


@app.command()
def photos(catalog: CatalogArg, as_json: JsonOpt = False) -> None:
    """Every photo: path, uuid, capture time, rating, label, caption, title, keywords."""

    def body(cat: Catalog) -> None:
        items = cat.photos()
        if as_json:
            _echo_json([dataclasses.asdict(p) | {"is_virtual_copy": p.is_virtual_copy} for p in items])
            return
        table = Table("id", "path", "captured", "rating", "label", "title", "keywords")
        for p in items:
            vc = f" [{p.copy_name or 'virtual copy'}]" if p.is_virtual_copy else ""
            cells = (
                str(p.id), p.path + vc, p.capture_time or "", str(p.rating or ""), p.color_label or "",
                p.title or "", ", ".join(p.keywords),
            )  # fmt: skip
            table.add_row(*(escape(c) for c in cells))  # catalog text is data, not rich markup
        Console(width=200).print(table)

    _run(catalog, body)


def _tree_json(tree: KeywordTree, parent: int | None) -> list[dict[str, Any]]:
    return [
        {"id": k.id, "name": k.name, "path": k.full_path, "synonyms": list(k.synonyms),
         "children": _tree_json(tree, k.id)}
        for k in tree.children(parent)
    ]  # fmt: skip


@app.command()
def keywords(catalog: CatalogArg, as_json: JsonOpt = False) -> None:
    """The keyword hierarchy (with synonyms)."""

    def body(cat: Catalog) -> None:
        tree = cat.keyword_tree()
        if as_json:
            _echo_json(_tree_json(tree, None))
            return
        view = Tree(f"Keywords ({len(tree.by_id)})")

        def add(node: Tree, parent: int | None) -> None:
            for k in tree.children(parent):
                syn = f" [dim]({escape(', '.join(k.synonyms))})[/]" if k.synonyms else ""
                add(node.add(f"{escape(k.name)}{syn}"), k.id)

        add(view, None)
        Console(width=200).print(view)

    _run(catalog, body)
