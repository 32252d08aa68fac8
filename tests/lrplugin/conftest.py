"""Fixtures for the plugin tests: a harness running the plugin under Lua 5.1, and a tiny bridge client."""

from __future__ import annotations

import json
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.lightroom.auth import new_nonce, plugin_proof, same, service_proof
from bridge.lightroom.protocol import PROTOCOL_VERSION
from tests.lrplugin.harness import Harness


@pytest.fixture
def home(tmp_path: Path) -> Path:
    d = tmp_path / "home"
    d.mkdir()
    return d


@pytest.fixture
def harness(home: Path) -> Iterator[Harness]:
    h = Harness(home)
    yield h
    for s in list(h.host.sockets.values()):
        h.host.sock_close(s.id)


def bridge_dir(home: Path) -> Path:
    return home / ".pixel-detective" / "bridge"


def write_token(home: Path) -> str:
    token = secrets.token_hex(32)
    d = bridge_dir(home)
    d.mkdir(parents=True, exist_ok=True)
    (d / "token").write_text(token)
    return token


def start_bridge(h: Harness) -> dict[str, Any]:
    """Runs Init.lua and waits for the port file."""
    h.run_file("Init.lua")
    path = bridge_dir(h.home) / "ports.json"
    h.run_until(path.exists, what="port file")
    return json.loads(path.read_text())


class Client:
    """The service's side of the wire, by hand: connects to both plugin sockets."""

    def __init__(self, h: Harness, ports: dict[str, Any]) -> None:
        self.h = h
        self.ports = ports
        self.to_plugin = socket.create_connection(("127.0.0.1", ports["receive"]))
        self.from_plugin = socket.create_connection(("127.0.0.1", ports["send"]))
        self.from_plugin.setblocking(False)
        self.buf = b""
        self.seq = 0

    def send_raw(self, data: bytes) -> None:
        self.to_plugin.sendall(data)

    def send(self, type_: str, body: dict[str, Any] | None = None, **extra: Any) -> str:
        self.seq += 1
        fid = f"svc-{self.seq}"
        frame = {"v": PROTOCOL_VERSION, "id": fid, "type": type_, "body": body or {}, **extra}
        self.send_raw(json.dumps(frame).encode() + b"\n")
        return fid

    def hello_ack(self, nonce_s: str) -> dict[str, Any]:
        """Send a hello with `nonce_s`; the plugin's hello.ack (its proof already checked)."""
        fid = self.send(
            "hello", {"nonce": nonce_s, "service": "pixel-detective", "version": "0.0.1", "protocol": 2}
        )
        ack = self.expect()
        assert ack["type"] == "hello.ack" and ack["re"] == fid, ack
        return ack

    def hello(self, token: str) -> dict[str, Any]:
        """The service's half of the handshake; returns the plugin's auth.ok."""
        nonce_s = new_nonce()
        ack = self.hello_ack(nonce_s)
        nonce_p, receive, send = ack["body"]["nonce"], self.ports["receive"], self.ports["send"]
        assert same(plugin_proof(token, nonce_s, nonce_p, receive, send), ack["body"]["proof"])
        fid = self.send("auth", {"proof": service_proof(token, nonce_p, nonce_s, receive, send)})
        ok = self.expect()
        assert ok["type"] == "auth.ok" and ok["re"] == fid, ok
        return ok

    def _read(self) -> dict[str, Any] | None:
        try:
            chunk = self.from_plugin.recv(65536)
        except BlockingIOError:
            chunk = None
        if chunk == b"":
            raise ConnectionError("plugin closed the connection")
        if chunk:
            self.buf += chunk
        if b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            return json.loads(line)
        return None

    def expect(self, timeout: float = 5.0, skip_pings: bool = True) -> dict[str, Any]:
        frames: list[dict[str, Any]] = []

        def got() -> bool:
            f = self._read()
            if f is not None and not (skip_pings and f["type"] == "ping"):
                frames.append(f)
            return bool(frames)

        self.h.run_until(got, timeout, what="a frame from the plugin")
        return frames[0]

    def closed(self, timeout: float = 5.0) -> bool:
        """True once the plugin has closed our connection to its send socket."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.h.step(0.005)
            try:
                if self._read() is not None:
                    continue
            except (ConnectionError, OSError):
                return True
        return False

    def close(self) -> None:
        self.to_plugin.close()
        self.from_plugin.close()
