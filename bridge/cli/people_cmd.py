"""`pixel-detective people list|show|name|merge|from-catalog`: faces grouped into people, named by the user."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bridge.cli.common import emit_json, fail, out, settings_from, user_errors
from bridge.cli.exits import Exit
from bridge.engine import Engine

app = typer.Typer(
    help="People: faces (setting `faces`) grouped into persons across the index; name them for "
    "`search --where person=NAME` and Lightroom person keywords.",
    no_args_is_help=True,
)


def _open(ctx: typer.Context, what: str) -> Engine:
    from bridge.analyses.faces import INSTALL_HINT, available

    if not available():
        raise fail(f"faces: not installed ({INSTALL_HINT})")
    return Engine.open(settings_from(ctx), purpose=f"pixel-detective people {what}")


@app.command("list")
def list_people(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output for scripts.")] = False,
) -> None:
    """Group new faces into people (incremental), then list every person: id, name, faces, photos."""
    from bridge.search.people import update
    from bridge.state.people import People

    with user_errors(), _open(ctx, "list") as engine:
        report = update(engine)
        rows = People(engine.ledger).people()
    if as_json:
        emit_json(
            {
                "faces": report.faces,
                "unassigned": report.unassigned,
                "people": [
                    {"id": p.id, "name": p.name, "faces": p.faces, "photos": p.photos, "named_by": p.source}
                    for p in rows
                ],
            }
        )
        return
    if report.faces == 0:
        out.print("no faces in the index yet: set faces = true (config) and run `pixel-detective index`")
        return
    for p in rows:
        out.print(f"{p.id:>5}  {p.name or '(unnamed)'}  {p.faces} face(s) in {p.photos} photo(s)", highlight=False)
    out.print(f"{report.faces} face(s); {report.unassigned} seen only once, in no person yet", highlight=False)


@app.command("show")
def show(ctx: typer.Context, person: Annotated[int, typer.Argument(help="Person id (people list)")]) -> None:
    """The photos a person's faces are in."""
    from bridge.search.people import photos_of
    from bridge.state.people import People, PeopleError

    with user_errors(), _open(ctx, "show") as engine:
        try:
            People(engine.ledger).person(person)
        except PeopleError as e:
            raise fail(str(e), Exit.USAGE) from None
        for path in photos_of(engine, person):
            out.print(path, highlight=False)


@app.command("name")
def name_person(
    ctx: typer.Context,
    person: Annotated[int, typer.Argument(help="Person id (people list)")],
    name: Annotated[str, typer.Argument(help="The person's name")],
) -> None:
    """Name a person: their photos then match `search --where person=NAME`."""
    from bridge.search.people import name as do_name
    from bridge.state.people import PeopleError

    with user_errors(), _open(ctx, "name") as engine:
        try:
            n = do_name(engine, person, name)
        except PeopleError as e:
            raise fail(str(e), Exit.USAGE) from None
    out.print(f"person {person} is now {' '.join(name.split())} ({n} photo payload(s) updated)", highlight=False)


@app.command("merge")
def merge_people(
    ctx: typer.Context,
    into: Annotated[int, typer.Argument(help="The person to keep")],
    others: Annotated[list[int], typer.Argument(help="People whose faces move into it")],
) -> None:
    """Merge people that are one person (keeps the first id; its name, or else one of the others')."""
    from bridge.search.people import merge
    from bridge.state.people import PeopleError

    with user_errors(), _open(ctx, "merge") as engine:
        try:
            faces = merge(engine, into, list(others))
        except PeopleError as e:
            raise fail(str(e), Exit.USAGE) from None
    out.print(f"person {into} now has {faces} face(s)")


@app.command("from-catalog")
def from_catalog(
    ctx: typer.Context,
    catalog: Annotated[Path, typer.Argument(help="Lightroom catalog (.lrcat) whose person keywords name people")],
) -> None:
    """Name people after the person keywords a Lightroom catalog already has (its People view's names)."""
    from bridge.search.people import from_catalog as run
    from catalog.errors import CatalogError

    with user_errors(), _open(ctx, "from-catalog") as engine:
        try:
            report = run(engine, catalog)
        except CatalogError as e:
            raise fail(str(e)) from None
    for pid, nm in sorted(report.named.items()):
        out.print(f"person {pid} is now {nm}", highlight=False)
    for note in report.notes:
        out.print(note, highlight=False)
    if not report.named:
        out.print("no person was named from the catalog")


@app.command("write-catalog")
def write_catalog(
    ctx: typer.Context,
    catalog: Annotated[Path, typer.Argument(help="Lightroom catalog (.lrcat), closed")],
    parent: Annotated[
        str | None,
        typer.Option(help="Keyword new people go under (default: the parent of your existing person keywords)"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan, write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Write the named people as Lightroom person keywords on their photos (backup first; `catalog unwrite`
    takes them back)."""
    from bridge.cli.catalog_write_cmd import _fail, run_plan
    from bridge.search.people import catalog_names
    from catalog.errors import CatalogError
    from catalog.write.people import plan_people

    with user_errors(), _open(ctx, "write-catalog") as engine:
        try:
            names = catalog_names(engine, catalog)
        except CatalogError as e:
            raise _fail(e) from e
    run_plan(catalog, lambda: plan_people(catalog, names, people_parent=parent), dry_run=dry_run,
             as_json=as_json, keywords="person keyword(s)")  # fmt: skip
