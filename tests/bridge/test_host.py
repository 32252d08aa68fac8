"""EngineHost: jobs on a worker thread, pause within one batch, resume, cancel, queries while indexing."""

from __future__ import annotations

import threading
import time

from bridge.host import PAUSED, EngineHost
from bridge.search.where import parse_where
from tests.bridge.conftest import make_photos


def test_jobs_run_in_the_background_and_report_progress(settings, tmp_path):
    folder = tmp_path / "p"
    make_photos(folder, 12)
    events = []
    with EngineHost(settings) as host:
        host.subscribe(events.append)
        job = host.submit([folder])
        assert host.wait_idle(120)
        assert job.finished.is_set()  # wait_idle returns only once the job is finished
        assert job.status == "completed", job.error
        assert job.summary["embedded"] == 12
        kinds = [e.kind for e in events]
        assert "job_started" in kinds and "job_finished" in kinds and "progress" in kinds
        hits = host.search_text("a photo", limit=5)
        assert len(hits) == 5
        similar = host.search_like([str(folder / "gen_00000.jpg")], limit=3)
        assert str(folder / "gen_00000.jpg") not in [h.path for h in similar] and len(similar) == 3
        listed = host.search_metadata(where=parse_where("ext=jpg width>=96"), limit=20)  # no query, no vector
        assert sorted(h.path for h in listed) == sorted(str(p) for p in folder.glob("*.jpg"))
        assert host.search_metadata(where=parse_where("camera=canon")) == []


def test_pause_stops_within_one_batch_and_resume_finishes(settings, tmp_path):
    folder = tmp_path / "p"
    make_photos(folder, 120, size=(64, 48))
    s = settings.with_overrides(batch_size=8)
    with EngineHost(s) as host:
        first_batch = threading.Event()
        host.subscribe(lambda e: first_batch.set() if e.kind == "progress" and e.data["done"] else None)
        job = host.submit([folder])
        assert first_batch.wait(120)
        host.pause()
        assert host.state == PAUSED
        assert not host.wait_idle(timeout=0.5)  # a paused job is still pending
        deadline = time.monotonic() + 60
        while job.status == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        done_at_pause = len(host.reader().done_fingerprints("embed", s.model))
        assert done_at_pause < 120
        time.sleep(1.0)
        assert len(host.reader().done_fingerprints("embed", s.model)) == done_at_pause  # really stopped
        host.resume()
        assert job.finished.wait(180)
        assert job.status == "completed"
        assert len(host.reader().done_fingerprints("embed", s.model)) == 120


def test_cancel_a_queued_job_and_queries_during_indexing(settings, tmp_path):
    a, b, warm = tmp_path / "a", tmp_path / "b", tmp_path / "warm"
    make_photos(warm, 4, seed=3)
    make_photos(a, 200, size=(64, 48), seed=1)
    make_photos(b, 5, seed=2)
    with EngineHost(settings.with_overrides(batch_size=8)) as host:
        assert host.submit([warm]).finished.wait(120)  # something to find from the first query on
        progressed = threading.Event()
        host.subscribe(lambda e: progressed.set() if e.kind == "progress" and e.data["done"] else None)
        first = host.submit([a])
        second = host.submit([b])
        assert host.cancel(second.id)
        assert progressed.wait(120)
        errors = []
        during: list[bool] = []

        def query():
            try:
                for _ in range(10):
                    during.append(first.status == "running")
                    assert len(host.search_text("something", limit=3)) == 3
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=query) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert first.finished.wait(120) and second.finished.wait(10)
        assert first.status == "completed" and second.status == "cancelled"
        assert not errors
        assert any(during)  # some queries really ran while the job was indexing


def test_idle_models_are_freed_and_load_again_on_the_next_search(settings, tmp_path):
    folder = tmp_path / "p"
    make_photos(folder, 6)
    with EngineHost(settings.with_overrides(model_idle_release_s=0.2)) as host:
        assert host.submit([folder]).finished.wait(120)
        before = [(h.path, round(h.score, 5)) for h in host.search_text("a photo", limit=3)]
        embedder = host.engine.embedder
        deadline = time.monotonic() + 30
        while embedder.model.loaded and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not embedder.model.loaded, "the host never freed the idle embedder"
        after = [(h.path, round(h.score, 5)) for h in host.search_text("a photo", limit=3)]
        assert after == before  # loaded again, transparently, with the same weights


def test_models_are_not_freed_while_a_job_runs(settings, tmp_path):
    folder = tmp_path / "p"
    make_photos(folder, 24, size=(64, 48))
    freed_during_job: list[list[str]] = []
    with EngineHost(settings.with_overrides(model_idle_release_s=0, batch_size=8)) as host:
        assert host._idle_watch is None  # 0: no watcher at all
        # Progress events come from the worker thread between batches, while the job is running.
        host.subscribe(
            lambda e: freed_during_job.append(host.release_idle_models(0)) if e.kind == "progress" else None
        )
        job = host.submit([folder])
        assert job.finished.wait(120) and job.status == "completed", job.error
        assert freed_during_job and not any(freed_during_job)
        assert host.engine.embedder.model.loaded
        assert host.release_idle_models(3600) == []  # just used
        assert host.release_idle_models(0) == [settings.model]
        assert not host.engine.embedder.model.loaded
