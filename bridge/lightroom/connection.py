"""The service's side of one plugin session, and the loop that (re)connects to the plugin.

Lightroom's `LrSocket` can only listen, so the plugin listens on two ports and we are the TCP client:
we write to its `receive` port and read from its `send` port. One `PluginSession` is one pair of
connections from hello to close; `Connector` runs on one thread, reads the port file, opens a session,
runs its read loop on that same thread, and goes back to the port file (with backoff) when it ends.

Whoever listens on those ports is a stranger until it proves it knows the token (bridge/lightroom/auth.py):
before that the service sends it a hello with a nonce and nothing else, and a listener that fails is
reported (`Connector.last_problem`, the log) and left alone until the port file changes.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.lightroom.auth import new_nonce, plugin_proof, same, service_proof
from bridge.lightroom.files import Ports, PortsProblem, load_ports
from bridge.lightroom.peers import foreign_listener
from bridge.lightroom.protocol import (
    BOTH,
    FEATURES,
    MAX_FRAME,
    MESSAGES,
    PROTOCOL_VERSION,
    SERVICE_NAME,
    TO_SERVICE,
    Frame,
    LineReader,
    ProtocolError,
    TooLarge,
    encode,
    error_frame,
    parse_frame,
)

log = logging.getLogger(__name__)

# Frames the service takes from the plugin: its requests, heartbeats, and replies to our pushes.
HANDSHAKE_REPLIES = ("hello.ack", "auth.ok")
ACCEPT = tuple(
    t
    for t, m in MESSAGES.items()
    if (m.direction in (TO_SERVICE, BOTH) and t not in HANDSHAKE_REPLIES) or t == "error"
)


@dataclass(frozen=True)
class Timeouts:
    connect: float = 3.0  # TCP connect to a localhost port
    ack: float = 5.0  # hello → hello.ack (the plugin gives us 5 s for the hello itself)
    ping_after: float = 10.0  # silence before we ping
    dead_after: float = 30.0  # silence before the plugin counts as gone
    write: float = 10.0  # one frame's sendall; a plugin that stops reading is a dead plugin
    poll: float = 0.25  # how often blocked reads wake up to check heartbeat and stop flags
    port_poll: float = 0.5  # how often a missing port file is looked for again
    backoff_min: float = 0.2
    backoff_max: float = 5.0


DEFAULT_TIMEOUTS = Timeouts()


class SessionClosed(ConnectionError):
    pass


class HandshakeError(ConnectionError):
    pass


class Impostor(HandshakeError):
    """The listener on the plugin's ports could not prove it knows the token."""


