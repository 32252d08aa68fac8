"""`engines` and `engine.use` through real sockets: the plugin simulator ⇄ Service, an engine advertised over
zeroconf on loopback, and its REST API (uvicorn, TLS with the data dir's self-signed certificate, API keys)."""

from __future__ import annotations

import json
import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.api.keys import Scope
from bridge.api.server import ApiServer
from bridge.discovery import Advertiser
from bridge.host import EngineHost
from bridge.lightroom import Service
from tests.bridge.lightroom.conftest import tls_api
from tests.bridge.lightroom.plugin_sim import PluginSim

LOOPBACK = ["127.0.0.1"]
WRONG_FP = ":".join(["AB"] * 32)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text('keyword_parent = "AI"\n')  # a setting of the user's, kept by every write
    monkeypatch.setenv("PIXEL_DETECTIVE_CONFIG", str(path))
    return path


@pytest.fixture
def engine(indexed: EngineHost) -> Iterator[tuple[ApiServer, str]]:
    """The "GPU box": the REST API on 127.0.0.1 with TLS, and a read key it issued."""
    with tls_api(indexed, Scope.READ) as served:
        yield served


@pytest.fixture
def advertised(engine: tuple[ApiServer, str], service: Service) -> Iterator[dict[str, Any]]:
    """The engine advertised as "gpu-box", and "impostor": the same port with another fingerprint."""
    server, key = engine
    assert server.tls is not None
    port = int(server.url.rsplit(":", 1)[1])
    service._handlers.engines.interfaces = LOOPBACK  # type: ignore[union-attr]
    ads = [
        Advertiser(port, name=n, tls_fingerprint=fp, addresses=LOOPBACK, interfaces=LOOPBACK)
        for n, fp in (("gpu-box", server.tls.fingerprint), ("impostor", WRONG_FP))
    ]
    try:
        yield {"url": f"https://127.0.0.1:{port}", "fp": server.tls.fingerprint, "key": key}
    finally:
        for a in ads:
            a.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_engines_found_then_used_with_the_key_stored_and_never_sent_back(
    sim: PluginSim, advertised: dict[str, Any], config: Path
) -> None:
    assert sim.request("status")["body"]["engine"] == "this computer"
    got = sim.request("engines", {"seconds": 3})
    assert got["type"] == "engines.result", got
    assert got["body"]["using"] == "this computer"
    rows = {e["name"]: e for e in got["body"]["engines"]}
    box = rows["gpu-box"]
    assert box["tls_fingerprint"] == advertised["fp"] and box["url"] == advertised["url"]
    assert box["addresses"] == ["127.0.0.1"] and box["version"] and box["in_use"] is False

    used = sim.request("engine.use", {"name": "gpu-box", "api_key": advertised["key"]})
    assert used["type"] == "engine.use.result", used
    assert used["body"] == {"using": f"gpu-box at {advertised['url']}", "url": advertised["url"]}
    assert advertised["key"] not in json.dumps(used)
    saved = tomllib.loads(config.read_text())
    assert saved == {
        "keyword_parent": "AI",
        "remote_url": advertised["url"],
        "remote_api_key": advertised["key"],
        "remote_tls_fingerprint": advertised["fp"],
    }
    assert config.stat().st_mode & 0o777 == 0o600
    status = sim.request("status")
    assert status["body"]["engine"] == f"gpu-box at {advertised['url']}"
    assert advertised["key"] not in json.dumps(status)

    back = sim.request("engine.use", {"local": True})
    assert back["body"] == {"using": "this computer", "url": None}
    assert tomllib.loads(config.read_text()) == {"keyword_parent": "AI"}
    assert sim.request("status")["body"]["engine"] == "this computer"


def test_a_wrong_key_fingerprint_name_or_address_is_refused_and_writes_nothing(
    sim: PluginSim, advertised: dict[str, Any], config: Path
) -> None:
    before = config.read_bytes()
    names = {e["name"] for e in sim.request("engines", {"seconds": 3})["body"]["engines"]}
    assert {"gpu-box", "impostor"} <= names

    def refused(body: dict[str, Any]) -> tuple[str, str]:
        got = sim.request("engine.use", body)
        assert got["type"] == "error", got
        assert config.read_bytes() == before
        return got["body"]["code"], got["body"]["message"]

    code, message = refused({"name": "gpu-box", "api_key": "pd_000000000000_wrong"})
    assert code == "refused" and message.startswith("gpu-box refused the API key.")
    # the impostor's certificate is not the one it advertised: the key is never sent
    code, message = refused({"name": "impostor", "api_key": advertised["key"]})
    assert code == "refused" and "another TLS certificate than the one it advertised" in message
    code, message = refused(
        {"url": advertised["url"], "tls_fingerprint": WRONG_FP, "api_key": advertised["key"]}
    )
    assert code == "refused" and "another TLS certificate" in message
    code, message = refused({"name": "nobody-here", "api_key": advertised["key"], "seconds": 0.5})
    assert code == "not_found" and message.startswith("No engine named 'nobody-here' answered")
    url = f"https://127.0.0.1:{_closed_port()}"
    code, message = refused({"url": url, "tls_fingerprint": advertised["fp"], "api_key": advertised["key"]})
    assert code == "unreachable" and message.startswith(f"{url} did not answer.")
    code, _ = refused({"name": "gpu-box"})  # no key
    assert code == "bad_request"
    code, _ = refused({"name": "gpu-box", "api_key": "two\nlines"})
    assert code == "bad_request"
    assert sim.request("status")["body"]["engine"] == "this computer"
