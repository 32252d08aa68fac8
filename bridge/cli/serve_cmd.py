"""`pixel-detective serve`: the Lightroom bridge service, headless, until Ctrl-C / SIGTERM; with `--http`, the
REST API too (`bridge.api`), over the same `EngineHost`.

With a remote engine in the settings (`remote_url`, `pixel-detective remote use`) no index is opened here: the
plug-in's requests are answered by that engine through its REST API (`bridge.api.plugin_remote`), and `--http`
is refused (the API serves an index of this computer's)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bridge.cli.common import console, fail, graceful_stop, settings_from, user_errors
from bridge.cli.exits import Exit

if TYPE_CHECKING:
    from bridge.api.remote_host import ApiHost
    from bridge.api.server import ApiServer, ClientEndpoint
    from bridge.lightroom import Service
    from bridge.settings import Settings


def serve(
    ctx: typer.Context,
    advertise: Annotated[
        bool, typer.Option("--advertise", help="Announce a status port on the local network (zeroconf).")
    ] = False,
    http: Annotated[
        bool, typer.Option("--http", help="Serve the REST API too (see bridge/api/README.md).")
    ] = False,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=1, max=65535, help="The REST API's port (default: settings http_listen, 8765)."
        ),
    ] = None,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            help="Address for the REST API (default 127.0.0.1). Any other address is served over TLS only, "
            "with API keys only.",
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert",
            help="PEM certificate (default beyond loopback: a self-signed one kept in the data dir)",
        ),
    ] = None,  # fmt: skip
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert")] = None,
) -> None:
    """Serve the Lightroom plugin: search, analyze and metadata from Lightroom (runs until Ctrl-C); with
    --http, the REST API as well."""
    from rich.markup import escape

    from bridge.host import EngineHost

    if not http and (listen or tls_cert or tls_key):
        raise fail("--listen, --tls-cert and --tls-key go with --http", Exit.USAGE)
    settings = settings_from(ctx)
    if http and settings.remote_url:
        raise fail(f"--http serves the index of this computer, and the settings name a remote engine "
                   f"({settings.remote_url}): serve the API on that machine, or choose this computer again "
                   "(the plug-in's engine section: Use this computer)", Exit.USAGE)  # fmt: skip
    if http:
        listen, port = _address(settings.http_listen, listen, port)
    with graceful_stop() as stop, user_errors():
        remote: ApiHost | None = _open_remote(settings) if settings.remote_url else None  # ClientError → 1
        try:
            service = _service(settings, remote, advertise)  # OwnerBusy → exit 75
        except BaseException:
            if remote is not None:
                remote.close()
            raise
        api_server: ApiServer | None = None
        clients: ClientEndpoint | None = None
        try:
            if http:
                api_server = _start_http(service, port or 8765, listen, tls_cert, tls_key)
            # `pixel-detective search/index/…` beside it run in this process (not beside a remote engine)
            if isinstance(service.host, EngineHost):
                from bridge.api.server import serve_local_clients

                clients = serve_local_clients(service.host, "`pixel-detective serve`")
                if clients is not None:
                    clients.attach_lightroom(service)  # `cull --write catalog` while Lightroom is open
                    console.print(f"CLI commands beside it (search, index, duplicates, cull, export-db) run here: "
                                  f"{clients.path}", highlight=False)  # fmt: skip
            st = service.status()
            console.print(f"token file: {st['token_file']}", highlight=False)
            console.print(f"port file:  {st['port_file']} (written by the Lightroom plugin)", highlight=False)
            if isinstance(service.host, EngineHost) and service.host.engine.weights_problem:
                console.print(f"[yellow]warning:[/] {service.host.engine.weights_problem}", highlight=False)
            console.print("waiting for Lightroom… (Ctrl-C to stop)")
            connected = False
            problem: str | None = None
            while not stop.wait(0.5):
                st = service.status()
                if st["last_problem"] != problem:  # why the plugin is not connected (refused, stale, …)
                    problem = st["last_problem"]
                    if problem:
                        console.print(
                            f"[yellow]not connected:[/] {escape(problem)}", highlight=False, soft_wrap=True
                        )
                if st["lightroom_connected"] != connected:
                    connected = st["lightroom_connected"]
                    if connected:
                        plugin = st["plugin"] or {}
                        console.print(
                            f"Lightroom connected (plugin {plugin.get('plugin_version', '?')}, "
                            f"catalog {plugin.get('catalog', '?')})",
                            highlight=False,
                        )
                    else:
                        console.print("Lightroom disconnected; waiting for it to come back…")
        finally:
            if clients is not None:
                clients.close()
            if api_server is not None:
                api_server.stop()
            service.stop()
            if remote is not None:
                remote.close()
    raise typer.Exit(int(Exit.OK))


def _open_remote(settings: Settings) -> ApiHost:
    from bridge.api.remote_host import ApiHost

    host = ApiHost(settings)  # the pin checked, then the key: a refusal is a ClientError sentence
    console.print(f"remote engine: {host.url} answers the plug-in (search, similar, analyze, status); the photos "
                  "to analyze must be on that machine under the same path", highlight=False)  # fmt: skip
    return host


def _service(settings: Settings, remote: ApiHost | None, advertise: bool) -> Service:
    from bridge.lightroom import Service

    if remote is None:
        return Service(settings, advertise=advertise).start()
    from bridge.api.plugin_remote import PluginRemote

    return Service(settings, host=PluginRemote(remote), advertise=advertise).start()


def _address(configured: str, listen: str | None, port: int | None) -> tuple[str, int]:
    """--listen / --port, else the `http_listen` setting; beyond loopback only with an explicit --listen."""
    from bridge.api.auth import is_loopback

    host, _, conf_port = configured.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if listen is None:
        if host != "localhost" and not is_loopback(host):
            raise fail(f"settings http_listen is {configured}: serving beyond loopback needs --listen {host}",
                       Exit.USAGE)  # fmt: skip
        listen = host
    if port is None:
        port = int(conf_port) if conf_port.isdigit() else 8765
    return listen, port


def _start_http(
    service: Service, port: int, listen: str | None, cert: Path | None, key: Path | None
) -> ApiServer:
    from bridge.api.server import ApiServer, ApiServerError, ApiSettings
    from bridge.host import EngineHost

    host = service.host
    assert isinstance(host, EngineHost)  # started, on this computer's index (a remote engine refuses --http)
    try:
        server = ApiServer(host, ApiSettings(listen=listen or "127.0.0.1", port=port, tls_cert=cert,
                                             tls_key=key)).start()  # fmt: skip
    except ApiServerError as e:
        raise fail(str(e), Exit.USAGE) from None
    console.print(f"REST API:   {server.url}/api/v1 (docs: {server.url}/api/v1/docs)", highlight=False)
    if server.tls is not None:
        made = " (self-signed, generated in the data dir)" if server.tls.generated else ""
        console.print(f"TLS certificate: {server.tls.cert}{made}", highlight=False)
        console.print(
            f"TLS SHA-256 fingerprint (pin it in clients): {server.tls.fingerprint}", highlight=False
        )
    if server.loopback:
        console.print(
            "REST API on loopback: API keys, or the local token file as an admin key", highlight=False
        )
    else:
        console.print(
            "REST API beyond loopback: API keys only (pixel-detective keys create)", highlight=False
        )
    return server
