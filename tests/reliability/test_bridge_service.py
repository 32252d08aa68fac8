"""R25–R28: the Lightroom bridge service under bad auth, malformed frames, load and restarts."""

# ruff: noqa: F811  (pytest fixtures imported from tests/bridge/lightroom/conftest.py are test arguments)

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import threading
import time
import uuid

import psutil
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bridge.lightroom import Service
from bridge.lightroom.auth import new_nonce, service_proof
from bridge.lightroom.connection import ACCEPT
from bridge.lightroom.files import read_ports, token_path, write_token
from bridge.lightroom.protocol import MESSAGES, PROTOCOL_VERSION, ProtocolError, parse_frame
from tests.bridge.conftest import make_photos
from tests.bridge.lightroom.conftest import (  # noqa: F401  (fixtures)
    FAST,
    bridge_dir,
    host,
    indexed,
    indexed_template,
    photos,
    service,
    sim,
)
from tests.bridge.lightroom.plugin_sim import PluginSim

pytestmark = pytest.mark.reliability


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def _wait(cond, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- R25: auth -----------------------------------------------------------------------------------------
def _frames(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def _fake_service(sim: PluginSim, hello: dict | None, token: str | None = None, delay: float = 0.0) -> bytes:
    """Connect like a service would, send `hello` (or nothing) and, when the plugin answers with a
    hello.ack, an `auth` proof computed from `token` (none: no auth at all). Returns what the plugin sent."""
    out = socket.create_connection(("127.0.0.1", sim.receive_port), timeout=5)
    inp = socket.create_connection(("127.0.0.1", sim.send_port), timeout=5)
    got = b""

    def read_frame() -> None:
        nonlocal got
        inp.settimeout(5)
        try:
            while chunk := inp.recv(4096):
                got += chunk
                if got.endswith(b"\n"):
                    return
        except (TimeoutError, OSError):
            return

    try:
        time.sleep(delay)
        if hello is None:
            read_frame()
            return got
        frame = {"v": PROTOCOL_VERSION, "id": "h1", "type": "hello", "body": hello}
        with contextlib.suppress(OSError):  # already closed by the plugin: what we are testing
            out.sendall(json.dumps(frame).encode() + b"\n")
        read_frame()
        acks = [f for f in _frames(got) if f["type"] == "hello.ack"]
        if acks and token is not None:
            ack = acks[0]["body"]
            proof = service_proof(token, ack["nonce"], hello["nonce"], sim.receive_port, sim.send_port)
            auth = {"v": PROTOCOL_VERSION, "id": "a1", "type": "auth", "body": {"proof": proof}}
            with contextlib.suppress(OSError):
                out.sendall(json.dumps(auth).encode() + b"\n")
            read_frame()
        return got
    finally:
        out.close()
        inp.close()


def test_r25_plugin_refuses_no_wrong_or_late_proof(bridge_dir, settings, indexed):
    token = write_token(bridge_dir)
    hello = {"nonce": new_nonce(), "service": "pixel-detective", "version": "0.1.0", "protocol": 2}
    with PluginSim(bridge_dir, hello_timeout=0.5) as sim:
        assert _fake_service(sim, None) == b""  # nothing within the plugin's hello timeout
        assert _fake_service(sim, {**hello, "nonce": "short"}) == b""  # no usable challenge
        # A hello is answered with the plugin's challenge and proof, never with anything else; a wrong
        # proof (the wrong token) or none at all closes the connection before any handler runs.
        wrong = _frames(_fake_service(sim, {**hello, "nonce": new_nonce()}, token="0" * 64))
        assert [f["type"] for f in wrong] == ["hello.ack"]
        assert [f["type"] for f in _frames(_fake_service(sim, {**hello, "nonce": new_nonce()}))] == [
            "hello.ack"
        ]
        assert _fake_service(sim, {**hello, "nonce": new_nonce()}, token=token, delay=1.0) == b""  # too late
        assert sim.seen.rejected == [
            "no hello in time",
            "no nonce",
            "wrong proof",
            "no auth",
            "no hello in time",
        ]
        assert sim.seen.auth_tokens == [] and sim.seen.pushes == []  # no handler ran
        ok = _frames(_fake_service(sim, {**hello, "nonce": new_nonce()}, token=token))  # right proof, in time
        assert [f["type"] for f in ok] == ["hello.ack", "auth.ok"]
        # and the real service gets in, proving a token of its own without ever sending it
        with Service(settings, indexed, directory=bridge_dir, timeouts=FAST) as svc:
            assert sim.wait_connected(20) and svc.wait_connected(10)
            assert sim.seen.auth_tokens[-1] == svc.token != token
            assert svc.token.encode() not in bytes(sim.received)


def test_r25_service_drops_a_plugin_that_never_acks(bridge_dir, settings, indexed):
    with Service(settings, indexed, directory=bridge_dir, timeouts=FAST) as svc:
        before = _threads()
        with PluginSim(bridge_dir, ack=False) as sim:
            assert _wait(lambda: len(sim.seen.hellos) >= 2, 30)  # dropped after the ack timeout, retried
            assert not svc.status()["lightroom_connected"]
            assert "hello.ack" in (svc.status()["last_problem"] or "")
        assert _wait(lambda: _threads() <= before | {"plugin-sim"}, 10)


def test_r25_token_file_is_0600_and_new_per_start(bridge_dir, settings, indexed):
    tokens = []
    for _ in range(2):
        with Service(settings, indexed, directory=bridge_dir, timeouts=FAST) as svc:
            mode = stat.S_IMODE(os.stat(token_path(bridge_dir)).st_mode)
            assert mode == 0o600, oct(mode)
            assert stat.S_IMODE(os.stat(bridge_dir).st_mode) == 0o700
            text = token_path(bridge_dir).read_text()
            assert text == svc.token and len(text) == 64 and int(text, 16) >= 0
            tokens.append(text)
    assert tokens[0] != tokens[1]
    assert not list(bridge_dir.glob(".token*"))  # no temp files left behind


# -- R26: malformed frames ---------------------------------------------------------------------------
def _rss() -> int:
    return psutil.Process().memory_info().rss


def test_r26_hand_cases_get_error_frames_and_the_service_stays_up(sim, service):
    rss0 = _rss()
    cases = [
        (b'{"v":1,"id":"\xff\xfe","type":"status","body":{}}', "bad_frame"),  # invalid UTF-8
        (b"x" * (10 * 1024 * 1024), "too_large"),  # 10 MB frame
        (b'{"v":1,"id":"n\x00","type":"status","body":{}}', "bad_frame"),  # raw NUL byte
        (b"\x00" * 100, "bad_frame"),
        (b"[" * 10_000 + b"]" * 10_000, "bad_frame"),  # deep nesting
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "bad_frame"),
        (b"null", "bad_frame"),
    ]
    for data, _ in cases:
        sim.send_raw(data + b"\n")
    errors = sim.take_unsolicited(len(cases), timeout=30)
    assert [e["body"]["code"] for e in errors] == [c for _, c in cases]
    assert all(e["type"] == "error" and e["re"] is None for e in errors)
    by_id = [
        ({"v": 2, "id": "u1", "type": "rm -rf", "body": {}}, "unknown_type"),
        ({"v": 9, "id": "u2", "type": "status", "body": {}}, "unsupported_version"),
        ({"v": 2, "id": "u3", "type": "search", "body": {"query": ["dog"]}}, "bad_request"),
        ({"v": 2, "id": "u4", "type": "search", "body": {"query": "dog", "limit": 10**9}}, "bad_request"),
        ({"v": 2, "id": "u5", "type": "metadata", "body": {"paths": [1, 2]}}, "bad_request"),
        ({"v": 2, "id": "u6", "type": "status", "body": "{}"}, "bad_frame"),
        ({"v": 1, "id": "u7", "type": "hello.ack", "body": {}}, "unsupported_version"),
        ({"v": 2, "id": "u8", "type": "hello.ack", "body": {}}, "unknown_type"),
        ({"v": 2, "id": "u9", "type": "auth.ok", "body": {}}, "unknown_type"),
    ]
    for frame, code in by_id:
        sim.send_frame(frame)
        got = sim.wait_reply(frame["id"], 10)
        assert [(g["type"], g["body"]["code"]) for g in got] == [("error", code)], frame
    # truncated JSON whose id is still readable: the error names the request (issue 16)
    sim.send_raw(b'{"v":1,"id":"t1","type":"status"\n')
    assert [(g["type"], g["body"]["code"]) for g in sim.wait_reply("t1", 10)] == [("error", "bad_frame")]
    assert sim.request("status")["type"] == "status.result"
    assert sim.connected.is_set() and service.status()["sessions"] == 1  # no error closed the session
    assert _rss() - rss0 < 50 * 1024 * 1024


def test_r26_no_trailing_newline_at_close(sim, service):
    sim.send_raw(b'{"v":1,"id":"last","type":"status","body":{}}')
    sim._out.shutdown(socket.SHUT_WR)  # the plugin's send side closes mid-frame
    errors = sim.take_unsolicited(1, timeout=10)
    assert [e["body"]["code"] for e in errors] == ["bad_frame"]
    assert _wait(lambda: len(sim.seen.hellos) == 2, 20)  # the service reconnected
    assert sim.wait_connected(10)
    assert sim.request("status")["type"] == "status.result"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
REQUEST_TYPES = [t for t in MESSAGES if t not in ("analyze",)]  # analyze would start index jobs


@hsettings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=st.lists(st.binary(max_size=300), min_size=1, max_size=5),
    envelope=st.fixed_dictionaries(
        {
            "v": st.sampled_from([2, 2, 2, 0, 1, "2", None]),
            "type": st.sampled_from(REQUEST_TYPES) | st.text(max_size=12),
            "body": st.dictionaries(
                st.sampled_from(["query", "limit", "paths", "job", "rules", "kinds", "where", "x"]),
                json_values,
                max_size=4,
            )
            | json_values,
        }
    ),
)
def test_r26_fuzz(sim, service, raw, envelope):
    """Random bytes → one error frame per non-blank line; random envelopes → exactly one reply each."""
    if not hasattr(test_r26_fuzz, "rss0"):
        test_r26_fuzz.rss0 = _rss()
    errors_before = sim.seen.errors
    lines = [r.replace(b"\n", b" ") for r in raw]
    for line in lines:
        sim.send_raw(line + b"\n")
    rid = uuid.uuid4().hex
    frame = {"id": rid, **envelope}
    sim.send_frame(frame)
    try:  # what the envelope is: a request (one reply), a reply/heartbeat (none) or invalid (one error)
        parsed = parse_frame(json.dumps(frame).encode(), accept=ACCEPT)
        expect = MESSAGES[parsed.type].reply
    except ProtocolError:
        expect = "error"
    if expect is not None:
        got = sim.wait_reply(rid, 30)
        assert len(got) == 1 and got[0]["type"] in (expect, "error"), (frame, got)
    # the status request after the junk is answered after its errors were sent (same read thread)
    assert sim.request("status")["type"] == "status.result"
    expected = sum(1 for line in lines if line.strip())
    assert sim.seen.errors - errors_before >= expected
    with sim._cond:
        sim.unsolicited.clear()
        sim._replies.clear()
    assert _rss() - test_r26_fuzz.rss0 < 50 * 1024 * 1024


