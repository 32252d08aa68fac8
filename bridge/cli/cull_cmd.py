"""`pixel-detective cull FOLDER|--catalog CATALOG`: the best frame of every burst, with reasons.

Groups come from the duplicates stage (exact, near, burst) plus the keep-together sets read from EXIF
(brackets, focus stacks, panoramas: never split); each photo gets a rank in its group, reason codes and a
sentence, and a decision (pick / reject / undecided) stored in the index. `--pick/--reject/--undecided PATH`
record the user's own decision, which no later run changes (`--forget PATH` hands it back). `--write catalog`
writes the decisions into the closed catalog (flags, stars or labels as the settings map them, plus the
"Pixel Detective: picks / rejects / eyes closed" collections) — or, found open in Lightroom, sends them through
the plug-in instead; `--write lightroom` always sends them through the plug-in (the running tray app's link,
else one this command opens for the moment: Lightroom open with the plug-in enabled); `--write xmp` writes the
photos' sidecars. While the tray app or `serve` owns the index, the cull runs there (`routes/local_cull.py`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridge.cli import remote_run
from bridge.cli.common import console, emit_json, fail, out, owner_client, settings_from, user_errors
from bridge.cli.exits import Exit

if TYPE_CHECKING:
    from bridge.api.client import LocalClient


def cull_cmd(
    ctx: typer.Context,
    folder: Annotated[Path | None, typer.Argument(help="An indexed folder to cull.")] = None,
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="Cull the indexed photos of this Lightroom catalog.")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target", help="Keep a share (30%) or a count (12) per group, or per shoot with --per shoot."
        ),
    ] = None,
    per: Annotated[
        str, typer.Option("--per", help="group (default) or shoot: what --target counts in.")
    ] = "group",
    vectors: Annotated[bool, typer.Option(help="Use the image vectors to find near-duplicates.")] = True,
    pick: Annotated[list[Path], typer.Option("--pick", help="Your pick: never re-decided.")] = [],  # noqa: B006
    reject: Annotated[list[Path], typer.Option("--reject", help="Your reject: never re-decided.")] = [],  # noqa: B006
    undecided: Annotated[
        list[Path], typer.Option("--undecided", help="Leave undecided: never re-decided.")
    ] = [],  # noqa: B006
    forget: Annotated[
        list[Path], typer.Option("--forget", help="Forget your decision: the next run decides.")
    ] = [],  # noqa: B006
    write: Annotated[
        str,
        typer.Option(
            "--write",
            help="none (default), catalog (the closed --catalog: flags/stars/labels and collections), "
            "lightroom (through the plug-in into the catalog Lightroom has open) or xmp (sidecars: "
            "xmp:Rating, xmp:Label).",
        ),
    ] = "none",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --write: show what would change.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output for scripts.")] = False,
) -> None:
    """Rank every burst and group of near-duplicates, pick the best frames, say why."""
    from bridge.engine import Engine
    from bridge.search.cull import among, cull_index, options_from, parse_target, under
    from bridge.state import culling as state

    if (folder is None) == (catalog is None):
        raise fail("give a FOLDER or --catalog CATALOG", Exit.USAGE)
    if per not in ("group", "shoot"):
        raise fail("--per is group or shoot", Exit.USAGE)
    if write not in ("none", "catalog", "lightroom", "xmp"):
        raise fail("--write is none, catalog, lightroom or xmp", Exit.USAGE)
    if write == "lightroom" and dry_run:
        raise fail("--dry-run goes with --write catalog or xmp (Lightroom shows its own changes)", Exit.USAGE)
    if write == "catalog" and catalog is None:
        raise fail("--write catalog needs --catalog CATALOG", Exit.USAGE)
    try:
        share, count = parse_target(target)
    except ValueError as e:
        raise fail(str(e), Exit.USAGE) from None
    settings = settings_from(ctx)
    options = options_from(settings, target_share=share, target_count=count, per=per)
    spelled: dict[str, str] = {}
    if catalog is not None:
        spelled = _catalog_paths(catalog)
        in_scope = among(spelled)
    else:
        assert folder is not None
        if not folder.is_dir():
            raise fail(f"{folder} is not a folder", Exit.USAGE)
        in_scope = under(str(folder))
    given = [(paths, decision) for paths, decision in
             ((pick, "pick"), (reject, "reject"), (undecided, "undecided"), (forget, None)) if paths]  # fmt: skip
    client = owner_client(settings)
    try:
        if client is not None:  # the tray app or `serve` owns the index: the cull runs there (remote_run.py)
            with user_errors():
                report = remote_run.cull(
                    client, folder=str(folder) if folder is not None else None,
                    paths=sorted(spelled) if catalog is not None else None, target_share=share,
                    target_count=count, per=per, vectors=vectors,
                    overrides=[{"paths": [os.path.abspath(p) for p in ps], "decision": d} for ps, d in given],
                )  # fmt: skip
        else:
            if not settings.ledger_path.exists():  # nothing indexed: say so, and leave no empty index behind
                raise fail(f"no index at {settings.data_dir}: run `pixel-detective index FOLDER` first")
            with user_errors(), Engine.open(settings, purpose="pixel-detective cull") as engine:
                for paths, decision in given:
                    state.set_override(engine.ledger, [os.path.abspath(p) for p in paths], decision)
                report = cull_index(engine, in_scope, options, use_vectors=vectors)
        rows = [
            {"path": r.path, "decision": str(r.decision), "reasons": list(r.reasons)} for r in report.results
        ]
        written: dict[str, Any] | None = None
        if write == "catalog" and catalog is not None:
            written = _write_catalog(catalog, rows, settings, spelled, dry_run=dry_run, client=client)
        elif write == "lightroom":
            written = _through_lightroom(rows, settings, spelled, client, "")
        elif write == "xmp":
            written = _write_xmp(rows, settings, dry_run=dry_run)
    finally:
        if client is not None:
            client.close()
    if as_json:
        emit_json(
            {
                "notes": report.notes,
                "counts": report.counts,
                "photos": [r.as_dict() for r in report.results],
                **({"written": written} if written is not None else {}),
            }
        )
        return
    for note in report.notes:
        console.print(note, highlight=False, markup=False)
    _print(report)
    if written is not None:
        out.print(written.get("summary", ""), markup=False, highlight=False)


def _catalog_paths(catalog: Path) -> dict[str, str]:
    """indexed spelling → catalog spelling of the catalog's master photos."""
    from bridge.indexing.scan import normalize_root
    from catalog.errors import CatalogError, CatalogLocked
    from catalog.reader import open_catalog

    try:
        with open_catalog(catalog) as cat:
            return {normalize_root(str(p.pure_path)): p.path for p in cat.photos() if not p.is_virtual_copy}
    except CatalogLocked as e:
        raise fail(f"{e} Cull the folder instead: `pixel-detective cull FOLDER --write lightroom` sends the "
                   "decisions through the plug-in.", Exit.LOCKED) from None  # fmt: skip
    except (CatalogError, OSError) as e:
        raise fail(str(e)) from None


