"""Small real HTTP servers on 127.0.0.1 that stand in for a Qdrant server's REST API where a test needs one
(no Qdrant server binary can be installed on these machines): real sockets, real qdrant-client and httpx on
the client side; only the few endpoints a test touches are answered, from a script."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (method, path without the query, parsed JSON body) -> (status, JSON answer, extra headers)
Script = Callable[[str, str, Any], tuple[int, Any, dict[str, str]]]


def ok(result: Any) -> tuple[int, Any, dict[str, str]]:
    return 200, {"result": result, "status": "ok", "time": 0.0}, {}


def error(
    status: int, reason: str = "", headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    return status, {"status": {"error": reason}, "time": 0.0}, headers or {}


UPSERTED = {"operation_id": 1, "status": "completed"}


@dataclass
class Recorder:
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def fake_qdrant(script: Script, *, delay_s: float = 0.0) -> Iterator[tuple[str, Recorder]]:
    """Serve `script` on a free port; yields (base URL, recorder of every request)."""
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real server

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            path = self.path.split("?", 1)[0]
            with rec.lock:
                rec.requests.append((self.command, path, body))
                rec.in_flight += 1
                rec.max_in_flight = max(rec.max_in_flight, rec.in_flight)
            try:
                time.sleep(delay_s)
                status, answer, headers = script(self.command, path, body)
            finally:
                with rec.lock:
                    rec.in_flight -= 1
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", rec
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a server that hangs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def refused_url() -> str:
    """A port nothing listens on (bound, then closed): connections are refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"
