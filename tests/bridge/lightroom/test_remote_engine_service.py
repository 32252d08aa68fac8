"""The plug-in served from a remote engine (issue 15): the simulated plug-in ⇄ a Service on "the laptop" whose
host is the REST client of "the GPU box" (a real EngineHost behind uvicorn over TLS on 127.0.0.1, pinned, with a
real API key). Answers are the engine's own; what needs the local index says so in a fixed sentence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.api.keys import Scope
from bridge.api.plugin_remote import PluginRemote
from bridge.api.remote_host import ApiHost
from bridge.api.server import ApiServer
from bridge.host import EngineHost
from bridge.lightroom import Service
from bridge.lightroom.remote import NeedsLocalEngine
from bridge.records import Stage
from bridge.settings import Settings
from tests.bridge.conftest import make_photos
from tests.bridge.lightroom.conftest import FAST, tls_api
from tests.bridge.lightroom.plugin_sim import PluginSim


@dataclass
class Laptop:
    engine: EngineHost  # the GPU box's own host (to compare answers with)
    server: ApiServer
    api: ApiHost
    service: Service
    sim: PluginSim


@pytest.fixture
def gpu_box(indexed: EngineHost) -> Iterator[tuple[ApiServer, str]]:
    """The engine's REST API over TLS on 127.0.0.1, and an `index` key it issued."""
    with tls_api(indexed, Scope.INDEX) as served:
        yield served


def _remote(server: ApiServer, key: str) -> dict[str, str]:
    assert server.tls is not None
    return {"remote_url": server.url, "remote_api_key": key, "remote_tls_fingerprint": server.tls.fingerprint}


@pytest.fixture
def laptop(
    indexed: EngineHost, gpu_box: tuple[ApiServer, str], bridge_dir: Path, tmp_path: Path
) -> Iterator[Laptop]:
    server, key = gpu_box
    settings = Settings(data_dir=tmp_path / "laptop", **_remote(server, key))  # type: ignore[arg-type]
    api = ApiHost(settings)
    service = Service(settings, host=PluginRemote(api), directory=bridge_dir, timeouts=FAST).start()
    sim = PluginSim(bridge_dir).start()
    try:
        assert sim.wait_connected(20), service.status()
        yield Laptop(indexed, server, api, service, sim)
    finally:
        sim.quit()
        service.stop()
        api.close()
    assert not (tmp_path / "laptop" / "ledger.db").exists()  # no index of its own on the laptop


def _hits(frame: dict) -> list[tuple[str, int]]:
    assert frame["type"].endswith(".result"), frame
    return [(h["path"], h["rank"]) for h in frame["body"]["results"]]


def test_status_search_and_similar_are_the_remote_engines(laptop: Laptop, photos: Path) -> None:
    sim, engine = laptop.sim, laptop.engine
    st = sim.request("status")
    assert st["type"] == "status.result", st
    body = st["body"]
    led = engine.reader()
    assert body["model"] == engine.engine.model_id
    assert body["indexed"] == led.stage_counts()[(Stage.EMBED, engine.engine.model_id)] == 12
    assert body["vectors"] == engine.engine.store().count() and body["weights_ok"] is True
    assert body["failed"] == led.counts()["failed"] and body["running"] is None
    assert body["engine"] == laptop.server.url  # the engine that answers, not "this computer"
    # Text search, with and without a filter: the engine's ranking.
    got = sim.request("search", {"query": "a red sky", "limit": 5})
    assert _hits(got) == [(h.path, h.rank) for h in engine.search_text("a red sky", limit=5)]
    assert len(_hits(got)) == 5
    where = f"folder={photos}"
    filtered = sim.request("search", {"query": "a red sky", "limit": 3, "where": where})
    assert [p for p, _ in _hits(filtered)] == [p for p, _ in _hits(got)][:3]
    bad = sim.request("search", {"query": "x", "where": "rating >>> 3"})
    assert bad["type"] == "error" and bad["body"]["code"] == "bad_request"
    # Similar: the selected photo (a file here) is uploaded; the engine's neighbours, the example left out.
    example = str(sorted(photos.glob("*.jpg"))[3])
    like = sim.request("similar", {"paths": [example], "limit": 4})
    assert _hits(like) == [(h.path, h.rank) for h in engine.search_like([example], limit=4)]
    assert example not in [p for p, _ in _hits(like)]
    refused = sim.request("similar", {"paths": ["/etc/passwd"], "limit": 4})
    assert refused["type"] == "error" and refused["body"]["code"] == "refused"  # never uploaded


def test_analyze_runs_on_the_remote_engine_with_its_progress(laptop: Laptop, tmp_path: Path) -> None:
    sim, engine = laptop.sim, laptop.engine
    new = make_photos(tmp_path / "new", 3, seed=31)  # the same path on both "machines": the studio's NAS
    frames = sim.stream("analyze", {"paths": [str(x) for x in new]}, final=("analyze.done",), timeout=60)
    types = [f["type"] for f in frames]
    assert types[0] == "analyze.accepted" and types[-1] == "analyze.done", frames
    job = frames[0]["body"]["job"]
    assert frames[0]["body"]["total"] == 3 and engine.job(job) is not None  # the engine's own job id
    assert "progress" in types and all(f["body"]["job"] == job for f in frames[1:])
    done = frames[-1]["body"]
    assert done["status"] == "completed" and done["summary"]["embedded"] == 3, done
    assert set(engine.reader().fingerprints_for([str(x) for x in new])) == {str(x) for x in new}
    assert sim.request("cancel", {"job": job})["body"] == {"job": job, "cancelled": False}  # finished
    assert sim.request("cancel", {"job": "job-999"})["body"] == {"job": "job-999", "cancelled": False}


