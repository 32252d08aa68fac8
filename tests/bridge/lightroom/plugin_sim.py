"""A Python stand-in for the Lightroom plugin's listener side of bridge protocol v2 (lrplugin/README.md).

It binds the two localhost sockets, writes the port file, runs the plugin's half of the handshake
(hello → hello.ack with its nonce and proof → the service's `auth` proof checked against the token file →
auth.ok; a missing token file, a wrong proof or a late frame closes both sockets, like the plugin),
answers `ping`, `apply` and `show_collection`, and lets a test send requests (thread-safe) and read the
replies. Every byte the service sent is kept in `received`, so tests can look for leaks.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.lightroom.auth import NONCE_RE, new_nonce, plugin_proof, same, service_proof
from bridge.lightroom.files import ports_path, token_path, write_ports
from bridge.lightroom.protocol import PROTOCOL_VERSION, Frame, LineReader, TooLarge

Answer = Callable[[dict[str, Any]], dict[str, Any]]


def default_apply(body: dict[str, Any]) -> dict[str, Any]:
    photos = body.get("photos", [])
    missing = [ph["path"] for ph in photos if not Path(ph["path"]).exists()]
    return {"applied": len(photos) - len(missing), "missing": missing, "errors": []}


def default_show(body: dict[str, Any]) -> dict[str, Any]:
    return {"collection": body["name"], "added": len(body["paths"]), "missing": []}


@dataclass
class Sim:
    """What the simulated plugin saw (tests read these)."""

    hellos: list[dict[str, Any]] = field(default_factory=list)  # well-formed hello bodies answered
    auth_tokens: list[str] = field(default_factory=list)  # the token each accepted `auth` proved
    rejected: list[str] = field(default_factory=list)  # why a connection was closed before any handler
    pushes: list[dict[str, Any]] = field(default_factory=list)  # apply / show_collection frames handled
    pings: int = 0
    errors: int = 0  # error frames received


class PluginSim:
    def __init__(
        self,
        directory: Path,
        *,
        hello_timeout: float = 5.0,
        ack: bool = True,
        answer_pings: bool = True,
        apply: Answer = default_apply,
        show: Answer = default_show,
        catalog: str = "/tmp/sim.lrcat",
        token: str | None = None,
        features: tuple[str, ...] = (),
    ) -> None:
        """`ack=False`: answer no hello (the service must give up); `token`: use this instead of the
        token file (a plugin of another service instance)."""
        self.directory = Path(directory)
        self.token = token
        self.received = bytearray()  # every byte the service sent us, in order
        self.hello_timeout, self.ack, self.answer_pings = hello_timeout, ack, answer_pings
        self.answers = {"apply": apply, "show_collection": show}
        self.catalog = catalog
        self.features = features  # announced in auth.ok ("chunks": replies may come in `part` frames)
        self.seen = Sim()
        self.connected = threading.Event()
        self._quit = threading.Event()
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._replies: dict[str, list[dict[str, Any]]] = {}
        self.unsolicited: list[dict[str, Any]] = []  # error frames with re=null etc.
        self.arrivals: list[tuple[str, str | None]] = []  # (type, re) of replies, in arrival order
        self._recv_ls: socket.socket | None = None
        self._send_ls: socket.socket | None = None
        self._out: socket.socket | None = None  # our `send` connection (plugin → service)
        self._in: socket.socket | None = None  # our `receive` connection (service → plugin)
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> PluginSim:
        self._recv_ls = socket.create_server(("127.0.0.1", 0))
        self._send_ls = socket.create_server(("127.0.0.1", 0))
        for s in (self._recv_ls, self._send_ls):
            s.settimeout(0.1)
        write_ports(self.directory, self.receive_port, self.send_port)
        self._thread = threading.Thread(target=self._loop, name="plugin-sim", daemon=True)
        self._thread.start()
        return self

    @property
    def receive_port(self) -> int:
        assert self._recv_ls is not None
        return int(self._recv_ls.getsockname()[1])

    @property
    def send_port(self) -> int:
        assert self._send_ls is not None
        return int(self._send_ls.getsockname()[1])

    def quit(self, remove_port_file: bool = True) -> None:
        """Lightroom quits: sockets closed, the port file removed."""
        self._quit.set()
        self._drop()
        for s in (self._recv_ls, self._send_ls):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.close()
        if self._thread is not None:
            self._thread.join(10)
        if remove_port_file:
            with contextlib.suppress(OSError):
                ports_path(self.directory).unlink()

    def __enter__(self) -> PluginSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.quit()

    def wait_connected(self, timeout: float = 20.0) -> bool:
        return self.connected.wait(timeout)

    def wait_disconnected(self, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.connected.is_set():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def drop(self) -> None:
        """Close the current connection only (the plugin re-listens)."""
        self._drop()

    # -- the listener --------------------------------------------------------------------------------
    def _accept(self, ls: socket.socket, timeout: float) -> socket.socket | None:
        deadline = time.monotonic() + timeout
        while not self._quit.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = ls.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return conn
            except TimeoutError:
                continue
            except OSError:
                return None
        return None

    def _loop(self) -> None:
        while not self._quit.is_set():
            assert self._recv_ls is not None and self._send_ls is not None
            conn_in = self._accept(self._recv_ls, 3600)
            if conn_in is None:
                continue
            conn_out = self._accept(self._send_ls, self.hello_timeout)
            if conn_out is None:
                self.seen.rejected.append("no connection on the send port")
                conn_in.close()
                continue
            self._in, self._out = conn_in, conn_out
            reader = LineReader(self._recorder(conn_in))
            if not self._handshake(conn_in, reader):
                self._drop()
                continue
            self.connected.set()
            self._read_loop(conn_in, reader)
            self.connected.clear()
            self._drop()

    def _recorder(self, conn: socket.socket) -> Callable[[int], bytes]:
        def recv(n: int) -> bytes:
            data = conn.recv(n)
            self.received += data
            return data

        return recv

    def _next_frame(self, conn: socket.socket, reader: LineReader, what: str) -> dict[str, Any] | None:
        conn.settimeout(self.hello_timeout)
        try:
            line = reader.read_line()
        except (TimeoutError, OSError):
            self.seen.rejected.append(f"no {what} in time")
            return None
        if line is None or isinstance(line, TooLarge):
            self.seen.rejected.append(f"no {what}")
            return None
        try:
            frame = json.loads(line)
        except ValueError:
            self.seen.rejected.append(f"{what} is not JSON")
            return None
        if (
            not isinstance(frame, dict)
            or frame.get("type") != what
            or not isinstance(frame.get("body"), dict)
        ):
            self.seen.rejected.append(f"first frame is not {what}")
            return None
        return frame

    def _handshake(self, conn: socket.socket, reader: LineReader) -> bool:
        hello = self._next_frame(conn, reader, "hello")
        if hello is None:
            return False
        if hello.get("v") != PROTOCOL_VERSION:
            self.send_frame(
                _error(hello.get("id"), "unsupported_version", f"this plugin speaks {PROTOCOL_VERSION}")
            )
            self.seen.rejected.append("unsupported version")
            return False
        nonce_s = hello["body"].get("nonce")
        if not isinstance(nonce_s, str) or not NONCE_RE.match(nonce_s):
            self.seen.rejected.append("no nonce")
            return False
        try:  # re-read every time, like the plugin: a restarted service has a new token
            token = self.token or token_path(self.directory).read_text(encoding="ascii").strip()
        except OSError:
            self.seen.rejected.append("no token file")
            return False
        if not self.ack:
            self.seen.hellos.append(hello["body"])
            self.connected.set()  # "connected" but silent: the service must give up on its own
            self._read_loop(conn, reader)
            self.connected.clear()
            return False
        self.seen.hellos.append(hello["body"])
        nonce_p = new_nonce()
        proof = plugin_proof(token, nonce_s, nonce_p, self.receive_port, self.send_port)
        self.send_frame(_reply(hello["id"], "hello.ack", {"nonce": nonce_p, "proof": proof}))
        auth = self._next_frame(conn, reader, "auth")
        if auth is None:
            return False
        expected = service_proof(token, nonce_p, nonce_s, self.receive_port, self.send_port)
        if not same(expected, auth["body"].get("proof")):
            self.seen.rejected.append("wrong proof")
            return False
        self.seen.auth_tokens.append(token)
        conn.settimeout(None)
        info: dict[str, Any] = {"plugin_version": "0.0-sim", "lightroom": "sim", "catalog": self.catalog}
        if self.features:
            info["features"] = list(self.features)
        self.send_frame(_reply(auth["id"], "auth.ok", info))
        return True

    def _read_loop(self, conn: socket.socket, reader: LineReader) -> None:
        while not self._quit.is_set():
            try:
                line = reader.read_line()
            except OSError:
                return
            if line is None:
                return
            if isinstance(line, TooLarge) or not line.strip():
                continue
            frame = json.loads(line)
            t, re = frame.get("type"), frame.get("re")
            if t == "error":
                self.seen.errors += 1
            if t == "ping":
                self.seen.pings += 1
                if self.answer_pings:
                    self.send_frame(_reply(frame["id"], "pong", {}))
            elif t in self.answers:
                self.seen.pushes.append(frame)
                try:
                    reply = {"type": f"{t}.result", "body": self.answers[t](frame["body"])}
                except Exception as e:
                    reply = {"type": "error", "body": {"code": "internal", "message": str(e)}}
                self.send_frame({"v": PROTOCOL_VERSION, "id": uuid.uuid4().hex, "re": frame["id"], **reply})
            else:
                with self._cond:
                    self.arrivals.append((t, re))
                    if re is None:
                        self.unsolicited.append(frame)
                    else:
                        self._replies.setdefault(re, []).append(frame)
                    self._cond.notify_all()

    def _drop(self) -> None:
        for s in (self._in, self._out):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()

    # -- requests from the "plugin" ------------------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        assert self._out is not None
        with self._send_lock:
            self._out.sendall(data)

    def send_frame(self, frame: dict[str, Any]) -> None:
        self.send_raw(json.dumps(frame, separators=(",", ":")).encode() + b"\n")

    def send_request(self, type_: str, body: dict[str, Any] | None = None, rid: str | None = None) -> str:
        rid = rid or uuid.uuid4().hex
        self.send_frame({"v": PROTOCOL_VERSION, "id": rid, "type": type_, "body": body or {}})
        return rid

    def wait_reply(
        self, rid: str, timeout: float = 30.0, *, final: tuple[str, ...] | None = None
    ) -> list[dict[str, Any]]:
        """Frames answering `rid`: the first one, or (with `final`) all up to one of those types/an error."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = self._replies.get(rid, [])
                if got and (final is None or got[-1]["type"] in (*final, "error")):
                    return self._replies.pop(rid)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no reply to {rid} within {timeout} s (got {got})")
                self._cond.wait(left)

    def request(
        self, type_: str, body: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        return self.wait_reply(self.send_request(type_, body), timeout)[0]

    def stream(
        self, type_: str, body: dict[str, Any], final: tuple[str, ...], timeout: float = 120.0
    ) -> list[dict[str, Any]]:
        return self.wait_reply(self.send_request(type_, body), timeout, final=final)

    def take_unsolicited(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.unsolicited) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            got, self.unsolicited[:] = list(self.unsolicited), []
            return got


def _reply(re: Any, type_: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "id": uuid.uuid4().hex, "re": re, "type": type_, "body": body}


def _error(re: Any, code: str, message: str) -> dict[str, Any]:
    return _reply(re, "error", {"code": code, "message": message})


class Frames:
    """Where a handler's reply frames go when a test calls it directly (a session without "chunks")."""

    features: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.sent: list[Frame] = []

    def send(self, frame: Frame) -> bool:
        self.sent.append(frame)
        return True