class PluginError(Exception):
    """The plugin answered a pushed request with an `error` frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass
class _Pending:
    event: threading.Event = field(default_factory=threading.Event)
    reply: Frame | None = None


RequestHandler = Callable[[Frame, "PluginSession"], None]


class PluginSession:
    def __init__(
        self,
        ports: Ports,
        token: str,
        *,
        version: str,
        on_request: RequestHandler,
        timeouts: Timeouts = Timeouts(),
        host: str = "127.0.0.1",
    ) -> None:
        self.ports, self.token, self.version = ports, token, version
        self.on_request, self.timeouts, self.host = on_request, timeouts, host
        self.out: socket.socket | None = None  # to the plugin's `receive` port
        self.inp: socket.socket | None = None  # from the plugin's `send` port
        self._reader: LineReader | None = None
        self._write_lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._pending_lock = threading.Lock()
        self.closed = threading.Event()
        self.close_reason = ""
        self.plugin: dict[str, str] = {}
        self.features: frozenset[str] = frozenset()  # optional protocol features the plugin announced
        self.started_at: float | None = None
        self.requests = 0
        self.errors = 0
        self._last_heard = time.monotonic()
        self._last_ping = 0.0

    # -- handshake -----------------------------------------------------------------------------------
    def open(self) -> None:
        """Connect to both ports and run the handshake (hello → hello.ack → auth → auth.ok); raises
        OSError / HandshakeError (Impostor when the listener fails the challenge)."""
        t = self.timeouts
        self.out = socket.create_connection((self.host, self.ports.receive), timeout=t.connect)
        self.inp = socket.create_connection((self.host, self.ports.send), timeout=t.connect)
        for s in (self.out, self.inp):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small frames, latency matters
        self.out.settimeout(t.write)
        self.inp.settimeout(t.poll)
        self._reader = LineReader.for_socket(self.inp)
        nonce_s = new_nonce()
        body = {
            "nonce": nonce_s,
            "service": SERVICE_NAME,
            "version": self.version,
            "protocol": PROTOCOL_VERSION,
            "features": list(FEATURES),
        }
        hello = Frame("hello", body)
        ack = self._exchange(hello, "hello.ack")
        receive, send = self.ports.receive, self.ports.send
        nonce_p = ack.body["nonce"]
        # Nothing more goes out until the listener has shown it holds the token: an impostor gets a
        # random nonce and a closed connection, never a proof it could replay or a single result.
        if not same(plugin_proof(self.token, nonce_s, nonce_p, receive, send), ack.body["proof"]):
            raise Impostor(
                f"the program listening on ports {receive}/{send} failed the challenge (it does not know "
                "the token): not the Pixel Detective plugin; nothing was sent to it"
            )
        ok = self._exchange(
            Frame("auth", {"proof": service_proof(self.token, nonce_p, nonce_s, receive, send)}), "auth.ok"
        )
        self.plugin = {k: str(v) for k, v in ok.body.items() if k != "features"}
        said = ok.body.get("features")
        # Only what both sides speak: a plugin before "chunks" gets whole replies (or `too_large`).
        self.features = frozenset(x for x in said if x in FEATURES) if isinstance(said, list) else frozenset()
        self.started_at = time.time()
        self._last_heard = time.monotonic()

    def _exchange(self, frame: Frame, reply: str) -> Frame:
        """Send one handshake frame and read the plugin's next frame, which must be its `reply`."""
        if not self.send(frame):
            raise HandshakeError(f"{frame.type} not delivered: {self.close_reason}")
        assert self._reader is not None
        deadline = time.monotonic() + self.timeouts.ack
        while True:
            try:
                item = self._reader.read_line()
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise HandshakeError(f"no {reply} within {self.timeouts.ack:g} s") from None
                continue
            if item is None:
                raise HandshakeError(
                    f"the plugin closed the connection instead of answering {frame.type} "
                    "(it refused our proof, or it is an older plugin)"
                )
            if isinstance(item, TooLarge) or not item.strip():
                raise HandshakeError(f"the plugin's answer to {frame.type} is not a {reply}")
            try:
                got = parse_frame(item, accept=(reply, "error"))
            except ProtocolError as e:
                if e.code == "unsupported_version":
                    raise HandshakeError(
                        f"the Lightroom plugin speaks another bridge protocol ({e.message}): update the "
                        "plugin (or the service) so both are the same release"
                    ) from None
                raise HandshakeError(
                    f"the plugin's answer to {frame.type} is not a valid {reply}: {e.message}"
                ) from None
            if got.type == "error":
                code, message = got.body.get("code"), str(got.body.get("message"))[:200]
                raise HandshakeError(f"the plugin refused {frame.type}: {code}: {message}")
            if got.re != frame.id:
                raise HandshakeError(f"{reply} does not answer our {frame.type}")
            return got

    # -- writing -------------------------------------------------------------------------------------
    def send(self, frame: Frame) -> bool:
        """Write one frame; False (and the session closes) when the plugin is gone. Thread-safe.
        Raises ProtocolError(too_large) for a frame over the cap (nothing is sent)."""
        data = encode(frame)
        if len(data) > MAX_FRAME + 1:  # the plugin would drop it as too_large and never see a reply
            raise ProtocolError(
                "too_large", f"reply of {len(data)} bytes (at most {MAX_FRAME}): ask for fewer"
            )
        if self.closed.is_set() or self.out is None:
            return False
        try:
            with self._write_lock:
                self.out.sendall(data)
        except OSError as e:
            self.close(f"write failed: {e}")
            return False
        return True

    def reply(self, request: Frame, type_: str, body: dict[str, Any]) -> bool:
        return self.send(Frame(type_, body, re=request.id))

    def error(self, code: str, message: str, re: str | None) -> bool:
        with self._write_lock:  # counters are bumped from the read loop and the handler pool
            self.errors += 1
        return self.send(error_frame(code, message, re))

    def request(self, type_: str, body: dict[str, Any], timeout: float) -> Frame:
        """Push a request to the plugin and wait for its one reply; raises TimeoutError, SessionClosed,
        PluginError (the plugin's `error` frame)."""
        frame = Frame(type_, body)
        slot = _Pending()
        with self._pending_lock:
            self._pending[frame.id] = slot
        try:
            if not self.send(frame):
                raise SessionClosed(f"plugin session closed: {self.close_reason}")
            if not slot.event.wait(timeout):
                raise TimeoutError(f"no {type_} reply from the plugin within {timeout:g} s")
            if slot.reply is None:
                raise SessionClosed(f"plugin session closed: {self.close_reason}")
            if slot.reply.type == "error":
                raise PluginError(str(slot.reply.body.get("code")), str(slot.reply.body.get("message")))
            return slot.reply
        finally:
            with self._pending_lock:
                self._pending.pop(frame.id, None)

    # -- reading -------------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> str:
        """The read loop, until the plugin goes away, stops answering, or `stop` is set."""
        assert self._reader is not None
        t = self.timeouts
        while not self.closed.is_set():
            if stop.is_set():
                self.close("service stopping")
                break
            try:
                item = self._reader.read_line()
            except TimeoutError:
                self._heartbeat(t)
                continue
            except OSError as e:
                self.close(f"read failed: {e}")
                break
            if item is None:
                self.close("the plugin closed the connection")
                break
            self._last_heard = time.monotonic()
            if isinstance(item, TooLarge):
                # Its id from the first/last bytes kept, so the plugin can fail that request at once.
                self.error(
                    "too_large",
                    f"frame of {item.size} bytes or more discarded (at most {MAX_FRAME}): send fewer paths "
                    "per request",
                    item.id,
                )
                continue
            if not item.strip():
                continue  # blank lines carry nothing; not a request, so no reply
            if self._reader.unterminated:
                # The plugin closed mid-frame. Never act on a frame that may be cut short; answer now,
                # from this thread, because the session ends right after.
                self.error("bad_frame", "connection closed inside a frame (no trailing newline)", None)
                continue
            try:
                frame = parse_frame(item, accept=ACCEPT)
            except ProtocolError as e:
                self.error(e.code, e.message, e.re)
                continue
            self._dispatch(frame)
        return self.close_reason

    def _heartbeat(self, t: Timeouts) -> None:
        now = time.monotonic()
        silent = now - self._last_heard
        if silent >= t.dead_after:
            self.close(f"no frame from the plugin for {silent:.0f} s")
        elif silent >= t.ping_after and now - self._last_ping >= t.ping_after:
            self._last_ping = now
            self.send(Frame("ping", {}))

    def _dispatch(self, frame: Frame) -> None:
        if frame.type == "ping":
            self.reply(frame, "pong", {})
        elif frame.type == "pong":
            pass
        elif frame.re is not None and frame.type in ("apply.result", "show_collection.result", "error"):
            with self._pending_lock:
                slot = self._pending.get(frame.re)
            if slot is not None:
                slot.reply = frame
                slot.event.set()
            elif frame.type == "error":
                log.info("plugin reported an error: %s", frame.body)
        elif frame.type == "error":
            log.info("plugin reported an error: %s", frame.body)
        elif MESSAGES[frame.type].reply is None:
            pass  # a stray reply (its request timed out): nothing waits for it
        else:
            self.requests += 1
            self.on_request(frame, self)

    def close(self, reason: str = "closed") -> None:
        if self.closed.is_set():
            return
        self.close_reason = reason
        self.closed.set()
        for s in (self.out, self.inp):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()
        with self._pending_lock:
            for slot in self._pending.values():
                slot.event.set()  # reply stays None: the waiter raises SessionClosed


