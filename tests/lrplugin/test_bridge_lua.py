"""Bridge.lua against a hand-written TCP client (not the real service): auth, errors, heartbeat, reconnect."""

from __future__ import annotations

import json
from pathlib import Path

from bridge.lightroom.auth import new_nonce, plugin_proof, service_proof
from tests.lrplugin.conftest import Client, bridge_dir, start_bridge, write_token
from tests.lrplugin.harness import Harness


def applied_nothing(h: Harness) -> bool:
    return len(h.catalog.rootKeywords) == 0 and len(h.catalog.rootCollections) == 0


def apply_body(path: Path) -> dict:
    return {"photos": [{"path": str(path), "keywords": ["A|B"]}], "overwrite_caption": False}


def test_port_file_written_and_removed(harness: Harness, home: Path) -> None:
    ports = start_bridge(harness)
    assert ports["protocol"] == 2 and ports["pid"] is None
    assert ports["receive"] != ports["send"] and isinstance(ports["written_at"], int)
    assert not list(bridge_dir(home).glob("*.tmp"))
    harness.run_file("Shutdown.lua")
    harness.step()
    assert not (bridge_dir(home) / "ports.json").exists()
    assert harness.errors() == []


def test_good_hello_then_ping_unknown_and_bad_frames(harness: Harness, home: Path) -> None:
    token = write_token(home)
    c = Client(harness, start_bridge(harness))
    ack = c.hello(token)
    assert ack["body"]["plugin_version"] and ack["body"]["catalog"]
    fid = c.send("ping")
    pong = c.expect()
    assert (pong["type"], pong["re"], pong["body"]) == ("pong", fid, {})
    fid = c.send("launch_missiles", {"now": True})
    err = c.expect()
    assert err["type"] == "error" and err["re"] == fid and err["body"]["code"] == "unknown_type"
    c.send_raw(b"this is not json\n")
    assert c.expect()["body"]["code"] == "bad_frame"
    c.send_raw(b"[1, 2]\n")
    assert c.expect()["body"]["code"] == "bad_frame"
    c.send_raw(b'{"v": 2, "type": "ping"}\n')
    assert c.expect()["body"]["code"] == "bad_frame"
    c.send_raw(b'{"v": 2, "id": "x", "type": "ping", "body": "\xff"}\n')
    assert c.expect()["body"]["code"] == "bad_frame"
    c.send("ping", v=1)
    assert c.expect()["body"]["code"] == "unsupported_version"
    # the connection survives errors
    fid = c.send("ping")
    pong = c.expect()
    assert pong["type"] == "pong" and pong["re"] == fid
    assert harness.errors() == []


def _rejected(
    harness: Harness, home: Path, auth_token: str | None, tmp_photo: Path, hello: bool = True
) -> None:
    """A client that sends a hello (unless not `hello`), then an `auth` proof made with `auth_token` (none:
    no auth at all), then an `apply` that must never run."""
    harness.add_photos([tmp_photo])
    c = Client(harness, start_bridge(harness))
    if hello:
        nonce_s = new_nonce()
        c.send("hello", {"nonce": nonce_s, "service": "pixel-detective", "version": "0", "protocol": 2})
        if auth_token is not None:
            ack = c.expect()
            assert ack["type"] == "hello.ack"
            proof = service_proof(
                auth_token, ack["body"]["nonce"], nonce_s, c.ports["receive"], c.ports["send"]
            )
            c.send("auth", {"proof": proof})
    c.send("apply", apply_body(tmp_photo))  # must never run
    assert c.closed(), "plugin kept an unauthenticated connection"
    harness.run_for(0.2)
    assert applied_nothing(harness)
    assert harness.errors() == []


def test_no_token_file_closes(harness: Harness, home: Path, tmp_path: Path) -> None:
    _rejected(harness, home, None, tmp_path / "a.jpg")


def test_wrong_token_closes(harness: Harness, home: Path, tmp_path: Path) -> None:
    write_token(home)
    _rejected(harness, home, "f" * 64, tmp_path / "a.jpg")


def test_no_auth_after_hello_closes(harness: Harness, home: Path, tmp_path: Path) -> None:
    write_token(home)
    _rejected(harness, home, None, tmp_path / "a.jpg")


def test_first_frame_not_hello_closes(harness: Harness, home: Path, tmp_path: Path) -> None:
    write_token(home)
    _rejected(harness, home, None, tmp_path / "a.jpg", hello=False)


