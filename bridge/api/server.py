"""`ApiServer`: the REST API served by uvicorn on a thread, over a host someone else owns (the `serve`
command's `Service`, or the tray app), so the plugin socket and the HTTP API share one `EngineHost`.

Loopback by default. Any other address needs TLS — a given certificate or the data dir's self-signed one —
and then only API keys are accepted (the per-user local token is refused off loopback).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from bridge.api import tls
from bridge.api.app import close_app, create_app
from bridge.api.auth import is_loopback_host
from bridge.api.limits import FailureLimiter
from bridge.host import EngineHost

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765


class ApiServerError(Exception):
    """The server cannot start as asked (worded for the user)."""


@dataclass(frozen=True)
class ApiSettings:
    listen: str = "127.0.0.1"
    port: int = DEFAULT_PORT  # 0: any free port (tests)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls: bool | None = None  # None: on exactly when listening beyond loopback (then required)
    self_signed: bool = True  # beyond loopback without a certificate: generate one (False: refuse)
    advertise: bool | None = None  # zeroconf (discovery.py); None: exactly when listening beyond loopback
    webhooks: bool = True  # deliver settings.webhooks (webhooks.py) while serving
    metrics: bool = True  # `/metrics` and its collector
    local_clients: bool = (
        False  # the `/api/v1/local` routes for CLI commands beside the owner (routes/local.py)
    )


def local_token_reader(directory: Path | None = None) -> Callable[[], str | None]:
    """Reads the bridge dir's token file (written by the plugin `Service` at each start) when asked."""
    from bridge.lightroom.files import bridge_dir, token_path

    path = token_path(bridge_dir(directory))

    def read() -> str | None:
        try:
            return path.read_text(encoding="ascii").strip() or None
        except (OSError, UnicodeDecodeError):
            return None

    return read


