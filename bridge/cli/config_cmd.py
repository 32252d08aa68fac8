"""`pixel-detective config show|validate|init`: the effective settings and where each came from, a settings file
checked field by field, and a starting settings file per deployment profile."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from bridge.cli.common import emit_json, fail, out, settings_from, user_errors
from bridge.cli.exits import Exit
from bridge.files.settings_file import read_settings_file, write_settings_file
from bridge.settings import ENV_PREFIX, Settings, default_config_file

app = typer.Typer(help="Settings: show where each value comes from, validate a file, start one per profile.",
                  no_args_is_help=True)  # fmt: skip

SECRETS = {"qdrant_api_key", "remote_api_key"}

# What each profile changes from the defaults, and why (the comments are written into the file).
PROFILES: dict[str, tuple[str, dict[str, Any]]] = {
    "laptop": (
        "one machine on battery now and then: few decode workers, models freed when idle, API on loopback",
        {
            "device": "auto",
            "workers": 2,
            "batch_size": 0,
            "model_idle_release_s": 300.0,
            "only_on_ac_power": True,
            "http_listen": "127.0.0.1:8765",
        },
    ),
    "workstation": (
        "a desktop with a GPU: every core decodes, GPU decode and batch size chosen from free GPU memory",
        {
            "device": "cuda",
            "workers": 0,
            "batch_size": 0,
            "device_decode": "auto",
            "http_listen": "127.0.0.1:8765",
        },
    ),
    "server": (
        "an always-on engine for a household or studio: Qdrant server, models kept loaded, API on the LAN "
        "(TLS and API keys are required beyond loopback)",
        {
            "device": "auto",
            "workers": 0,
            "batch_size": 0,
            "model_idle_release_s": 0.0,
            "store": "qdrant",
            "qdrant_url": "http://127.0.0.1:6333",
            "http_listen": "0.0.0.0:8765",
        },
    ),
    "cluster": (
        "the head of a Ray cluster (docs/cluster.md): GPU actors embed, this process writes the ledger and a "
        "replicated Qdrant collection",
        {
            "device": "auto",
            "workers": 0,
            "batch_size": 0,
            "cluster": "auto",
            "cluster_embed": "actors",
            "store": "qdrant",
            "qdrant_url": "http://127.0.0.1:6333",
            "qdrant_replication_factor": 2,
            "model_idle_release_s": 0.0,
            "http_listen": "0.0.0.0:8765",
        },
    ),
}


def _sources(ctx: typer.Context, s: Settings, file_data: dict[str, Any]) -> dict[str, str]:
    flags = dict(ctx.obj or {})
    env = {k.upper() for k in os.environ}
    plain = Settings.model_validate(
        {**file_data, **{k: v for k, v in flags.items() if k in Settings.model_fields}}
    )
    out: dict[str, str] = {}
    for name in Settings.model_fields:
        env_set = (ENV_PREFIX + name).upper() in env
        if name in flags and not (
            env_set and str(os.environ.get((ENV_PREFIX + name).upper())) == str(flags[name])
        ):
            out[name] = "flag"
        elif env_set:
            out[name] = "env"
        elif getattr(plain, name) != getattr(s, name) and name in ("store", "qdrant_url"):
            out[name] = "data dir store.json"
        elif getattr(plain, name) != getattr(s, name) and name == "vocabulary_catalog":
            out[name] = "data dir vocabulary.json"  # the last `index --vocabulary-catalog`
        elif name in file_data:
            out[name] = "file"
        else:
            out[name] = "default"
    return out


def _shown(name: str, value: Any) -> Any:
    if name in SECRETS and value:
        return "***"
    if name == "webhooks":
        return [{**w, "secret": "***" if w.get("secret") else ""} for w in value]
    return value


@app.command("show")
def show(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: {name: {value, source}}.")
    ] = False,
) -> None:
    """Print the effective settings and where each value came from (default, file, env, flag)."""
    path = default_config_file()
    try:
        file_data = read_settings_file(path)
    except ValueError as e:
        raise fail(str(e)) from None
    with user_errors():
        s = settings_from(ctx)
    sources = _sources(ctx, s, file_data)
    values = s.model_dump(mode="json")
    rows = {name: {"value": _shown(name, values[name]), "source": sources[name]} for name in values}
    if as_json:
        emit_json({"settings_file": str(path), "settings": rows})
        return
    out.print(f"# settings file: {path}{'' if path.exists() else ' (absent)'}", highlight=False)
    width = max(map(len, rows))
    for name, row in rows.items():
        typer.echo(f"{name:<{width}}  {row['source']:<8}  {row['value']!r}")  # plain: values are not markup


@app.command("validate")
def validate(
    file: Annotated[Path | None, typer.Argument(help="Settings file (default: the one in use).")] = None,
) -> None:
    """Check a settings file: one line per bad or unknown field; exit 1 when any."""
    path = file or default_config_file()
    if not path.exists():
        raise fail(f"{path}: no such settings file")
    try:
        data = read_settings_file(path)
    except ValueError as e:
        raise fail(str(e)) from None
    problems = [f"{path}: {key}: unknown setting" for key in data if key not in Settings.model_fields]
    try:
        Settings.model_validate(data)  # the file alone: no environment, no other file
    except ValidationError as e:
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(f"{path}: {loc}: {err['msg']} (got {err.get('input')!r})")
    for line in problems:
        typer.echo(line)
    if problems:
        raise typer.Exit(int(Exit.ERROR))
    out.print(f"{path}: ok ({len(data)} setting(s))", highlight=False)


@app.command("init")
def init(
    profile: Annotated[str, typer.Option("--profile", help="laptop, workstation, server or cluster.")],
    file: Annotated[
        Path | None, typer.Option("--file", help="Where (default: the settings file in use).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a settings file with sensible values for a deployment profile (never over one, unless --force)."""
    if profile not in PROFILES:
        raise fail(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}", Exit.USAGE)
    path = file or default_config_file()
    if path.exists() and not force:
        raise fail(
            f"{path} exists; run `pixel-detective config init --profile {profile} --force` to replace it"
        )
    why, values = PROFILES[profile]
    Settings.model_validate(values)  # a profile that does not validate is a bug here, not the user's
    header = (
        f"# Pixel Detective settings: profile {profile!r} ({why}).\n"
        "# Every setting and its default: `pixel-detective config show`; check edits: `pixel-detective config validate`.\n\n"
    )
    write_settings_file(path, values, header)
    out.print(f"wrote {path} (profile {profile})", highlight=False)
