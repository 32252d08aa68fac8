"""/metrics from a real host: a real index run (with a broken file) feeds the counters and histograms."""

from __future__ import annotations

import shutil
import sys
import time

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bridge.api import metrics
from bridge.host import EngineHost
from tests.bridge.api.hostevents import announced
from tests.bridge.conftest import make_photos


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    out = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def names(samples) -> set[str]:
    return {name for name, _ in samples}


def test_a_real_run_feeds_the_metrics(settings, tmp_path):
    folder = tmp_path / "photos"
    make_photos(folder, 12)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    app = FastAPI()
    app.include_router(metrics.router)
    with EngineHost(settings) as host, TestClient(app) as client:
        collector = metrics.attach(app, host)
        seen = announced(host)
        before = scrape(client)
        assert before[("pixel_detective_files_seen_total", ())] == 0
        assert before[("pixel_detective_jobs", (("state", "queued"),))] == 0
        assert before[("pixel_detective_host_up", ())] == 1
        job = host.submit([folder])
        assert seen.wait(120) and job.status == "completed", job.error
        summary = job.summary
        assert summary is not None
        with collector.time_search("text"):
            host.search_text("a photo", limit=3)
        after = scrape(client)
        collector.close()

    assert after[("pixel_detective_files_seen_total", ())] == summary["files_seen"] == 13
    assert after[("pixel_detective_files_indexed_total", ())] == summary["embedded"] == 12
    failed = {
        dict(k[1])["reason"]: v for k, v in after.items() if k[0] == "pixel_detective_files_failed_total"
    }
    assert failed == summary["failures_by_reason"] and sum(failed.values()) == 1
    assert after[("pixel_detective_runs_total", (("status", "completed"),))] == 1
    for stage, seconds in summary["phase_seconds"].items():
        assert after[("pixel_detective_stage_seconds_count", (("stage", stage),))] == 1
        assert after[("pixel_detective_stage_seconds_sum", (("stage", stage),))] == seconds
    assert "embed" in summary["phase_seconds"] and "scan" in summary["phase_seconds"]
    assert after[("pixel_detective_search_seconds_count", (("kind", "text"),))] == 1
    assert 0 < after[("pixel_detective_search_seconds_sum", (("kind", "text"),))] < 60
    assert after[("pixel_detective_store_points", ())] == 12
    assert after[("pixel_detective_store_bytes", ())] > 0
    assert after[("pixel_detective_ledger_bytes", ())] > 0
    free = shutil.disk_usage(settings.data_dir).free
    assert abs(after[("pixel_detective_data_dir_free_bytes", ())] - free) < 200 * 2**20
    assert after[("pixel_detective_data_dir_min_free_bytes", ())] == settings.min_free_mb * 2**20
    assert after[("pixel_detective_jobs", (("state", "running"),))] == 0
    assert after[("pixel_detective_throughput_files_per_second", ())] == 0  # idle again
    assert time.time() - 300 < after[("pixel_detective_last_progress_timestamp_seconds", ())] <= time.time()
    assert abs(after[("pixel_detective_heartbeat_timestamp_seconds", ())] - time.time()) < 60
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        # No invented figures: a CPU machine exports no GPU series at all.
        assert not [n for n in names(after) if n.startswith("pixel_detective_gpu_")]


def test_throughput_and_queue_depth_while_a_job_runs(settings, tmp_path):
    folder, second = tmp_path / "a", tmp_path / "b"
    make_photos(folder, 160, size=(64, 48), seed=1)
    make_photos(second, 3, seed=2)
    app = FastAPI()
    app.include_router(metrics.router)
    with EngineHost(settings.with_overrides(batch_size=8)) as host, TestClient(app) as client:
        metrics.attach(app, host)
        seen = announced(host, jobs=2)
        running = []
        host.subscribe(
            lambda e: running.append(e.data)
            if e.kind == "progress" and e.data["phase"] == "indexing" and e.data["done"] >= 24
            else None
        )
        first = host.submit([folder])
        host.submit([second])
        deadline = time.monotonic() + 120
        while not running and time.monotonic() < deadline:
            time.sleep(0.05)
        mid = scrape(client)
        assert seen.wait(180)
        end = scrape(client)
    assert first.status == "completed"
    if mid[("pixel_detective_jobs", (("state", "running"),))] == 1:  # not already finished on a fast machine
        assert mid[("pixel_detective_jobs", (("state", "queued"),))] == 1
        assert mid[("pixel_detective_throughput_files_per_second", ())] > 0
        assert mid[("pixel_detective_job_files_total", ())] == 160
    assert end[("pixel_detective_runs_total", (("status", "completed"),))] == 2
    assert end[("pixel_detective_files_indexed_total", ())] == 163


def test_two_hosts_in_one_process_keep_their_own_series(settings, tmp_path):
    other = settings.with_overrides(data_dir=tmp_path / "other")
    shutil.copytree(settings.models_dir, other.models_dir)
    make_photos(tmp_path / "p", 2)
    with EngineHost(settings) as h1, EngineHost(other) as h2:
        c1, c2 = metrics.MetricsCollector(h1), metrics.MetricsCollector(h2)
        seen = announced(h1)
        h1.submit([tmp_path / "p"])
        assert seen.wait(120)
        text1, text2 = c1.exposition().decode(), c2.exposition().decode()
    assert "pixel_detective_files_indexed_total 2.0" in text1
    assert "pixel_detective_files_indexed_total 0.0" in text2


def test_no_collector_attached_is_a_503():
    app = FastAPI()
    app.include_router(metrics.router)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 503
