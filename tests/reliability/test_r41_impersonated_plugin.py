"""R41: another local process listens on the plugin's ports (a stale port file, Lightroom gone).

It must learn nothing: no token, no results. The service says why it does not connect and keeps waiting
for the real plugin, which then connects and works. Real sockets, a real service on a real tiny index.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests/bridge/lightroom/conftest.py are test arguments)

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from bridge.lightroom import Service
from bridge.lightroom.auth import new_nonce
from bridge.lightroom.files import ports_path, write_ports
from tests.bridge.lightroom.conftest import (  # noqa: F401  (fixtures)
    FAST,
    bridge_dir,
    indexed,
    indexed_template,
    photos,
    service,
)
from tests.bridge.lightroom.plugin_sim import PluginSim

pytestmark = pytest.mark.reliability


def _wait(cond, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class Impostor:
    """A plain socket server on two ports that records every byte it is sent. On each hello it answers
    like a plugin would if it could: a hello.ack with a nonce and a made-up proof, then pushes requests
    as if it had been let in."""

    def __init__(self) -> None:
        self.receive = socket.create_server(("127.0.0.1", 0))
        self.send = socket.create_server(("127.0.0.1", 0))
        self.received = bytearray()
        self.connections = 0
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @property
    def ports(self) -> tuple[int, int]:
        return self.receive.getsockname()[1], self.send.getsockname()[1]

    def __enter__(self) -> Impostor:
        self.receive.settimeout(0.1)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._quit.set()
        self._thread.join(10)
        self.receive.close()
        self.send.close()

    def _loop(self) -> None:
        while not self._quit.is_set():
            try:
                conn_in, _ = self.receive.accept()
            except TimeoutError:
                continue
            self.send.settimeout(3)
            try:
                conn_out, _ = self.send.accept()
            except TimeoutError:
                conn_in.close()
                continue
            self.connections += 1
            with conn_in, conn_out:
                self._talk(conn_in, conn_out)

    def _talk(self, conn_in: socket.socket, conn_out: socket.socket) -> None:
        conn_in.settimeout(3)
        buf = b""
        try:
            while not self._quit.is_set():
                chunk = conn_in.recv(65536)
                if not chunk:
                    return
                self.received += chunk
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    frame = json.loads(line)
                    if frame.get("type") == "hello":
                        ack = {"nonce": new_nonce(), "proof": "ab" * 32}
                        for out in (
                            {"v": 2, "id": "i1", "re": frame["id"], "type": "hello.ack", "body": ack},
                            {"v": 2, "id": "i2", "type": "search", "body": {"query": "a photo"}},
                            {"v": 2, "id": "i3", "type": "status", "body": {}},
                        ):
                            conn_out.sendall(json.dumps(out).encode() + b"\n")
        except (OSError, ValueError):
            return


def _assert_learned_nothing(data: bytes, token: str) -> None:
    assert token.encode() not in data
    frames = [json.loads(line) for line in data.splitlines() if line.strip()]
    assert {f["type"] for f in frames} <= {"hello"}, frames  # no auth proof, no result, no error detail
    for f in frames:
        assert set(f["body"]) == {"nonce", "service", "version", "protocol", "features"}  # features: public


def test_r41_an_impersonating_listener_learns_nothing_and_the_real_plugin_then_works(service, bridge_dir):
    with Impostor() as imp:
        write_ports(bridge_dir, *imp.ports)  # what a stale port file looks like: pid null
        assert json.loads(ports_path(bridge_dir).read_text())["pid"] is None
        assert _wait(lambda: imp.connections >= 2, 30)  # it tried, and tried again: still waiting
        problem = service.status()["last_problem"] or ""
        assert "failed the challenge" in problem and "does not know the token" in problem, problem
        assert not service.status()["lightroom_connected"] and service.status()["running"]
        assert service.status()["requests_served"] == 0  # the impostor's search and status never ran
    _assert_learned_nothing(bytes(imp.received), service.token)
    assert imp.received  # it did get hellos: the test looked at real traffic

    with PluginSim(bridge_dir) as sim:  # Lightroom starts: a new port file, the real plugin
        assert sim.wait_connected(20) and service.wait_connected(10)
        got = sim.request("search", {"query": "a photo", "limit": 3})
        assert got["type"] == "search.result" and len(got["body"]["results"]) == 3
        assert service.status()["last_problem"] is None
        assert service.token.encode() not in bytes(sim.received)  # not even the real plugin is sent it


_FOREIGN_LISTENER = """
import os, socket, sys, time
os.setgid(65534); os.setuid(65534)  # first: a socket belongs to the user who created it
r = socket.create_server(("127.0.0.1", 0)); s = socket.create_server(("127.0.0.1", 0))
print(r.getsockname()[1], s.getsockname()[1], flush=True)
r.settimeout(0.2); got = 0; end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    try:
        c, _ = r.accept()
    except OSError:
        continue
    got += 1
    c.close()