def _print(report: Any) -> None:
    from rich.table import Table

    groups = report.groups()
    if not groups:
        out.print("nothing to cull")
        return
    table = Table(show_header=True, header_style="bold")
    for col in ("group", "rank", "decision", "photo", "why"):
        table.add_column(col, overflow="fold")
    for i, members in enumerate(groups, 1):
        for r in members:
            mark = {"pick": "[green]pick[/]", "reject": "[red]reject[/]"}.get(str(r.decision), "undecided")
            if r.overridden:
                mark += " (yours)"
            table.add_row(
                f"{i} {r.group_kind}" if r.rank == 1 else "", str(r.rank), mark, Path(r.path).name, r.sentence
            )
    out.print(table)
    c = report.counts
    out.print(f"{c['pick']} pick(s), {c['reject']} reject(s), {c['undecided']} undecided", highlight=False)


def _write_catalog(
    catalog: Path,
    rows: list[dict[str, Any]],
    settings: Any,
    spelled: dict[str, str],
    *,
    dry_run: bool,
    client: LocalClient | None = None,
) -> dict[str, Any]:
    from bridge.cli.catalog_write_cmd import _fail
    from bridge.lightroom.cullwrite import catalog_changes, collections
    from catalog.errors import CatalogError, CatalogLocked
    from catalog.write import PhotoChange, WriteOptions, apply, plan
    from catalog.write.collections_write import write_collections

    changes = [PhotoChange.from_dict(c) for c in catalog_changes(rows, settings, spelled)]
    members = collections(rows, spelled)
    what = frozenset(k for c in catalog_changes(rows, settings, spelled) for k in c if k != "path")
    try:
        the_plan = plan(catalog, changes, WriteOptions(keyword_parent=None, what=what or frozenset({"pick"})))
        if dry_run:
            return {
                "dry_run": True,
                "plan": the_plan.to_dict(),
                "collections": {k: len(v) for k, v in members.items()},
                "summary": the_plan.summary(),
            }
        report = apply(catalog, the_plan)
        coll = write_collections(catalog, members)
    except CatalogLocked as exc:
        if dry_run:
            raise fail(f"{exc} The decisions are kept in the index.", Exit.LOCKED) from None
        return _through_lightroom(rows, settings, spelled, client, str(exc))
    except (CatalogError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    return {
        "fields_changed": report.fields_changed,
        "photos_touched": report.photos_touched,
        "collections": coll.collections,
        "backup": str(report.backup),
        "summary": f"written to {catalog.name}: {report.fields_changed} field(s) on {report.photos_touched} "
        f"photo(s); collections {', '.join(f'{k} ({v})' for k, v in coll.collections.items())}; "
        f"backup {report.backup}",
    }


LIGHTROOM_WAIT_S = 15.0  # how long a cull without a running tray app waits for the plug-in to connect


def _through_lightroom(
    rows: list[dict[str, Any]],
    settings: Any,
    spelled: dict[str, str],
    client: LocalClient | None,
    locked: str,
) -> dict[str, Any]:
    """Lightroom has the catalog open: the decisions go through the plug-in instead — the running tray app's
    or `serve`'s link when one owns the index, else a link this command opens for the moment."""
    from bridge.api.client import ClientError
    from bridge.lightroom.cullwrite import apply_photos, collections, send_decisions
    from bridge.lightroom.files import bridge_dir, read_ports
    from bridge.lightroom.service import NotConnected, Service

    in_catalog = [{**r, "path": spelled.get(r["path"], r["path"])} for r in rows]
    photos, members = apply_photos(in_catalog, settings), collections(in_catalog)
    members = {k: v for k, v in members.items() if v}
    kept = "The decisions are kept in the index: close Lightroom and run again, or send them from the culling view."
    try:
        if client is not None:
            result = client.send_to_lightroom(photos, members)
        else:
            if (
                read_ports(bridge_dir()) is None
            ):  # no plug-in listening: Lightroom is closed or the plug-in off
                raise NotConnected("no port file")
            service = Service(settings).start()
            try:
                if not service.wait_connected(LIGHTROOM_WAIT_S):
                    raise NotConnected("not connected")
                result = send_decisions(service, photos, members)
            finally:
                service.stop()
    except (ClientError, NotConnected, TimeoutError) as exc:
        why = (
            str(exc)
            if isinstance(exc, ClientError)
            else "the Pixel Detective plug-in did not connect (is Lightroom open with the plug-in enabled?)"
        ).rstrip(".")
        if locked:
            raise fail(
                f"{locked} Sending through Lightroom failed too ({why}). {kept}", Exit.LOCKED
            ) from None
        raise fail(f"could not send the decisions to Lightroom: {why}. They are kept in the index.") from None
    colls = result.get("collections") or {}
    missing = list(result.get("missing") or [])
    return {
        "through": "lightroom",
        "applied": int(result.get("applied", 0)),
        "missing": missing,
        "errors": list(result.get("errors") or []),
        "collections": colls,
        "summary": f"sent to Lightroom through the plug-in: {result.get('applied', 0)} photo(s) set; "
        f"collections {', '.join(f'{k} ({v})' for k, v in colls.items()) or 'none'}"
        + (f"; {len(missing)} photo(s) Lightroom does not know" if missing else ""),
    }


def _write_xmp(rows: list[dict[str, Any]], settings: Any, *, dry_run: bool) -> dict[str, Any]:
    from bridge.lightroom.cullwrite import xmp_update
    from catalog.xmp import plan, write_sidecars

    results: list[dict[str, Any]] = []
    failed = 0
    for r in rows:
        update = xmp_update(r["decision"], settings)
        if update is None:
            continue
        if dry_run:
            for p in plan([Path(r["path"])], update, settings.sidecar_naming):
                results.append({"photo": r["path"], "changes": list(p.changes), "error": p.error})
            continue
        for w in write_sidecars([Path(r["path"])], update, settings.sidecar_naming):
            results.append({"photo": r["path"], "status": w.status, "reason": w.reason})
            failed += w.status == "failed"
    return {
        "sidecars": results,
        "summary": f"{len(results) - failed} sidecar(s) written, {failed} failed"
        if not dry_run
        else "dry run",
    }
