"""`pixel-detective catalog write` and `xmp write`, able to take their changes from the index
(`--from-index`): AI keywords (full paths reusing the catalog's own keywords), keywords from the user's
rules, AI captions (only where a photo has none, unless told to overwrite), quality scores (`pd:` properties
in XMP) and the rating / label / pick the score rules decide ("sharpness < 0.2 -> pick -1"; XMP has no pick).
Both read the index through `bridge.lightroom.changes`, the conversion the plugin's Apply and the tray's Sync
use too. Score rules: the `--rule`s given replace the `writeback_rules` setting; none given, the setting's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridge.cli.common import console, fail, settings_from
from bridge.cli.exits import Exit
from catalog.write import FIELDS
from catalog.write.model import DEFAULT_PARENT, PhotoChange, WriteOptions
from catalog.write.rules import Rule

if TYPE_CHECKING:
    from bridge.lightroom.changes import LightroomChange

RULE_HELP = (
    'Score rule, e.g. "sharpness < 0.2 -> pick -1" or "quality >= 0.8 -> rating 4" '
    "(scores: quality, sharpness, exposure, noise, motion_blur). With --from-index these replace the "
    "writeback_rules setting (none given: the setting's); with --changes they add to the file's rules."
)


def _index_changes(
    ctx: typer.Context, paths: list[str], rules: tuple[Rule, ...], *, keywords: bool, caption: bool
) -> dict[str, LightroomChange]:
    from bridge.engine import load_rules
    from bridge.lightroom.changes import changes_from_index
    from bridge.state.ledger import Ledger, LedgerError

    s = settings_from(ctx)
    try:
        led = Ledger(s.ledger_path, readonly=True)  # reading only: no need to own the index
    except LedgerError as e:
        raise fail(str(e)) from None
    try:
        return changes_from_index(
            led, paths, keyword_rules=load_rules(s), score_rules=rules, keywords=keywords, caption=caption
        )
    finally:
        led.close()


def catalog_write(
    ctx: typer.Context,
    catalog: Annotated[Path, typer.Argument(help="Path to the .lrcat file")],
    changes: Annotated[
        Path | None, typer.Option("--changes", help="JSON file with per-photo changes")
    ] = None,
    from_index: Annotated[
        bool,
        typer.Option(
            "--from-index",
            help="Take the changes from the index: AI keywords, rules' keywords, AI captions, scores.",
        ),
    ] = False,
    what: Annotated[str, typer.Option("--what", help=f"comma list of {','.join(FIELDS)}")] = ",".join(FIELDS),
    rule: Annotated[list[str] | None, typer.Option("--rule", help=RULE_HELP)] = None,
    keyword_parent: Annotated[
        str | None,
        typer.Option(
            help=f"Top-level keyword for new keywords ('' for none; default: settings, {DEFAULT_PARENT!r})."
        ),
    ] = None,
    overwrite_caption: Annotated[
        bool, typer.Option(help="Replace captions the photos already have.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan, write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Write keywords, captions, ratings, labels and picks into a closed Lightroom catalog (backup first)."""
    from bridge.cli.catalog_write_cmd import _fail, run_write
    from catalog.errors import CatalogError
    from catalog.write import load_changes

    if (changes is None) == (not from_index):
        raise fail("give either --changes FILE.json or --from-index", Exit.USAGE)
    s = settings_from(ctx)
    if keyword_parent is None:
        keyword_parent = s.keyword_parent
    try:
        if changes is not None:
            photos, options = load_changes(changes)
            options.rules = options.rules + tuple(Rule.parse(r) for r in rule or ())
        else:
            from bridge.indexing.scan import normalize_root
            from bridge.lightroom.changes import score_rules
            from catalog.reader import open_catalog

            with open_catalog(catalog) as cat:
                # Lightroom spells paths with "/" everywhere; the index with the OS's own separators.
                spelled = {
                    normalize_root(str(p.pure_path)): p.path for p in cat.photos() if not p.is_virtual_copy
                }
            paths = sorted(spelled)
            wanted = {w.strip() for w in what.split(",")}
            rules = score_rules(rule, s)
            found = _index_changes(
                ctx, paths, rules, keywords="keywords" in wanted, caption="caption" in wanted
            )
            photos = [PhotoChange.from_dict(ch.catalog_change(spelled[ch.path])) for ch in found.values()]
            # The changes carry the rules' rating / label / pick: the options need no rules of their own.
            options = WriteOptions(keyword_parent=keyword_parent or None, overwrite_caption=overwrite_caption)
            if not as_json:
                console.print(f"{len(photos)} of {len(paths)} catalog photos have suggestions in the index")
        options.what = frozenset(w.strip() for w in what.split(",") if w.strip())
        options.__post_init__()
    except (CatalogError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    run_write(catalog, photos, options, dry_run=dry_run, as_json=as_json)


def xmp_write(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Photos; each one's sidecar is derived from its name.")],
    from_index: Annotated[
        bool,
        typer.Option(
            "--from-index",
            help="Write what the index has for each photo: AI keywords, rules' keywords, AI caption, scores.",
        ),
    ] = False,
    keywords: Annotated[
        list[str], typer.Option("--keywords", "-k", help="Flat keywords, comma-separated.")
    ] = [],  # noqa: B006
    keyword_path: Annotated[list[str], typer.Option("--keyword-path", help="Keyword path A|B|C.")] = [],  # noqa: B006
    caption: Annotated[str | None, typer.Option(help="Caption (only where empty).")] = None,
    title: Annotated[str | None, typer.Option(help="Title (only where empty).")] = None,
    rating: Annotated[int | None, typer.Option(min=0, max=5)] = None,
    label: Annotated[str | None, typer.Option(help="Colour label text, e.g. Red.")] = None,
    overwrite_caption: Annotated[bool, typer.Option(help="Replace an existing caption.")] = False,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            "--rule",
            help='With --from-index: a score rule for rating / label, e.g. "quality >= 0.8 -> rating 4"; '
            "given, these replace the writeback_rules setting (none given: the setting's).",
        ),
    ] = None,
    naming: Annotated[str | None, typer.Option(help="name | name.ext (default: settings)")] = None,
    embed: Annotated[
        bool,
        typer.Option(
            "--embed",
            help="Also write JPEG, TIFF and DNG files: into the XMP inside the file, where Lightroom reads it "
            "(the original is changed; without it they are skipped: Lightroom ignores sidecars beside them).",
        ),
    ] = False,
    keyword_parent: Annotated[
        str | None,
        typer.Option(
            help="With --from-index: the keyword the AI keywords go under ('' for none; default: settings, "
            f"{DEFAULT_PARENT!r})."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would change; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Write keywords, caption, title, rating, label (and scores) where Lightroom reads them, merged: a sidecar
    for RAW files; JPEG/TIFF/DNG only with --embed (inside the file); other formats are skipped."""
    from bridge.cli import xmp_cmd

    naming = xmp_cmd.check_naming(naming or settings_from(ctx).sidecar_naming)
    if not from_index:
        if rule:
            raise fail("--rule goes with --from-index (give --rating / --label otherwise)", Exit.USAGE)
        from catalog.xmp import XmpUpdate

        flat = [k.strip() for group in keywords for k in group.split(",") if k.strip()]
        update = XmpUpdate(
            keywords=tuple(flat + list(keyword_path)),
            caption=caption,
            overwrite_caption=overwrite_caption,
            title=title,
            rating=rating,
            label=label,
        )
        xmp_cmd.write_given(paths, update, naming, embed=embed, dry_run=dry_run, as_json=as_json)
        return
    import json as _json
    import os

    from bridge.lightroom.changes import score_rules
    from catalog.xmp.targets import plan_photo, write_photo
    from catalog.xmp.write import photo_problem

    if keyword_parent is None:
        keyword_parent = settings_from(ctx).keyword_parent
    tops: tuple[str, ...] = ()
    if keyword_parent:
        from bridge.analyses.vocabulary import catalog_top_keywords

        tops, unread = catalog_top_keywords(settings_from(ctx).vocabulary_catalog)
        if unread and not as_json:
            console.print(f"note: {unread}: every AI keyword goes under {keyword_parent!r}", markup=False)

    try:
        rules = score_rules(rule, settings_from(ctx))
    except ValueError as e:
        raise fail(str(e)) from None  # as `catalog write` says a bad rule: exit 1
    resolved = [os.path.abspath(p) for p in paths]
    # A photo that is gone (or a folder/FIFO) gets no sidecar, whatever the index still remembers of it.
    rows: list[dict[str, Any]] = []
    for path in resolved:
        problem = photo_problem(Path(path))
        if problem is not None:
            rows.append({"photo": path, "status": "failed", "reason": problem[0], "detail": problem[1]})
    failed = bool(rows)
    refused = {row["photo"] for row in rows}
    found = _index_changes(ctx, [p for p in resolved if p not in refused], rules, keywords=True, caption=True)
    missing = [p for p in resolved if p not in found and p not in refused]
    if missing and not as_json:
        console.print(
            f"{len(missing)} photo(s) have nothing in the index (not indexed yet?), e.g. {missing[0]}",
            markup=False,
        )
    for path, change in sorted(found.items()):
        update = change.xmp_update(
            overwrite_caption=overwrite_caption, keyword_parent=keyword_parent, keyword_tops=tops
        )
        if dry_run:
            p = plan_photo(Path(path), update, naming=naming, embed=embed)  # type: ignore[arg-type]
            rows.append(
                {"photo": path, "sidecar": str(p.sidecar), "changes": list(p.changes), "error": p.error,
                 "reason": p.reason, "status": "skipped" if p.skipped else None, "detail": p.skipped or None}
            )  # fmt: skip
            failed |= bool(p.error)
            continue
        r = write_photo(Path(path), update, naming=naming, embed=embed)  # type: ignore[arg-type]
        rows.append({"photo": path, "status": r.status, "reason": r.reason, "detail": r.detail})
        failed |= r.status == "failed"
    if as_json:
        print(_json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for row in rows:
            typer.echo(_describe(row))
    raise typer.Exit(1 if failed else 0)


def _describe(row: dict[str, Any]) -> str:
    """One line per photo: status (or the dry-run's changes), then the named reason and detail of a failure."""
    state = row.get("status") or ("; ".join(row.get("changes", ())) or "no change")
    if row.get("error"):
        state = "failed"
    reason = f" {row['reason']}:" if row.get("reason") else ""
    detail = row.get("detail") or row.get("error")
    return f"{row['photo']}: {state}{reason}{' ' + str(detail) if detail else ''}"
