"""`pixel-detective keys create|list|revoke`: the REST API's keys (stored hashed in the data dir)."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Annotated

import typer

from bridge.cli.common import console, fail, out, settings_from
from bridge.cli.exits import Exit

app = typer.Typer(
    help="API keys for the REST API (serve --http): create, list, revoke.", no_args_is_help=True
)

SCOPE_HELP = "read: search and view; index: also jobs; admin: also write-back, export/import, keys"


def _who() -> dict[str, str]:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment
        user = "?"
    return {"key_id": f"cli:{user}", "name": "command line"}


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else ""


@app.command("create")
def create(
    ctx: typer.Context,
    scope: Annotated[str, typer.Option("--scope", help=SCOPE_HELP)],
    name: Annotated[
        str, typer.Option("--name", help="Who or what uses the key (shown in lists and the audit log)")
    ],
) -> None:
    """Create a key; it is printed this once and stored only hashed."""
    from bridge.api.audit import AuditLog
    from bridge.api.keys import KeyError_, KeyStore, Scope

    s = settings_from(ctx)
    if scope not in {sc.value for sc in Scope}:
        raise fail(f"--scope is one of read, index, admin (got {scope!r})", Exit.USAGE)
    try:
        key, secret = KeyStore(s.data_dir).create(name, scope)
    except KeyError_ as e:
        raise fail(str(e), Exit.USAGE) from None
    AuditLog(s.data_dir).record(
        _who(), "key.create", None, key_id=key.id, name=key.name, scope=key.scope.value
    )
    console.print(
        f"created key {key.id} ({key.scope.value}) for {key.name}; it is shown only now:", markup=False
    )
    out.print(secret, markup=False, highlight=False)


@app.command("list")
def list_(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The keys (never their secrets)."""
    from rich.table import Table

    from bridge.api.keys import KeyStore

    keys = KeyStore(settings_from(ctx).data_dir).list()
    if as_json:
        print(json.dumps([k.public() for k in keys], indent=2))
        return
    if not keys:
        out.print("no API keys (create one with `pixel-detective keys create --scope read --name NAME`)")
        return
    t = Table("id", "name", "scope", "created", "revoked")
    for k in keys:
        t.add_row(k.id, k.name, k.scope.value, _when(k.created_at), _when(k.revoked_at))
    out.print(t)


@app.command("revoke")
def revoke(
    ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="The key's id (see `keys list`)")]
) -> None:
    """Revoke a key: it stops working at once, also in a running server."""
    from bridge.api.audit import AuditLog
    from bridge.api.keys import KeyError_, KeyStore

    s = settings_from(ctx)
    try:
        key = KeyStore(s.data_dir).revoke(key_id)
    except KeyError_ as e:
        raise fail(str(e)) from None
    AuditLog(s.data_dir).record(_who(), "key.revoke", None, key_id=key.id, name=key.name)
    out.print(f"revoked key {key.id} ({key.name})", markup=False)
