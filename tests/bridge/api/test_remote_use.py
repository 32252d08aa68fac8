"""`pixel-detective remote use NAME --key KEY` checks the key against the engine before storing it: a real engine
(the API over TLS on 127.0.0.1, advertised with zeroconf on loopback), the CLI in a subprocess. A wrong key or a
certificate other than the advertised one: exit 1, a sentence, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from bridge.api.limits import FailureLimiter
from bridge.api.server import ApiServer, ApiSettings
from bridge.discovery import Advertiser
from tests.bridge.api.conftest import Api

LOOPBACK = ["127.0.0.1"]


def test_remote_use_checks_the_key_before_storing_it(api_env: Api, tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text("workers = 3\n")
    env = {
        **os.environ,
        "PIXEL_DETECTIVE_CONFIG": str(config),
        "PIXEL_DETECTIVE_DATA_DIR": str(tmp_path / "d"),
    }

    def use(name: str, key: str) -> subprocess.CompletedProcess[str]:
        args = ["remote", "use", name, "--key", key, "--seconds", "2", "--interface", "127.0.0.1"]
        return subprocess.run([sys.executable, "-m", "bridge", *args], env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip

    server = ApiServer(api_env.host, ApiSettings(port=0, tls=True, advertise=False, webhooks=False, metrics=False),
                       local_token=lambda: None, limiter=FailureLimiter(limit=10_000)).start()  # fmt: skip
    try:
        assert server.tls is not None
        fp, port = server.tls.fingerprint, int(server.url.rsplit(":", 1)[1])
        other = ":".join(["AB"] * 32)
        with (
            Advertiser(port, name="gpu-box", tls_fingerprint=fp, addresses=LOOPBACK, interfaces=LOOPBACK),
            Advertiser(port, name="impostor", tls_fingerprint=other, addresses=LOOPBACK, interfaces=LOOPBACK),
        ):
            wrong = use("gpu-box", "pd_000000000000_" + "A" * 43)
            assert wrong.returncode == 1, (wrong.stdout, wrong.stderr)
            assert "refused the API key" in wrong.stderr and "Nothing was stored" in wrong.stderr
            assert tomllib.loads(config.read_text()) == {"workers": 3}
            impostor = use("impostor", api_env.keys["read"])
            assert impostor.returncode == 1 and "another TLS certificate" in impostor.stderr
            assert api_env.keys["read"] not in impostor.stderr + impostor.stdout
            assert tomllib.loads(config.read_text()) == {"workers": 3}
            right = use("gpu-box", api_env.keys["read"])
            assert right.returncode == 0, right.stderr
    finally:
        server.stop()
    assert tomllib.loads(config.read_text()) == {
        "workers": 3,  # kept
        "remote_url": server.url,
        "remote_api_key": api_env.keys["read"],
        "remote_tls_fingerprint": fp,
    }
    assert config.stat().st_mode & 0o077 == 0  # it holds a key: this user only
