"""`Service`: the Pixel Detective end of the Lightroom bridge (the tray app and `pixel-detective serve`).

It owns (or borrows) an `EngineHost` — or borrows an engine on another machine (`remote.RemoteEngine`: the
tray app or `serve` with `remote_url` set) — writes a fresh token, keeps one plugin session alive through the
`Connector` thread, answers the plugin's requests on a small thread pool, and pushes `apply` /
`show_collection` to the plugin. Optionally it advertises a status port over zeroconf for discovery on
the local network (off by default: the status port says what is indexed, nothing more).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

from bridge import __version__
from bridge.host import EngineHost
from bridge.lightroom import protocol as p
from bridge.lightroom.connection import (
    DEFAULT_TIMEOUTS,
    Connector,
    PluginError,
    PluginSession,
    SessionClosed,
    Timeouts,
)
from bridge.lightroom.files import bridge_dir, ports_path, remove_token, token_path, write_token
from bridge.lightroom.handlers import Handlers
from bridge.lightroom.protocol import ProtocolError
from bridge.lightroom.remote import NeedsLocalEngine, RemoteEngine, needs_local
from bridge.settings import Settings

log = logging.getLogger(__name__)

ZEROCONF_TYPE = "_pixel-detective._tcp.local."


def in_frames(
    photos: Iterable[dict[str, Any]], cap: int = p.MAX_FRAME // 2
) -> Iterator[list[dict[str, Any]]]:
    """`apply` photos in batches whose encoded size stays under `cap` (half a frame: the envelope and the
    plug-in's reply need room): long paths, many keywords and captions could pass the 1 MiB frame cap."""
    batch: list[dict[str, Any]] = []
    size = 0
    for photo in photos:
        n = len(json.dumps(photo, ensure_ascii=False).encode()) + 1
        if batch and size + n > cap:
            yield batch
            batch, size = [], 0
        batch.append(photo)
        size += n
    if batch:
        yield batch


class NotConnected(SessionClosed):
    """A push was asked for while no plugin session is up (Lightroom closed, or the plugin off)."""


class Service:
    def __init__(
        self,
        settings: Settings,
        host: EngineHost | RemoteEngine | None = None,
        *,
        directory: str | Path | None = None,
        advertise: bool = False,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        workers: int = 4,
    ) -> None:
        self.settings = settings
        self.host: EngineHost | RemoteEngine | None = host
        self._own_host = host is None
        self.directory = bridge_dir(directory)
        self.advertise = advertise
        self.timeouts = timeouts
        self.workers = workers
        self.token = ""
        self.started_at: float | None = None
        self._session: PluginSession | None = None
        self._session_info: dict[str, Any] = {}
        self._sessions = 0
        self._past_errors = 0  # protocol errors of sessions that ended
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._pool: ThreadPoolExecutor | None = None
        self._handlers: Handlers | None = None
        self._connector: Connector | None = None
        self._status_sock: socket.socket | None = None
        self._status_thread: threading.Thread | None = None
        self._zeroconf: Any = None
        self._zc_info: Any = None

    @property
    def token_file(self) -> Path:
        return token_path(self.directory)

    @property
    def port_file(self) -> Path:
        return ports_path(self.directory)

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Service:
        """Open the host if none was given (raises `OwnerBusy`), write a new token, start connecting."""
        if self.host is None:
            self.host = EngineHost(self.settings, purpose="pixel-detective service (Lightroom bridge)")
        try:
            self.token = write_token(self.directory)  # before any connection, a new one per start
            self.started_at = time.time()
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="pd-bridge-handler")
            self._handlers = Handlers(self.host, self._pool)
            self._connector = Connector(
                self.directory,
                lambda: self.token,
                version=__version__,
                on_request=self._handlers.submit,
                on_session=self._on_session,
                timeouts=self.timeouts,
            )
            self._connector.start()
            if self.advertise:
                self._start_advertising()
        except BaseException:
            self.stop()  # release the host (and the data dir) we may have just opened
            raise
        return self

    def stop(self) -> None:
        if self._connector is not None:
            self._connector.stop()
            self._connector = None
        if self._handlers is not None:
            self._handlers.close()
            self._handlers = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._stop_advertising()
        if self.token:
            remove_token(self.directory, self.token)
        # Only one it opened: a borrowed host (an EngineHost or a remote engine) is the caller's to close.
        if self._own_host and isinstance(self.host, EngineHost):
            self.host.close()
            self.host = None

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_session(self, session: PluginSession | None) -> None:
        with self._changed:
            old = self._session
            self._session = session
            if session is not None:
                self._sessions += 1
                self._session_info = {
                    "started_at": session.started_at,
                    "plugin": dict(session.plugin),
                    "receive": session.ports.receive,
                    "send": session.ports.send,
                }
            self._changed.notify_all()
        if session is None and old is not None:
            self._past_errors += old.errors
            self._session_info["ended"] = old.close_reason
            if self._handlers is not None:
                self._handlers.session_ended(old)

    def wait_connected(self, timeout: float, connected: bool = True) -> bool:
        """Block until a plugin session is up (or, with `connected=False`, until none is)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (self._session is not None) != connected:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    # -- status --------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        s = self._session
        h = self._handlers
        c = self._connector
        return {
            "running": c is not None and c.alive,
            "lightroom_connected": s is not None and not s.closed.is_set(),
            "plugin": dict(s.plugin) if s else None,
            "ports": {"receive": s.ports.receive, "send": s.ports.send} if s else None,
            "session_started_at": s.started_at if s else None,
            "sessions": self._sessions,
            "requests_served": h.served if h else 0,
            "errors": (h.failed if h else 0) + self._past_errors + (s.errors if s else 0),
            "last_problem": c.last_problem if c else None,
            "token_file": str(self.token_file),
            "port_file": str(self.port_file),
            "started_at": self.started_at,
        }

    # -- pushes --------------------------------------------------------------------------------------
    def _push(self, type_: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
        # A bad push is our bug: refuse it here, not in Lightroom. Only the declared fields are sent.
        body = p.validate_body(type_, body).model_dump(exclude_none=True)
        s = self._session
        if s is None or s.closed.is_set():
            raise NotConnected("Lightroom is not connected (is the Pixel Detective plugin enabled?)")
        reply = s.request(type_, body, timeout)
        return reply.body

    def push_apply(
        self,
        photos: list[dict[str, Any]],
        overwrite_caption: bool = False,
        timeout: float = 120.0,
        keyword_parent: str | None = None,
    ) -> dict[str, Any]:
        """Send keywords / caption / rating / label / pick to Lightroom; returns the plugin's
        `apply.result` `{applied, missing, errors}`. Raises NotConnected, TimeoutError, PluginError."""
        body: dict[str, Any] = {"photos": photos, "overwrite_caption": overwrite_caption}
        if keyword_parent:
            body["keyword_parent"] = keyword_parent
        return self._push("apply", body, timeout)

    def sync_to_lightroom(self, batch: int = 1000, timeout: float = 300.0) -> dict[str, Any]:
        """Push what the index suggests for every indexed photo (AI and rules keywords, AI caption where
        the photo has none, rating/label/pick from the `writeback_rules` setting) to the connected
        Lightroom, in pushes of `batch` photos (a frame holds at most 1 MiB). Photos Lightroom does not
        know come back as `missing`. Returns the summed `apply.result`."""
        from bridge.engine import load_rules
        from bridge.lightroom.changes import changes_from_index, score_rules

        host = self.host
        if host is None:
            raise NotConnected("the service is not started")
        if not isinstance(host, EngineHost) and getattr(host, "remote", False):
            raise NeedsLocalEngine(needs_local("sync", host.url))
        host = cast(EngineHost, host)
        settings = host.settings
        rules = score_rules(None, settings)
        keyword_rules = load_rules(settings)
        led = host.reader()
        paths = sorted(p for ps in led.path_index().values() for p in ps)
        total: dict[str, Any] = {"applied": 0, "missing": [], "errors": [], "photos": 0}

        def send(photos: list[dict[str, Any]]) -> None:
            try:
                res = self.push_apply(photos, timeout=timeout, keyword_parent=settings.keyword_parent)
            except (PluginError, TimeoutError, ProtocolError) as e:  # this batch failed; go on
                total["errors"] += [{"path": ph["path"], "message": str(e)} for ph in photos]
                return
            total["photos"] += len(photos)
            total["applied"] += int(res.get("applied", 0))
            total["missing"] += list(res.get("missing", []))
            total["errors"] += list(res.get("errors", []))

        for i in range(0, len(paths), batch):
            found = changes_from_index(
                led, paths[i : i + batch], keyword_rules=keyword_rules, score_rules=rules
            )
            for photos in in_frames(ph for c in found.values() if (ph := c.apply_photo()) is not None):
                send(photos)
        return total

    def show_collection(
        self, name: str, paths: list[str], timeout: float = 60.0, *, append: bool = False, show: bool = True
    ) -> dict[str, Any]:
        """Show `paths` (in order) as a collection in Lightroom; returns `show_collection.result`. `append`
        adds to the members instead of replacing them; `show` makes it Lightroom's active source."""
        return self._push(
            "show_collection", {"name": name, "paths": paths, "append": append, "show": show}, timeout
        )

    def speaks(self, feature: str) -> bool:
        """Whether the connected plug-in announced `feature` (protocol.FEATURES, e.g. "chunks")."""
        s = self._session
        return s is not None and feature in s.features

    # -- zeroconf ------------------------------------------------------------------------------------
    def _start_advertising(self) -> None:
        """A status-only port (one JSON line per connection, then close) advertised over mDNS."""
        sock = socket.create_server(("0.0.0.0", 0))
        sock.settimeout(0.5)
        self._status_sock = sock
        self._status_thread = threading.Thread(
            target=self._serve_status, name="pd-bridge-status", daemon=True
        )
        self._status_thread.start()
        try:
            from zeroconf import ServiceInfo, Zeroconf

            port = sock.getsockname()[1]
            name = socket.gethostname().split(".")[0] or "pixel-detective"
            self._zc_info = ServiceInfo(
                ZEROCONF_TYPE,
                f"{name}.{ZEROCONF_TYPE}",
                port=port,
                properties={"version": __version__, "protocol": str(p.PROTOCOL_VERSION)},
                server=f"{name}.local.",
                addresses=[socket.inet_aton(ip) for ip in _addresses()],
            )
            self._zeroconf = Zeroconf()
            self._zeroconf.register_service(self._zc_info, allow_name_change=True)
        except Exception as e:  # no multicast (VPN, sandbox): the bridge works without discovery
            log.warning("zeroconf advertisement failed: %s", e)
            self._zeroconf = None

    @property
    def status_port(self) -> int | None:
        sock = self._status_sock
        return int(sock.getsockname()[1]) if sock is not None else None

    def _public_status(self) -> dict[str, Any]:
        """What the LAN may see: no paths, no catalog, no token."""
        st = self.status()
        return {
            "service": p.SERVICE_NAME,
            "version": __version__,
            "protocol": p.PROTOCOL_VERSION,
            "lightroom_connected": st["lightroom_connected"],
            "started_at": st["started_at"],
        }

    def _serve_status(self) -> None:
        sock = self._status_sock
        while sock is not None and self._status_sock is sock:
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.sendall(json.dumps(self._public_status()).encode() + b"\n")

    def _stop_advertising(self) -> None:
        if self._zeroconf is not None:
            with contextlib.suppress(Exception):
                self._zeroconf.unregister_service(self._zc_info)
                self._zeroconf.close()
            self._zeroconf = None
        sock, self._status_sock = self._status_sock, None
        if sock is not None:
            sock.close()
        if self._status_thread is not None:
            self._status_thread.join(5)
            self._status_thread = None


def _addresses() -> list[str]:
    """This machine's IPv4 addresses for the mDNS record (loopback when nothing else is known)."""
    try:
        ips = socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        ips = []
    return [ip for ip in ips if not ip.startswith("127.")] or ["127.0.0.1"]
