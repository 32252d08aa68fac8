"""A Lightroom catalog through the API (an index job of its photos, write-back planned then applied), and the
500 path: an unexpected failure answers a fixed sentence and logs the traceback."""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from bridge.api.app import close_app, create_app
from bridge.api.errors import INTERNAL
from tests.bridge.api.conftest import Api
from tests.bridge.conftest import make_photos


def _catalog(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    from tests.catalog.fixtures import build_catalog

    built = build_catalog(shared_data, tmp_path / "cat", version="1100000")
    lib = tmp_path / "lib"
    con = sqlite3.connect(built.path)
    con.execute(
        "UPDATE AgLibraryRootFolder SET absolutePath = ? WHERE absolutePath NOT LIKE 'C:%'", (f"{lib}/",)
    )
    con.commit()
    con.close()
    (src,) = make_photos(tmp_path / "src", 1, seed=99)
    target = lib / "2024" / "Lisbon trip" / "IMG_0001.CR3"  # a JPEG under a RAW name: decoded by content
    target.parent.mkdir(parents=True)
    target.write_bytes(src.read_bytes())
    return built.path, target


@pytest.mark.shared_data
def test_catalog_job_then_write_back(api_env: Api, shared_data: Path, tmp_path: Path) -> None:
    cat, photo = _catalog(shared_data, tmp_path)
    with api_env.client("admin") as c:
        r = c.post("/api/v1/jobs", json={"catalog": str(cat)})
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["roots"] == [str(photo)] and any("not on disk" in n for n in job["notes"])
        assert api_env.host.wait_idle(120)
        assert c.get(f"/api/v1/jobs/{job['job']}").json()["summary"]["embedded"] == 1
        assert c.get("/api/v1/photos", params={"path": str(photo)}).status_code == 200
        before = cat.read_bytes()
        plan = c.post("/api/v1/writeback", json={"target": "catalog", "catalog": str(cat)})
        assert plan.status_code == 200, plan.text
        assert plan.json()["dry_run"] and plan.json()["photos"] == 1 and "plan" in plan.json()["result"]
        assert cat.read_bytes() == before  # a dry run writes nothing
        done = c.post("/api/v1/writeback", json={"target": "catalog", "catalog": str(cat), "dry_run": False})
        assert done.status_code == 200, done.text
        report = done.json()["result"]["report"]
        assert report["photos_touched"] == 1 and report["keywords_created"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unexpected_failure_is_a_fixed_500_and_logged(api_env: Api, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(api_env.host, with_metrics=False)

    def explode() -> None:
        raise RuntimeError("secret internal detail /home/someone/.ssh")

    app.add_api_route("/api/v1/explode", explode)  # a route of the real app that fails as a bug would
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with caplog.at_level(logging.ERROR, logger="bridge.api.errors"):
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/explode", timeout=30)
        assert r.status_code == 500
        assert r.json() == {"error": INTERNAL, "field": None}
        assert "secret" not in r.text and "Traceback" not in r.text
        assert any(
            rec.exc_info and "secret internal detail" in str(rec.exc_info[1]) for rec in caplog.records
        )
    finally:
        server.should_exit = True
        thread.join(10)
        close_app(app)
