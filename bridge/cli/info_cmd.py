"""`pixel-detective status`, `failures` and `doctor`: read-only views of the index and the machine."""

from __future__ import annotations

import importlib
import platform
import sqlite3
import sys
import time
from dataclasses import asdict
from importlib.metadata import version
from typing import Annotated, Any

import typer
from rich.table import Table

from bridge.cli.common import emit_json, out, settings_from
from bridge.cli.exits import Exit
from bridge.files import datadir
from bridge.settings import Settings
from bridge.state.ledger import Ledger, LedgerError


def _ledger(ctx: typer.Context) -> Ledger:
    s = settings_from(ctx)
    try:
        return Ledger(s.ledger_path, readonly=True)
    except LedgerError as e:
        out.print(str(e))
        raise typer.Exit(int(Exit.ERROR)) from None


def status(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What is indexed: photos, what is searchable, the model, failures and the last runs, in words."""
    s = settings_from(ctx)
    led = _ledger(ctx)
    data: dict[str, Any] = {
        "data_dir": str(s.data_dir),
        "model": s.model,
        "model_weights": _model_state(s),
        "vocabulary_catalog": str(s.vocabulary_catalog) if s.vocabulary_catalog else None,
        "builtin_vocabulary": s.builtin_vocabulary,
        **led.counts(),
        "stages": [
            {"stage": k[0], "version": k[1], "count": v} for k, v in sorted(led.stage_counts().items())
        ],
        "people": _people_counts(led),
        "runs": led.runs(5),
        "notices": _warnings(s, led),
    }
    if as_json:
        emit_json(data)
        return
    for text in data["notices"]:
        out.print(f"[bold yellow]warning:[/] {text}", highlight=False)
    lines = _status_lines(data)
    width = max(len(label) for label, _ in lines) + 2
    for label, value in lines:
        out.print(f"{label + ':':<{width}}{value}", highlight=False)


STAGE_WORDS = {  # ledger stage → what it gives a photographer
    "embed": "Searchable by content",
    "metadata": "Metadata read",
    "quality": "Quality scored",
    "dupsig": "Checked for duplicates",
    "keywords": "AI keywords",
    "caption": "AI captions",
    "faces": "Checked for faces",
    "composition": "Composition scored",
}


def _people_counts(led: Ledger) -> dict[str, int]:
    """People found by clustering faces and how many of them have a name (`people list`)."""
    from bridge.state.people import People

    rows = [p for p in People(led).people() if p.faces]
    return {"found": len(rows), "named": sum(1 for p in rows if p.name)}


def _model_state(s: Settings) -> str:
    """ready (weights here), missing, or unknown (a model id this machine does not know)."""
    from bridge.models.registry import ModelError, WeightsMissing, resolve

    try:
        resolve(s.model, s.models_dir)
    except WeightsMissing:
        return "missing"
    except ModelError:
        return "unknown"
    return "ready"


def _status_lines(data: dict[str, Any]) -> list[tuple[str, str]]:
    """`status` for people: labelled lines in words and grouped numbers, no internal keys."""
    weights = {
        "ready": "ready",
        "missing": "weights missing: `pixel-detective models download` (online) or `models import` (offline)",
        "unknown": "unknown model: see `pixel-detective models list`",
    }[data["model_weights"]]
    lines = [
        ("Index", data["data_dir"]),
        ("Model", f"{data['model']} ({weights})"),
        ("Keyword vocabulary", _vocabulary_words(data)),
        ("Photos indexed", f"{data['files']:,}" + _distinct(data)),
    ]
    by_stage: dict[str, int] = {}
    for st in data["stages"]:
        if st["stage"] == "embed" and st["version"] != data["model"]:
            continue  # vectors of another model do not make this model's search work
        by_stage[st["stage"]] = by_stage.get(st["stage"], 0) + st["count"]
    for stage, words in STAGE_WORDS.items():
        if stage in by_stage:
            lines.append((words, f"{by_stage[stage]:,} of {data['contents']:,}"))
    if "embed" not in by_stage and data["files"]:
        lines.append(("Searchable by content", "none yet: metadata filters (`search --where`) still work"))
    people = data["people"]
    if people["found"]:
        lines.append(
            (
                "People",
                f"{people['found']:,} found, {people['named']:,} named (see `pixel-detective people list`)",
            )
        )
    failed = data["failed"]
    lines.append(("Failed", f"{failed:,} (see `pixel-detective failures`)" if failed else "none"))
    reasons = data["runs"][0]["summary"].get("failures_by_reason") if data["runs"] else None
    if reasons:
        said = ", ".join(f"{n:,} {reason.replace('_', ' ')}" for reason, n in sorted(reasons.items()))
        lines.append(("Failed in the last run", said))
    for i, run in enumerate(data["runs"][:3]):
        lines.append(("Last run" if i == 0 else "Earlier run", _run_words(run)))
    if not data["runs"]:
        lines.append(("Last run", "never: run `pixel-detective index FOLDER`"))
    return lines


def _vocabulary_words(data: dict[str, Any]) -> str:
    """Which vocabulary keywords come from (the catalog a past `index --vocabulary-catalog` chose is kept)."""
    builtin = "the built-in photography vocabulary" if data.get("builtin_vocabulary", True) else ""
    if not data.get("vocabulary_catalog"):
        return builtin or "none"
    return f"your keywords in {data['vocabulary_catalog']}" + (f" + {builtin}" if builtin else "")


def _distinct(data: dict[str, Any]) -> str:
    extra = data["files"] - data["contents"]
    return f" ({extra:,} of them copies of another)" if extra > 0 else ""


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _run_words(run: dict[str, Any]) -> str:
    from bridge.indexing.summary import rate_words

    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run["started_at"]))
    sm = run["summary"]
    status = {"completed": "completed", "stopped": "stopped (resumes on the next run)"}.get(
        run["status"], run["status"]
    )
    parts = [f"{started}, {run['kind']} {status}"]
    if sm.get("wall_seconds"):
        parts.append(f"in {_duration(sm['wall_seconds'])}")
    counts = [
        (sm.get("files_seen", 0), "photos seen"),
        (sm.get("embedded", 0), "newly searchable"),
        (sm.get("metadata_read", 0), "metadata read"),
        (sm.get("repathed", 0), "moved or renamed"),
        (sm.get("deleted", 0), "removed"),
        (sm.get("failed", 0), "failed"),
    ]
    said = ", ".join(f"{n:,} {w}" for n, w in counts if n)
    rate = rate_words(sm.get("files_per_second"))
    return " ".join(parts) + (f": {said}" if said else "") + (f" ({rate})" if rate else "")


def _warnings(s: Settings, led: Ledger) -> list[str]:
    """What the user must know about the index itself: a store being rebuilt, an unfinished switch."""
    said = [n["text"] for n in datadir.open_notices(s.data_dir, led.runs(50))]
    if datadir.switch_pending(s.data_dir):
        said.append(
            "an index replacement (import-db) was interrupted; the next command that opens the index "
            "(e.g. `pixel-detective index`) completes it"
        )
    return said


def failures(
    ctx: typer.Context,
    reason: Annotated[str | None, typer.Option(help="Only this reason (e.g. truncated).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Which files failed, why, and how often they were tried."""
    rows = [f for f in _ledger(ctx).failures() if reason is None or f.reason == reason]
    if as_json:
        emit_json([asdict(f) for f in rows])
        return
    if not rows:
        out.print("no failures")
        return
    t = Table("reason", "stage", "tries")
    t.add_column("path", overflow="fold")
    t.add_column("detail", overflow="fold")
    for f in rows:
        t.add_row(f.reason, f.stage, str(f.attempts), f.path, f.detail or "")
    out.print(t)


def doctor(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the environment: Python, libraries, model weights, vector store, ledger."""
    from bridge.models.registry import WeightsMissing, resolve

    s = settings_from(ctx)
    checks: list[dict[str, Any]] = []

    def check(name: str, fn: Any) -> None:
        try:
            detail = fn()
            checks.append({"check": name, "ok": True, "detail": detail})
        except Exception as e:  # doctor reports every problem instead of stopping at the first
            checks.append({"check": name, "ok": False, "detail": str(e) or type(e).__name__})

    check("python", lambda: f"{platform.python_version()} on {platform.platform()}")
    dists = {
        "torch": "torch",
        "torchvision": "torchvision",
        "open_clip": "open_clip_torch",
        "qdrant_edge": "qdrant-edge-py",
        "qdrant_client": "qdrant-client",
        "pyexiv2": "pyexiv2",
        "rawpy": "rawpy",
        "pillow_heif": "pillow-heif",
        "PIL": "pillow",
        "sqlite_utils": "sqlite-utils",
    }
    for mod, dist in dists.items():
        check(mod, lambda m=mod, d=dist: (importlib.import_module(m), version(d))[1])

    def weights() -> str:
        try:
            rw = resolve(s.model, s.models_dir)
        except WeightsMissing:
            raise
        return f"{s.model}: {rw.source} {rw.weights_file or ''}"

    check("model weights", weights)
    check("data dir", lambda: f"{s.data_dir} ({'exists' if s.data_dir.exists() else 'will be created'})")

    def ledger() -> str:
        if not s.ledger_path.exists():
            return "no index yet"
        led = Ledger(s.ledger_path, readonly=True)
        if not led.integrity_ok():
            raise RuntimeError("ledger quick_check failed")
        return f"schema {led.schema_version()}, {led.counts()['files']} files"

    check("ledger", ledger)
    _index_checks(s, checks)

    def owner() -> str:
        from bridge.state.owner import OwnerBusy, Ownership

        try:
            with Ownership(s.data_dir, "pixel-detective doctor"):
                return "free"
        except OwnerBusy as e:
            return f"in use: {e}"

    check("index owner", owner)
    from bridge.models.replicas import parse_devices

    check("torch device", lambda: ", ".join(parse_devices(s.device)))
    ok = all(c["ok"] for c in checks)
    if as_json:
        emit_json({"ok": ok, "checks": checks})
    else:
        for c in checks:
            mark = "[green]ok[/]" if c["ok"] else "[red]FAIL[/]"
            out.print(f"{mark:>14}  {c['check']:<14} {c['detail']}", highlight=False)
    if not ok:
        raise typer.Exit(int(Exit.ERROR))
    sys.stdout.flush()


def _index_checks(s: Settings, checks: list[dict[str, Any]]) -> None:
    """The index against itself: private files, stores against the ledger, repairs still owed."""
    from bridge.indexing.consistency import inspect_stores

    checks.append(_permissions(s))
    if not s.ledger_path.exists():
        return
    try:
        led = Ledger(s.ledger_path, readonly=True)
    except (LedgerError, sqlite3.Error) as e:
        checks.append({"check": "vector store", "ok": False, "detail": f"not checked: {e}"})
        return
    try:
        for name, ok, detail in inspect_stores(s, led):
            checks.append({"check": name, "ok": ok, "detail": detail})
        for text in _warnings(s, led):
            checks.append({"check": "repair pending", "ok": False, "detail": text})
    except Exception as e:  # doctor reports every problem instead of stopping at the first
        checks.append({"check": "vector store", "ok": False, "detail": str(e) or type(e).__name__})
    finally:
        led.close()


def _permissions(s: Settings) -> dict[str, Any]:
    loose = [
        f"{p} is {oct(p.stat().st_mode & 0o777)}"
        for p in (s.data_dir, s.ledger_path)
        if p.exists() and p.stat().st_mode & 0o077
    ]
    if loose:
        detail = "; ".join(loose) + " (others can read your index; fixed on the next `pixel-detective index`)"
        return {"check": "permissions", "ok": False, "detail": detail}
    return {"check": "permissions", "ok": True, "detail": "data folder and ledger private to this user"}