class Connector:
    """One thread: port file → session → read loop → back to the port file, until `stop()`."""

    def __init__(
        self,
        directory: Path,
        token: Callable[[], str],
        *,
        version: str,
        on_request: RequestHandler,
        on_session: Callable[[PluginSession | None], None],
        timeouts: Timeouts = Timeouts(),
    ) -> None:
        self.directory, self.token, self.version = directory, token, version
        self.on_request, self.on_session, self.timeouts = on_request, on_session, timeouts
        self._stop = threading.Event()
        self.session: PluginSession | None = None
        self.last_problem: str | None = None
        self.attempts = 0
        self._thread = threading.Thread(target=self._loop, name="pd-bridge-connector", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        s = self.session
        if s is not None:
            s.close("service stopping")
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        t = self.timeouts
        backoff = t.backoff_min
        while not self._stop.is_set():
            ports = load_ports(self.directory)
            if ports is None:
                self._stop.wait(t.port_poll)
                continue
            if isinstance(ports, PortsProblem):
                self._problem(str(ports))
                self._stop.wait(max(t.port_poll, backoff))
                backoff = min(backoff * 2, t.backoff_max)
                continue
            foreign = foreign_listener(ports.receive, ports.send)
            if foreign:
                self._problem(foreign)
                self._wait_for_change(ports, backoff)
                backoff = min(backoff * 2, t.backoff_max)
                continue
            self.attempts += 1
            session = PluginSession(
                ports, self.token(), version=self.version, on_request=self.on_request, timeouts=t
            )
            try:
                session.open()
            except (OSError, HandshakeError) as e:
                session.close(str(e))
                self._problem(str(e) if isinstance(e, HandshakeError) else f"cannot connect: {e}")
                self._wait_for_change(ports, backoff)
                backoff = min(backoff * 2, t.backoff_max)
                continue
            backoff = t.backoff_min
            self.last_problem = None
            self.session = session
            self.on_session(session)
            try:
                session.run(self._stop)
            finally:
                session.close(session.close_reason or "ended")
                self.session = None
                self.on_session(None)

    def _problem(self, why: str) -> None:
        """Say why we are not connected: in `last_problem` always, in the log once per new reason."""
        if why != self.last_problem:
            log.warning("Lightroom bridge: not connected: %s", why)
        self.last_problem = why

    def _wait_for_change(self, tried: Ports, seconds: float) -> None:
        """Back off, but come back at once when the plugin writes a new port file."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._stop.wait(min(0.1, seconds))
            now = load_ports(self.directory)
            if not isinstance(now, Ports) or now.mtime_ns != tried.mtime_ns:
                return
