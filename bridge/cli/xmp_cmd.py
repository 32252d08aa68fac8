"""`pixel-detective xmp read` and the writing behind `xmp write` (its options: `writeback_cmd.xmp_write`): XMP
where Lightroom reads it (catalog/xmp/targets.py): a sidecar for RAW files, named after the photo; JPEG, TIFF
and DNG only with `--embed` (inside the file); other formats skipped, each skip reported with its reason."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from catalog.fsutil import FileTooLarge, NotRegularFile
from catalog.xmp import XmpError, XmpUpdate, read_sidecar, sidecar_path
from catalog.xmp.targets import plan_photo, write_photos

_out = Console()
_err = Console(stderr=True)


def check_naming(value: str) -> str:
    if value not in ("name", "name.ext"):
        raise typer.BadParameter("use 'name' (IMG_1.xmp) or 'name.ext' (IMG_1.CR2.xmp)")
    return value


def write_given(
    paths: list[Path], update: XmpUpdate, naming: str, *, embed: bool = False, dry_run: bool, as_json: bool
) -> None:
    """Merge `update` where Lightroom reads each photo's metadata (or, with `dry_run`, show what would change);
    skipped photos are listed with their reason; exit 1 when any photo failed."""
    if dry_run:
        planned = [plan_photo(p, update, naming=naming, embed=embed) for p in paths]  # type: ignore[arg-type]
        rows = [asdict(p) | {"photo": str(p.photo), "sidecar": str(p.sidecar)} for p in planned]
        if as_json:
            print(json.dumps(rows, indent=2))
        for p in [] if as_json else planned:
            if p.error:
                what = f"[red]{p.reason}[/]: {escape(p.error)}"
            elif p.skipped:
                what = f"[yellow]skipped {p.reason}[/]: {escape(p.skipped)}"
            else:
                what = escape("; ".join(p.changes) or "no change")
            kind = "skipped" if p.skipped else "inside the photo" if p.embedded else "merge" if p.exists else "new"
            _out.print(f"[bold]{escape(str(p.sidecar))}[/] ({kind}): {what}", highlight=False)
        raise typer.Exit(1 if any(p.error for p in planned) else 0)
    results = write_photos(paths, update, naming=naming, embed=embed)  # type: ignore[arg-type]
    if as_json:
        print(json.dumps([asdict(r) | {"path": str(r.path)} for r in results], indent=2))
    else:
        for r in results:
            style = {"written": "green", "unchanged": "dim", "failed": "red", "skipped": "yellow"}[r.status]
            extra = f" {r.reason}: {r.detail}" if r.status in ("failed", "skipped") else ""
            _out.print(f"[{style}]{r.status}[/] {escape(str(r.path) + extra)}", highlight=False)
    raise typer.Exit(1 if any(r.status == "failed" for r in results) else 0)


def read_failure(exc: OSError | XmpError) -> tuple[str, str]:
    """A named reason and a one-line message for a sidecar that could not be read (no exception class names)."""
    if isinstance(exc, NotRegularFile | FileTooLarge):
        return exc.reason, f"{exc.strerror}; not read"
    if isinstance(exc, FileNotFoundError):
        return "no-sidecar", "no sidecar file"
    if isinstance(exc, XmpError):
        return "invalid-xmp", f"not valid XMP: {exc}"
    return "io-error", f"cannot read: {exc.strerror or exc}"


def read(
    paths: Annotated[list[Path], typer.Argument(help="Photos (or .xmp files).")],
    naming: Annotated[str, typer.Option(callback=check_naming, help="name | name.ext")] = "name",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show what each photo's sidecar holds (keywords, caption, title, rating, label, scores)."""
    rows, failed = [], False
    for photo in paths:
        try:
            sidecar = photo if photo.suffix.lower() == ".xmp" else sidecar_path(photo, naming)  # type: ignore[arg-type]
        except ValueError:  # ".", "/": no file name to derive a sidecar from
            failed = True
            rows.append(
                {"photo": str(photo), "sidecar": str(photo), "reason": "not-a-photo", "error": "no file name"}
            )
            continue
        try:
            rows.append({"photo": str(photo), "sidecar": str(sidecar)} | asdict(read_sidecar(sidecar)))
        except (OSError, XmpError) as exc:
            failed = True
            reason, detail = read_failure(exc)
            rows.append({"photo": str(photo), "sidecar": str(sidecar), "reason": reason, "error": detail})
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for row in rows:
            _out.print(f"[bold]{escape(row['sidecar'])}[/]", highlight=False)
            for key, value in row.items():
                if key not in ("photo", "sidecar") and value not in (None, (), {}, []):
                    _out.print(escape(f"  {key}: {value}"), highlight=False)
    raise typer.Exit(1 if failed else 0)