# -- R27: concurrent queries while indexing ------------------------------------------------------------
def test_r27_8_threads_x_200_searches_while_indexing(sim, service, indexed, tmp_path):
    more = tmp_path / "more"
    make_photos(more, 60, size=(64, 48), seed=3)
    job = indexed.submit([more])
    queries = ["a photo", "red", "blue water", "green field at dusk"]
    errors: list = []
    replies: dict[str, list] = {q: [] for q in queries}
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            for i in range(200):
                q = queries[(n + i) % len(queries)]
                rid = f"w{n}-{i}"
                sim.send_request("search", {"query": q, "limit": 10}, rid=rid)
                got = sim.wait_reply(rid, 60)
                if len(got) != 1 or got[0]["type"] != "search.result":
                    errors.append(got)
                    continue
                with lock:
                    replies[q].append(got[0]["body"]["results"])
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[:3]
    assert sum(len(v) for v in replies.values()) == 1600
    for results in replies.values():
        for res in results:
            assert [r["rank"] for r in res] == list(range(1, len(res) + 1)) and len(res) == 10
    assert job.finished.wait(180) and job.status == "completed"
    for q in queries:  # once indexing is over, the same query gives the same answer every time
        a = sim.request("search", {"query": q, "limit": 10})["body"]["results"]
        b = sim.request("search", {"query": q, "limit": 10})["body"]["results"]
        assert a == b
        assert [r["path"] for r in a] == [h.path for h in indexed.search_text(q, limit=10)]


