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
    """What is indexed: files, vectors per model, failures, the last runs."""
    s = settings_from(ctx)
    led = _ledger(ctx)
    data: dict[str, Any] = {
        "data_dir": str(s.data_dir),
        "model": s.model,
        **led.counts(),
        "stages": [
            {"stage": k[0], "version": k[1], "count": v} for k, v in sorted(led.stage_counts().items())
        ],
        "runs": led.runs(5),
        "notices": _warnings(s, led),
    }
    if as_json:
        emit_json(data)
        return
    for text in data["notices"]:
        out.print(f"[bold yellow]warning:[/] {text}", highlight=False)
    out.print(f"index: {s.data_dir}  (current model {s.model})")
    out.print(
        f"files {data['files']}  distinct contents {data['contents']}  with metadata "
        f"{data['with_metadata']}  failed {data['failed']}"
    )
    for st in data["stages"]:
        out.print(f"  {st['stage']:<9} {st['version']:<40} {st['count']}")
    for i, r in enumerate(data["runs"]):
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["started_at"]))
        sm = r["summary"]
        out.print(
            f"run {r['id']} {started} {r['status']}: {sm.get('files_seen', 0)} seen, embedded "
            f"{sm.get('embedded', 0)}, metadata {sm.get('metadata_read', 0)}, moved {sm.get('repathed', 0)}, "
            f"removed {sm.get('deleted', 0)}, failed {sm.get('failed', 0)} in {sm.get('wall_seconds', 0)}s "
            f"({sm.get('files_per_second') or 0} files/s)",
            highlight=False,
        )
        if i == 0 and sm.get("phase_seconds"):  # the latest run in full: where the time went, what failed
            out.print(
                "  phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in sorted(sm["phase_seconds"].items()))
            )
        if i == 0 and sm.get("failures_by_reason"):
            out.print(
                "  failures: " + ", ".join(f"{k} {v}" for k, v in sorted(sm["failures_by_reason"].items()))
            )


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