print(got, flush=True)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the listener's owner is read from /proc")
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a listener as another user")
def test_r41_ports_held_by_another_user_are_not_even_connected_to(service, bridge_dir):
    proc = subprocess.Popen([sys.executable, "-c", _FOREIGN_LISTENER, "4"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        receive, send = map(int, proc.stdout.readline().split())
        write_ports(bridge_dir, receive, send)
        assert _wait(lambda: "another user" in (service.status()["last_problem"] or ""), 20)
        assert "uid 65534" in service.status()["last_problem"]
        accepted = int(proc.stdout.readline())
    finally:
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait(10)
    assert accepted == 0  # the service never connected: not even a hello went out
    with PluginSim(bridge_dir) as sim:  # and the real plugin still gets in
        assert sim.wait_connected(20) and service.wait_connected(10)
        assert sim.request("status")["type"] == "status.result"


Tamper = tuple[str, str, int | None, int | None]  # (expected words, "file"/"folder", bad mode, bad owner)
CASES: list[Tamper] = [
    ("writable by group or others", "file", 0o666, None),
    ("writable by group or others", "folder", 0o777, None),
    ("belongs to another user", "file", None, 65534),
    ("belongs to another user", "folder", None, 65534),
]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
@pytest.mark.parametrize(("words", "what", "mode", "owner"), CASES)
def test_r41_a_port_file_others_could_have_written_is_refused(
    settings, indexed, bridge_dir, tmp_path, words, what, mode, owner
):
    if owner is not None and os.geteuid() != 0:
        pytest.skip("only root can give a file away")
    with PluginSim(bridge_dir) as sim:
        port_file = ports_path(bridge_dir)
        aside = tmp_path / "ports.json"
        port_file.rename(aside)  # hidden while the service starts (it tightens its own folder to 0700)
        with Service(settings, indexed, directory=bridge_dir, timeouts=FAST) as svc:
            target = aside if what == "file" else bridge_dir
            before = os.stat(target)
            if mode is not None:
                os.chmod(target, mode)
            if owner is not None:
                os.chown(target, owner, -1)
            aside.rename(port_file)  # in place already broken: the service never sees it sound
            assert _wait(lambda: words in (svc.status()["last_problem"] or ""), 10), (
                svc.status(),
                f"{target} is now mode {stat.S_IMODE(os.stat(target).st_mode):o}, uid {os.stat(target).st_uid}",
            )
            assert "not trusted" in svc.status()["last_problem"]
            time.sleep(0.3)
            assert sim.seen.hellos == [] and not sim.received  # nothing was sent to those ports
            mended = port_file if what == "file" else bridge_dir
            os.chmod(mended, before.st_mode & 0o7777)
            os.chown(mended, before.st_uid, -1)
            assert sim.wait_connected(20) and svc.wait_connected(10)  # still waiting, so it gets in
            assert sim.request("status")["type"] == "status.result"
            assert svc.status()["last_problem"] is None


def test_r41_a_symlinked_port_file_is_refused(service, bridge_dir, tmp_path):
    with PluginSim(bridge_dir) as sim:
        real = tmp_path / "elsewhere.json"
        ports_path(bridge_dir).rename(real)
        ports_path(bridge_dir).symlink_to(real)
        assert _wait(lambda: "symlink" in (service.status()["last_problem"] or ""), 10)
        assert sim.seen.hellos == []
        ports_path(bridge_dir).unlink()
        real.rename(ports_path(bridge_dir))
        assert sim.wait_connected(20)
