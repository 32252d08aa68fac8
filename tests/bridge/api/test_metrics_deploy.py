"""The shipped deploy files: alert rules name only metrics a live /metrics exports; units and plists parse."""

from __future__ import annotations

import configparser
import plistlib
import re
import shutil
import subprocess
import threading
from pathlib import Path

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bridge.api import metrics
from bridge.host import EngineHost
from tests.bridge.conftest import make_photos

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
RULES = DEPLOY / "prometheus" / "pixel-detective-alerts.yml"
PROMETHEUS_OWN = {"up"}  # series Prometheus itself adds per target


def exported_names(settings, tmp_path) -> set[str]:
    """Every sample name a real host's /metrics serves after one real run with a failure."""
    folder = tmp_path / "p"
    make_photos(folder, 3)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 broken")
    app = FastAPI()
    app.include_router(metrics.router)
    with EngineHost(settings) as host, TestClient(app) as client:
        metrics.attach(app, host)
        done = threading.Event()
        host.subscribe(lambda e: done.set() if e.kind == "job_finished" else None)
        host.submit([folder])
        assert done.wait(120)
        text = client.get("/metrics").text
    return {s.name for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_every_alert_expression_uses_exported_metrics(settings, tmp_path):
    rules = yaml.safe_load(RULES.read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"]]
    names = {r["alert"] for r in alerts}
    assert {"PixelDetectiveDown", "PixelDetectiveRunStalled", "PixelDetectiveFailureRateHigh",
            "PixelDetectiveDiskNearlyFull", "PixelDetectiveHeartbeatMissing"} <= names  # fmt: skip
    exported = exported_names(settings, tmp_path)
    used: set[str] = set()
    for rule in alerts:
        assert rule["expr"] and rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        metric_refs = set(
            re.findall(r"\b(pixel_detective_[a-z0-9_]+|up)\b(?=\s*[{\[)<>=!\s*/+-]|$)", rule["expr"])
        )
        assert metric_refs, rule["alert"]
        missing = metric_refs - exported - PROMETHEUS_OWN
        assert not missing, f"{rule['alert']} uses metrics /metrics does not export: {missing}"
        used |= metric_refs
    assert "pixel_detective_files_failed_total" in used and "pixel_detective_data_dir_free_bytes" in used
    promtool = shutil.which("promtool")
    if promtool:  # not installed on the development machine; CI images with Prometheus check the syntax too
        r = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def test_systemd_units_parse_and_restart_on_failure():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(DEPLOY / "systemd" / "pixel-detective-watch.service")
    assert unit["Service"]["Restart"] == "on-failure"
    assert int(unit["Service"]["RestartSec"]) > 0
    assert "/healthz" in unit["Service"]["ExecStartPost"]
    assert unit["Service"]["ExecStart"].split()[1:] == ["serve", "--http"]
    assert unit["Install"]["WantedBy"]
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read(DEPLOY / "systemd" / "pixel-detective-health.timer")
    assert timer["Timer"]["OnUnitActiveSec"]
    health = configparser.ConfigParser(strict=False, interpolation=None)
    health.read(DEPLOY / "systemd" / "pixel-detective-health.service")
    assert "restart pixel-detective-watch.service" in health["Service"]["ExecStart"]
    analyze = shutil.which("systemd-analyze")
    if analyze:
        # --man=no: no man pages here. The ExecStart binary (~/.local/bin) does not exist on a test machine: that
        # one complaint is tolerated; anything else (unknown keys, bad values, syntax) fails.
        for name in (
            "pixel-detective-watch.service",
            "pixel-detective-health.service",
            "pixel-detective-health.timer",
        ):
            r = subprocess.run([analyze, "verify", "--man=no", str(DEPLOY / "systemd" / name)],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
            problems = [
                ln
                for ln in (r.stdout + r.stderr).splitlines()
                if ln.strip() and "is not executable" not in ln
            ]
            assert not problems, problems


def test_launchd_plist_parses_and_keeps_the_engine_alive():
    with (DEPLOY / "launchd" / "app.pixel-detective.watch.plist").open("rb") as f:
        plist = plistlib.load(f)
    assert plist["Label"] == "app.pixel-detective.watch"
    assert plist["ProgramArguments"][1:] == ["serve", "--http"]
    assert plist["KeepAlive"]["SuccessfulExit"] is False and plist["KeepAlive"]["Crashed"] is True
    assert plist["RunAtLoad"] is True and plist["ThrottleInterval"] >= 10
