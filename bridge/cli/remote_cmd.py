"""`pixel-detective remote list|use`: engines advertised on the local network, and which one to use."""

from __future__ import annotations

from typing import Annotated

import typer

from bridge.cli.common import emit_json, fail, out
from bridge.cli.exits import Exit
from bridge.files.settings_file import read_settings_file, write_settings_file
from bridge.settings import default_config_file

app = typer.Typer(help="Engines on the local network (zeroconf): list them, use one.", no_args_is_help=True)

Seconds = Annotated[
    float, typer.Option("--seconds", min=0.5, max=600, help="How long to listen for answers (0.5-600).")
]
Interfaces = Annotated[
    list[str] | None,
    typer.Option(
        "--interface", help="Only this interface's address (repeatable; default: all).", hidden=True
    ),
]


def _addresses(values: list[str] | None) -> list[str] | None:
    """--interface values: IP addresses of this machine's interfaces, else a one-line error."""
    import ipaddress

    for v in values or []:
        try:
            ipaddress.ip_address(v)
        except ValueError:
            raise fail(f"--interface takes an IP address of this machine (got {v!r})", Exit.USAGE) from None
    return values


@app.command("list")
def list_cmd(
    seconds: Seconds = 3.0,
    interface: Interfaces = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """Browse for a few seconds and list the engines found (name, address, port, TLS fingerprint)."""
    from bridge.discovery import browse

    found = browse(seconds, interfaces=_addresses(interface))
    if as_json:
        emit_json([{**e.__dict__, "addresses": list(e.addresses), "url": e.url} for e in found])
        return
    if not found:
        out.print(f"no engine answered within {seconds:g} s", highlight=False)
        return
    for e in found:
        addr = ", ".join(e.addresses) or "?"
        # plain text, tab-separated: no Rich markup or emoji codes (":CD:" in a fingerprint is one)
        typer.echo(f"{e.name}\t{addr}\t{e.port}\t{e.tls_fingerprint or 'no TLS'}\tversion {e.version or '?'}")


@app.command("use")
def use(
    name: Annotated[str, typer.Argument(help="The engine's name as `remote list` shows it.")],
    key: Annotated[
        str, typer.Option("--key", help="An API key that engine issued (`pixel-detective keys`).")
    ],
    seconds: Seconds = 3.0,
    interface: Interfaces = None,
) -> None:
    """Check KEY against the engine (TLS pinned to its advertised fingerprint), then store its URL, fingerprint and
    KEY in the settings file (remote_url, remote_api_key, remote_tls_fingerprint); a refusal writes nothing."""
    from bridge.discovery import browse
    from bridge.lightroom.engines import refusal
    from bridge.pinned import EngineCheck, check_key

    found = browse(seconds, interfaces=_addresses(interface))
    match = [e for e in found if name in (e.name, e.display_name)]
    if not match:
        names = ", ".join(e.name for e in found) or "none"
        raise fail(f"no engine named {name!r} answered within {seconds:g} s (found: {names})", Exit.ERROR)
    engine = match[0]
    try:  # the same check as the plug-in's `engine.use` and the tray's settings: the key goes out only on a
        check_key(engine.url, engine.tls_fingerprint, key)  # connection whose certificate has the pin
    except EngineCheck as e:
        raise fail(f"{refusal(e.kind, engine.display_name or engine.name)[1]} Nothing was stored.") from None
    path = default_config_file()
    try:
        data = read_settings_file(path)
    except ValueError as e:
        raise fail(str(e)) from None
    data.update(remote_url=engine.url, remote_api_key=key, remote_tls_fingerprint=engine.tls_fingerprint)
    write_settings_file(path, data)
    out.print(f"using {engine.name} at {engine.url} (settings in {path})", highlight=False)
