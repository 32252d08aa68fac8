"""Serving: keys from the command line, loopback by default, TLS (and API keys only) beyond it, a generated
certificate clients can pin, and `pixel-detective serve --http`."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bridge.api import tls
from bridge.api.keys import KeyStore, keys_path
from bridge.api.server import ApiServer, ApiServerError, ApiSettings
from bridge.cli.app import app
from tests.bridge.api.conftest import Api

runner = CliRunner()


def _cli(data_dir: Path, *args: str):
    return runner.invoke(app, ["--data-dir", str(data_dir), *args])


def test_keys_cli_create_list_revoke(api_env: Api) -> None:
    d = api_env.settings.data_dir
    made = _cli(d, "keys", "create", "--scope", "index", "--name", "nightly import")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("pd_")
    key_id = key.split("_")[1]
    with httpx.Client(base_url=api_env.url, headers={"X-API-Key": key}, timeout=30) as c:
        assert c.get("/api/v1/jobs").status_code == 200  # the running server sees the new key at once
        assert c.get("/api/v1/keys").status_code == 403  # index is not admin
        listed = _cli(d, "keys", "list", "--json")
        rows = {r["id"]: r for r in json.loads(listed.stdout)}
        assert rows[key_id]["scope"] == "index" and rows[key_id]["name"] == "nightly import"
        assert (
            key.split("_", 2)[2] not in listed.output and key.split("_", 2)[2] not in keys_path(d).read_text()
        )
        assert oct(keys_path(d).stat().st_mode & 0o777) == "0o600"
        assert _cli(d, "keys", "revoke", key_id).exit_code == 0
        assert c.get("/api/v1/jobs").status_code == 401
    assert json.loads(_cli(d, "keys", "list", "--json").stdout) and KeyStore(d).verify(key) is None
    assert _cli(d, "keys", "revoke", "nosuchid").exit_code == 1
    assert _cli(d, "keys", "create", "--scope", "root", "--name", "x").exit_code == 2
    audit = (d / "logs" / "api-audit.jsonl").read_text()
    assert f'"key_id": "{key_id}"' in audit and '"action": "key.revoke"' in audit


def test_beyond_loopback_without_tls_is_refused(api_env: Api) -> None:
    server = ApiServer(api_env.host, ApiSettings(listen="0.0.0.0", port=0, self_signed=False))
    with pytest.raises(ApiServerError, match="needs TLS"):
        server.start()
    assert server.app is None  # nothing was served


def test_serve_listen_needs_http() -> None:
    r = runner.invoke(app, ["serve", "--listen", "0.0.0.0"])
    assert r.exit_code == 2


def _pinned(cert: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cert))
    return ctx


def test_tls_with_a_generated_certificate_clients_can_pin(api_env: Api) -> None:
    server = ApiServer(api_env.host, ApiSettings(port=0, tls=True), local_token=lambda: api_env.token).start()
    try:
        assert server.tls is not None and server.url.startswith("https://127.0.0.1:")
        cert = server.tls.cert
        assert oct(server.tls.key.stat().st_mode & 0o777) == "0o600"
        port = int(server.url.rsplit(":", 1)[1])
        presented = ssl.get_server_certificate(("127.0.0.1", port)).encode()
        assert tls.fingerprint(presented) == server.tls.fingerprint  # what `serve` prints is what it serves
        with httpx.Client(base_url=server.url, verify=_pinned(cert), timeout=30) as c:
            assert c.get("/healthz").status_code == 200
            r = c.get("/api/v1/jobs", headers={"X-API-Key": api_env.keys["read"]})
            assert r.status_code == 200
        with pytest.raises(httpx.ConnectError), httpx.Client(base_url=server.url, timeout=10) as c:
            c.get("/healthz")  # not trusted by the system's CAs
        with pytest.raises(httpx.HTTPError):
            httpx.get(server.url.replace("https", "http") + "/healthz", timeout=10)  # no plain HTTP
    finally:
        server.stop()
    again = tls.self_signed(api_env.settings.data_dir, "127.0.0.1")
    assert not again.generated and again.fingerprint == server.tls.fingerprint  # kept, not remade


def test_beyond_loopback_takes_api_keys_only(api_env: Api) -> None:
    server = ApiServer(
        api_env.host,
        ApiSettings(listen="0.0.0.0", port=0, advertise=False),
        local_token=lambda: api_env.token,
    )
    server.start()
    try:
        assert server.tls is not None and not server.loopback
        with httpx.Client(base_url=server.url, verify=_pinned(server.tls.cert), timeout=30) as c:
            token = {"Authorization": f"Bearer {api_env.token}"}
            assert c.get("/api/v1/keys", headers=token).status_code == 401  # the local token: loopback only
            assert c.get("/api/v1/keys", headers={"X-API-Key": api_env.keys["admin"]}).status_code == 200
            assert c.get("/metrics").status_code == 401  # never unauthenticated off loopback
            assert c.get("/metrics", headers={"X-API-Key": api_env.keys["read"]}).status_code == 200
    finally:
        server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_http_command(settings, tmp_path: Path) -> None:
    """`pixel-detective serve --http` in a subprocess: the API answers with the token file as admin, and
    Ctrl-C stops both services."""
    port = _free_port()
    env = {**os.environ, "PIXEL_DETECTIVE_DATA_DIR": str(settings.data_dir),
           "PIXEL_DETECTIVE_BRIDGE_DIR": str(tmp_path / "bridge")}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--http", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        token_file = tmp_path / "bridge" / "token"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = token_file.read_text().strip()
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/keys", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"REST API:   http://127.0.0.1:{port}/api/v1" in err


def test_serve_address_from_settings_needs_explicit_listen_beyond_loopback() -> None:
    import typer

    from bridge.cli.serve_cmd import _address

    assert _address("127.0.0.1:9000", None, None) == ("127.0.0.1", 9000)
    assert _address("127.0.0.1:9000", None, 9100) == ("127.0.0.1", 9100)
    assert _address("0.0.0.0:9000", "0.0.0.0", None) == ("0.0.0.0", 9000)  # the explicit flag
    with pytest.raises(typer.Exit) as e:
        _address("0.0.0.0:9000", None, None)
    assert e.value.exit_code == 2