# -- R28: restarts on both sides -------------------------------------------------------------------------
def test_r28_service_restart_while_the_plugin_is_connected(settings, bridge_dir):
    with PluginSim(bridge_dir) as sim:
        svc = Service(settings, directory=bridge_dir, timeouts=FAST).start()  # owns its host
        try:
            assert sim.wait_connected(30)
            first = svc.token
            assert sim.request("status")["type"] == "status.result"
        finally:
            svc.stop()
        assert sim.wait_disconnected(10)
        with Service(settings, directory=bridge_dir, timeouts=FAST) as svc2:
            assert _wait(lambda: len(sim.seen.hellos) == 2, 30) and sim.wait_connected(10)
            assert sim.seen.auth_tokens[1] == svc2.token != first
            assert sim.request("status")["type"] == "status.result"


def test_r28_plugin_quits_and_comes_back(service, bridge_dir, photos):
    def session(n: int) -> None:
        with PluginSim(bridge_dir) as sim:
            assert sim.wait_connected(20) and service.wait_connected(10)
            rids = [sim.send_request("search", {"query": f"photo {i}", "limit": 3}) for i in range(n)]
            for rid in rids:
                assert sim.wait_reply(rid, 30)[0]["type"] == "search.result"
            # an indexed photo (unchanged: a quick job); a missing path would be refused before any job
            analyze = sim.send_request("analyze", {"paths": [str(photos / "gen_00000.jpg")]})
            assert sim.wait_reply(analyze, 30)[0]["type"] == "analyze.accepted"
        # quit: sockets closed, port file removed
        assert service.wait_connected(10, connected=False)
        assert read_ports(bridge_dir) is None

    session(20)
    after_first = _threads()
    session(20)
    assert _wait(lambda: _threads() == after_first, 10), _threads() ^ after_first
    st_ = service.status()
    assert not st_["lightroom_connected"] and st_["sessions"] == 2 and st_["running"]


def test_r28_a_silent_plugin_is_declared_dead_and_reconnected(service, bridge_dir):
    with PluginSim(bridge_dir, answer_pings=False) as sim:
        assert sim.wait_connected(20)
        # the service pings after 0.5 s of silence and gives up after 2 s (FAST timeouts)
        assert _wait(lambda: len(sim.seen.hellos) >= 2, 20)
        assert sim.seen.pings >= 1


def test_r28_stale_port_file_then_a_new_plugin(service, bridge_dir):
    sim = PluginSim(bridge_dir).start()
    assert sim.wait_connected(20)
    sim.quit(remove_port_file=False)  # Lightroom crashed: the port file names closed ports
    assert service.wait_connected(10, connected=False)
    time.sleep(1.0)  # a few refused attempts with backoff
    assert service.status()["running"] and service.status()["last_problem"]
    with PluginSim(bridge_dir) as sim2:
        assert sim2.wait_connected(10) and service.wait_connected(10)
        assert sim2.request("status")["type"] == "status.result"