def test_cancel_stops_the_remote_job(laptop: Laptop, tmp_path: Path) -> None:
    sim, engine = laptop.sim, laptop.engine
    new = make_photos(tmp_path / "held", 2, seed=41)
    engine.pause()  # the engine's queue holds: the job stays queued until cancelled
    try:
        rid = sim.send_request("analyze", {"paths": [str(x) for x in new]})
        accepted = sim.wait_reply(rid, 30)[0]
        assert accepted["type"] == "analyze.accepted", accepted
        job = accepted["body"]["job"]
        assert sim.request("cancel", {"job": job})["body"] == {"job": job, "cancelled": True}
        frames = sim.wait_reply(rid, 30, final=("analyze.done",))
        assert frames[-1]["type"] == "analyze.done" and frames[-1]["body"]["status"] == "stopped", frames
        assert engine.job(job).status == "cancelled"  # type: ignore[union-attr]
    finally:
        engine.resume()


def test_what_the_remote_engine_cannot_do_is_said_plainly(laptop: Laptop, photos: Path) -> None:
    sim = laptop.sim
    url = laptop.server.url
    gone = sim.request("analyze", {"paths": ["/nowhere/on/the/gpu-box/IMG_1.jpg"]})
    assert gone["type"] == "error" and gone["body"]["code"] == "not_found", gone
    said = gone["body"]["message"]
    assert url in said and "under the same path" in said and "1 of 1 photos" in said
    assert "/nowhere/on/the/gpu-box/IMG_1.jpg" in said
    one = str(sorted(photos.glob("*.jpg"))[0])
    for type_, what in (("metadata", "Apply AI metadata"), ("duplicates", "Find duplicates")):
        got = sim.request(type_, {"paths": [one]})
        assert got["type"] == "error" and got["body"]["code"] == "refused", got
        assert got["body"]["message"].startswith(f"{what} needs Pixel Detective's engine on this computer")
        assert url in got["body"]["message"]
    with pytest.raises(NeedsLocalEngine, match="Sync to Lightroom needs"):
        laptop.service.sync_to_lightroom()
    text = bytes(sim.received).decode()
    assert "Traceback" not in text and "ClientError" not in text


def test_serve_with_a_remote_engine_answers_the_plugin_from_it(
    indexed: EngineHost, gpu_box: tuple[ApiServer, str], bridge_dir: Path, tmp_path: Path
) -> None:
    server, key = gpu_box
    config = tmp_path / "settings.toml"
    config.write_text("")
    laptop = tmp_path / "laptop"
    env = {**os.environ, "PIXEL_DETECTIVE_CONFIG": str(config), "PIXEL_DETECTIVE_DATA_DIR": str(laptop),
           "PIXEL_DETECTIVE_BRIDGE_DIR": str(bridge_dir),
           **{f"PIXEL_DETECTIVE_{k.upper()}": v for k, v in _remote(server, key).items()}}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        with PluginSim(bridge_dir) as sim:
            assert sim.wait_connected(30), proc.poll()
            st = sim.request("status")
            assert st["type"] == "status.result", st
            assert st["body"]["indexed"] == 12 and st["body"]["engine"] == server.url
            got = sim.request("search", {"query": "a red sky", "limit": 3})
            assert _hits(got) == [(h.path, h.rank) for h in indexed.search_text("a red sky", limit=3)]
            time.sleep(1.2)  # `serve` reports the connection state twice a second
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"remote engine: {server.url}" in err and "Lightroom connected" in err
    assert not (laptop / "ledger.db").exists()  # the local index was never opened
    wrong = {**env, "PIXEL_DETECTIVE_REMOTE_API_KEY": "pd_000000000000_" + "A" * 43}
    refused = subprocess.run([sys.executable, "-m", "bridge", "serve"], env=wrong, capture_output=True, text=True,
                             timeout=60)  # fmt: skip
    assert refused.returncode == 1 and "refused the API key" in refused.stderr, refused.stderr


def test_a_job_that_ended_while_the_event_stream_was_down_still_ends_the_analyze(laptop: Laptop) -> None:
    """The engine's `hello` after a reconnect lists a job that was live as finished: its `job_finished` is announced,
    so the plug-in's progress bar ends."""
    api, sim = laptop.api, laptop.sim
    job = {"job": "job-77", "label": "x", "roots": [], "status": "running", "phase": "embed", "done": 1,
           "failed": 0, "total": 2}  # fmt: skip
    api._on_event("job_started", job)
    seen: list[tuple[str, dict]] = []
    api.subscribe(lambda ev: seen.append((ev.kind, dict(ev.data))))
    api._on_event("hello", {"state": "idle", "jobs": [{**job, "status": "completed", "done": 2}]})
    assert ("job_finished", {**job, "status": "completed", "done": 2, "summary": None}) in seen
    assert api.job("job-77").finished.is_set()  # type: ignore[union-attr]
    api._on_event("hello", {"state": "idle", "jobs": [{**job, "status": "completed", "done": 2}]})
    assert [k for k, _ in seen].count("job_finished") == 1  # announced once
    assert sim.request("status")["type"] == "status.result"