def test_plugin_proof_is_right_and_bound_to_its_ports(harness: Harness, home: Path) -> None:
    """The plugin's hello.ack proves the token (checked inside Client.hello_ack's caller) and is bound to
    the ports it listens on and to the role: the same HMAC over other ports or as the service's is wrong."""
    token = write_token(home)
    ports = start_bridge(harness)
    c = Client(harness, ports)
    nonce_s = new_nonce()
    ack = c.hello_ack(nonce_s)["body"]
    assert len(ack["nonce"]) == 64 and ack["nonce"] != nonce_s
    assert ack["proof"] == plugin_proof(token, nonce_s, ack["nonce"], ports["receive"], ports["send"])
    assert ack["proof"] != plugin_proof(token, nonce_s, ack["nonce"], ports["receive"] + 1, ports["send"])
    assert ack["proof"] != service_proof(token, nonce_s, ack["nonce"], ports["receive"], ports["send"])
    assert token not in json.dumps(ack)
    # replaying the plugin's own proof as the service's answer is refused
    c.send("auth", {"proof": ack["proof"]})
    assert c.closed()
    assert harness.errors() == []


def test_old_service_gets_unsupported_version(harness: Harness, home: Path) -> None:
    token = write_token(home)
    c = Client(harness, start_bridge(harness))
    c.send("hello", {"token": token, "service": "pixel-detective", "version": "0.1", "protocol": 1}, v=1)
    err = c.expect()
    assert err["type"] == "error" and err["body"]["code"] == "unsupported_version"
    assert c.closed()
    assert harness.errors() == []


def test_late_hello_closes_and_listens_again(harness: Harness, home: Path) -> None:
    token = write_token(home)
    ports = start_bridge(harness)
    c = Client(harness, ports)
    harness.run_until(lambda: harness.lua.globals().require("Bridge")._state.connected.receive)
    harness.advance(6)
    assert c.closed()
    c.close()
    # listening again on the same ports: a prompt client gets in
    c2 = Client(harness, json.loads((bridge_dir(home) / "ports.json").read_text()))
    c2.hello(token)
    assert harness.errors() == []


def test_ping_when_silent_and_dead_peer(harness: Harness, home: Path) -> None:
    token = write_token(home)
    c = Client(harness, start_bridge(harness))
    c.hello(token)
    harness.advance(11)
    assert c.expect(skip_pings=False)["type"] == "ping"
    harness.advance(31)  # nothing heard from us for 30 s: the plugin drops us
    assert c.closed()
    assert harness.errors() == []


def test_reconnect_after_client_disconnects(harness: Harness, home: Path) -> None:
    token = write_token(home)
    ports = start_bridge(harness)
    c = Client(harness, ports)
    c.hello(token)
    c.close()
    harness.run_until(lambda: not harness.lua.globals().require("Bridge").isConnected())
    c2 = Client(harness, ports)
    c2.hello(token)
    fid = c2.send("ping")
    assert c2.expect()["re"] == fid
    assert harness.errors() == []


def test_listen_timeout_reconnects(harness: Harness, home: Path) -> None:
    token = write_token(home)
    ports = start_bridge(harness)
    harness.advance(15)  # the stand-in's LrSocket reports 'timeout' after 10 s without a client
    harness.step()
    assert all(s.state == "listening" for s in harness.host.sockets.values())
    Client(harness, ports).hello(token)


def test_pushed_apply_runs_after_auth(harness: Harness, home: Path, tmp_path: Path) -> None:
    photo = tmp_path / "a.jpg"
    harness.add_photos([photo])
    token = write_token(home)
    c = Client(harness, start_bridge(harness))
    c.hello(token)
    fid = c.send("apply", apply_body(photo))
    res = c.expect()
    assert res["type"] == "apply.result" and res["re"] == fid
    assert res["body"] == {"applied": 1, "missing": [], "errors": []}
    assert harness.photo_keywords(photo) == ["A|B"]
    fid = c.send("show_collection", {"name": "Picked", "paths": [str(photo), "/nope.jpg"]})
    res = c.expect()
    assert res["body"] == {"collection": "Picked", "added": 1, "missing": ["/nope.jpg"]}
    assert harness.collections() == {"Picked": [str(photo)]}
    assert harness.errors() == []