class ApiServer:
    def __init__(
        self,
        host: EngineHost,
        settings: ApiSettings | None = None,
        *,
        local_token: Callable[[], str | None] | None = None,
        limiter: FailureLimiter | None = None,
    ) -> None:
        self.host = host
        self.limiter = limiter
        self.settings = settings or ApiSettings()
        self.local_token = local_token or local_token_reader()
        self.tls: tls.TlsFiles | None = None
        self.app: Any = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self.advertiser: Any = None
        self.webhooks: Any = None

    @property
    def loopback(self) -> bool:
        return is_loopback_host(self.settings.listen)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = self.settings.listen
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1" if host != "::" else "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self._port or self.settings.port}"

    def _tls(self) -> tls.TlsFiles | None:
        s = self.settings
        if s.tls_cert or s.tls_key:
            if not (s.tls_cert and s.tls_key):
                raise ApiServerError("give both --tls-cert and --tls-key")
            for p in (s.tls_cert, s.tls_key):
                if not Path(p).is_file():
                    raise ApiServerError(f"{p} is not a file")
            return tls.given(s.tls_cert, s.tls_key)
        wanted = s.tls if s.tls is not None else not self.loopback
        if not wanted:
            return None
        if not s.self_signed:
            raise ApiServerError(
                f"listening on {s.listen} (beyond loopback) needs TLS: give --tls-cert and --tls-key"
            )
        return tls.self_signed(self.host.settings.data_dir, s.listen)

    def start(self, timeout: float = 15.0) -> ApiServer:
        s = self.settings
        self.tls = self._tls()
        if not self.loopback and self.tls is None:  # _tls() refuses this; kept as the rule itself
            raise ApiServerError("never serving plain HTTP beyond loopback")
        sock = _bind(s.listen, s.port)
        self._port = sock.getsockname()[1]
        app = create_app(
            self.host, local_token=self.local_token, loopback_only=self.loopback, limiter=self.limiter,
            with_metrics=s.metrics,
        )  # fmt: skip
        if s.local_clients and self.loopback:
            from fastapi import APIRouter

            from bridge.api.app import API_PREFIX
            from bridge.api.routes import local, local_cull

            v1 = APIRouter(prefix=API_PREFIX)
            v1.include_router(local.router)
            v1.include_router(local_cull.router)
            app.include_router(v1)
        self.app = app
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            ssl_certfile=str(self.tls.cert) if self.tls else None,
            ssl_keyfile=str(self.tls.key) if self.tls else None,
            limit_concurrency=256,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="pd-api-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ApiServerError(f"the HTTP server did not start on {s.listen}:{self._port}")
            time.sleep(0.02)
        self._start_companions()
        return self

    def _start_companions(self) -> None:
        """Webhooks when configured; zeroconf beyond loopback. Neither stops the API when it fails."""
        if self.settings.webhooks and self.host.settings.webhooks:
            from bridge.api.webhooks import WebhookDispatcher

            self.webhooks = WebhookDispatcher(self.host)
        advertise = self.settings.advertise if self.settings.advertise is not None else not self.loopback
        if advertise:
            from bridge.discovery import Advertiser

            try:
                self.advertiser = Advertiser(
                    int(self._port or 0),
                    api_path="/api/v1",
                    tls_fingerprint=self.tls.fingerprint if self.tls else "",
                )
            except Exception as e:  # no multicast here (VPN, container): the API works without discovery
                log.warning("not advertised on the local network (zeroconf): %s", type(e).__name__)

    def stop(self, timeout: float = 10.0) -> None:
        for companion in (self.advertiser, self.webhooks):
            if companion is not None:
                try:
                    companion.close()
                except Exception:  # stopping goes on: the server and the host still need closing
                    log.exception("closing %s failed", type(companion).__name__)
        self.advertiser = self.webhooks = None
        if self.app is not None:
            close_app(self.app)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._server = None

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ClientEndpoint:
    """The owner's door for CLI commands started beside it: the API on 127.0.0.1 at a port the system picks,
    with a token of this run, published in the data dir (`bridge.api.endpoint`) until `close()`.

    Its own server, not the `--http` one: that may listen beyond loopback, use TLS or a fixed port, and
    accepts API keys; this one is loopback-only, plain HTTP, and its local routes take this token alone."""

    def __init__(self, host: EngineHost, purpose: str) -> None:
        from bridge.api import endpoint

        self.host = host
        self.token = endpoint.new_token()
        self.server = ApiServer(
            host,
            ApiSettings(listen="127.0.0.1", port=0, advertise=False, webhooks=False, metrics=False,
                        local_clients=True),
            local_token=lambda: self.token,
        ).start()  # fmt: skip
        self.path = endpoint.publish(host.settings.data_dir, self.server.url, self.token, purpose)

    @property
    def url(self) -> str:
        return self.server.url

    def attach_lightroom(self, service: Any) -> None:
        """Let commands beside this process send to Lightroom through its plug-in link (`cull --write catalog`
        while Lightroom has the catalog open): `bridge/api/routes/local_cull.py`."""
        from bridge.api.routes.local_cull import LIGHTROOM

        app = self.server.app
        if app is not None:
            app.state.api.extra[LIGHTROOM] = service

    def close(self) -> None:
        from bridge.api import endpoint

        endpoint.withdraw(self.host.settings.data_dir)  # first: no new client finds a server going away
        self.server.stop()


def serve_local_clients(host: EngineHost, purpose: str) -> ClientEndpoint | None:
    """`ClientEndpoint(host, purpose)`, or None with a warning when it cannot start: the owner still works,
    and commands beside it exit 75 as they did before there were clients."""
    try:
        return ClientEndpoint(host, purpose)
    except Exception as e:
        log.warning("commands beside this process cannot use its engine: %s", type(e).__name__)
        return None


def _bind(listen: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(listen).version == 6 else socket.AF_INET
        addr = listen
    except ValueError:
        if listen != "localhost":
            raise ApiServerError(f"--listen takes an IP address (got {listen!r})") from None
        family, addr = socket.AF_INET, "127.0.0.1"
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only when the listening socket
    # names its protocol; without it a kept-alive response body waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((addr, port))
    except OSError as e:
        sock.close()
        raise ApiServerError(f"cannot listen on {listen}:{port}: {e.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
