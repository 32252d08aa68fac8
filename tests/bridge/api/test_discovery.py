"""Announce and discover on loopback (python-zeroconf bound to 127.0.0.1), in-process and through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

from bridge.discovery import SERVICE_TYPE, Advertiser, browse

LOOPBACK = ["127.0.0.1"]
FP = "AB:CD:" + ":".join(["01"] * 30)


def test_an_advertised_engine_is_found_with_its_txt_properties():
    with Advertiser(
        8765, name="studio.example", tls_fingerprint=FP, addresses=LOOPBACK, interfaces=LOOPBACK
    ) as adv:
        assert adv.name == "studio-example"  # no dots inside a DNS-SD instance label
        found = browse(3, interfaces=LOOPBACK)
    mine = [e for e in found if e.name == "studio-example"]
    assert len(mine) == 1, found
    e = mine[0]
    assert e.port == 8765 and e.addresses == ("127.0.0.1",)
    assert e.tls_fingerprint == FP and e.api_path == "/api/v1" and e.display_name == "studio.example"
    assert e.url == "https://127.0.0.1:8765"
    assert adv.info.type == SERVICE_TYPE


def test_a_closed_advertiser_is_no_longer_found():
    adv = Advertiser(9001, name="gone-soon", addresses=LOOPBACK, interfaces=LOOPBACK)
    adv.close()  # unregistering sends a goodbye
    assert "gone-soon" not in [e.name for e in browse(3, interfaces=LOOPBACK)]


def test_remote_list_and_use_through_the_cli(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("workers = 3\n")
    env = {
        **os.environ,
        "PIXEL_DETECTIVE_CONFIG": str(config),
        "PIXEL_DETECTIVE_DATA_DIR": str(tmp_path / "d"),
    }

    def pd(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bridge", *args], env=env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip

    with Advertiser(8443, name="attic", tls_fingerprint=FP, addresses=LOOPBACK, interfaces=LOOPBACK):
        listed = pd("remote", "list", "--seconds", "3", "--interface", "127.0.0.1", "--json")
        assert listed.returncode == 0, listed.stderr
        rows = {r["name"]: r for r in json.loads(listed.stdout)}
        assert "attic" in rows, (listed.stdout, listed.stderr)
        assert rows["attic"]["port"] == 8443 and rows["attic"]["tls_fingerprint"] == FP
        text = pd("remote", "list", "--seconds", "3", "--interface", "127.0.0.1")
        assert "attic\t127.0.0.1\t8443\t" + FP in text.stdout
        # Nothing answers on its port: the key is checked before it is stored (stored with a real engine in
        # tests/bridge/api/test_remote_use.py), so nothing is written.
        used = pd(
            "remote", "use", "attic", "--key", "pdk_test_key", "--seconds", "3", "--interface", "127.0.0.1"
        )
        assert used.returncode == 1 and "did not answer" in used.stderr, used.stderr
    missing = pd("remote", "use", "nobody", "--key", "k", "--seconds", "0.5", "--interface", "127.0.0.1")
    assert missing.returncode == 1 and "no engine named 'nobody'" in missing.stderr
    assert tomllib.loads(config.read_text()) == {"workers": 3}
