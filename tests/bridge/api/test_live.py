"""The service under load and over time: 50 clients searching while an index job runs, live progress over
server-sent events, failed-auth limiting, and the audit log of write actions."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bridge.api.audit import AuditLog
from bridge.api.limits import FailureLimiter
from bridge.api.server import ApiServer, ApiSettings
from tests.bridge.api.conftest import Api
from tests.bridge.conftest import make_photos


def _read_events(env: Api, out: list[tuple[str, dict]], until_job: list[str], ready: threading.Event) -> None:
    c = httpx.Client(base_url=env.url, headers={"X-API-Key": env.keys["read"]}, timeout=120)
    with c, c.stream("GET", "/api/v1/events") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                out.append((kind, data))
                if kind == "hello":
                    ready.set()
                if kind == "job_finished" and until_job and data.get("job") == until_job[0]:
                    return


def test_progress_events_stream_while_a_job_runs(api_env: Api) -> None:
    folder = api_env.root / "sse"
    make_photos(folder, 24, seed=7)
    events: list[tuple[str, dict]] = []
    job_id: list[str] = []
    ready = threading.Event()
    reader = threading.Thread(target=_read_events, args=(api_env, events, job_id, ready), daemon=True)
    reader.start()
    assert ready.wait(30)
    with api_env.client("index") as c:
        r = c.post("/api/v1/jobs", json={"folder": str(folder), "label": "sse"})
    assert r.status_code == 202
    job_id.append(r.json()["job"])
    reader.join(120)
    assert not reader.is_alive()
    mine = [(k, d) for k, d in events if d.get("job") == job_id[0]]
    kinds = [k for k, _ in mine]
    assert kinds[0] == "job_started" and kinds[-1] == "job_finished"
    assert "phase" in kinds and "progress" in kinds
    last = mine[-1][1]
    assert last["status"] == "completed" and last["summary"]["embedded"] == 24
    done = [d["done"] for k, d in mine if k == "progress" and d["phase"] == mine[-2][1]["phase"]]
    assert done == sorted(done)  # progress only moves forward within a phase


def test_fifty_clients_search_while_a_job_runs(api_env: Api) -> None:
    folder = api_env.root / "busy"
    make_photos(folder, 80, seed=11)
    with api_env.client("index") as c:
        job = c.post("/api/v1/jobs", json={"folder": str(folder)}).json()["job"]
    statuses: list[int] = []
    seen_running = threading.Event()
    lock = threading.Lock()

    def client(i: int) -> None:
        with api_env.client("read") as c:
            for j in range(3):
                r = c.get("/api/v1/search", params={"q": f"photo {i} {j}", "limit": 10})
                with lock:
                    statuses.append(r.status_code)
                if r.status_code == 200 and len(r.json()["results"]) == 0:
                    statuses.append(-1)  # an index that has photos never answers empty
                if api_env.host.job(job).status == "running":  # type: ignore[union-attr]
                    seen_running.set()

    started = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        list(pool.map(client, range(50)))
    assert statuses.count(200) == 150, sorted(set(statuses))
    assert seen_running.is_set(), "the searches did not overlap the job"
    assert time.monotonic() - started < 120
    assert api_env.host.wait_idle(120)
    with api_env.client("read") as c:
        assert c.get(f"/api/v1/jobs/{job}").json()["status"] == "completed"


def test_failed_auth_is_limited_per_client(api_env: Api) -> None:
    server = ApiServer(api_env.host, ApiSettings(port=0), limiter=FailureLimiter(limit=3, window=60)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            wrong = {"X-API-Key": "pd_000000000000_" + "B" * 43}
            assert [c.get("/api/v1/jobs", headers=wrong).status_code for _ in range(3)] == [401] * 3
            r = c.get("/api/v1/jobs", headers=wrong)
            assert r.status_code == 429
            assert 1 <= int(r.headers["retry-after"]) <= 60
            # limited means limited: even the right key waits (a guesser learns nothing from 429 vs 200)
            assert c.get("/api/v1/jobs", headers={"X-API-Key": api_env.keys["read"]}).status_code == 429
            assert c.get("/healthz").status_code == 200  # health needs no key and is never limited
    finally:
        server.stop()


def test_limiter_window_passes() -> None:
    lim = FailureLimiter(limit=2, window=0.3)
    lim.failed("a")
    assert lim.retry_after("a") is None
    lim.failed("a")
    assert lim.retry_after("a") == 1 and lim.retry_after("b") is None
    time.sleep(0.35)
    assert lim.retry_after("a") is None


def test_write_actions_are_audited(api_env: Api) -> None:
    log = AuditLog(api_env.settings.data_dir)
    before = len(log.read())
    with api_env.client("admin") as c:
        job = c.post("/api/v1/jobs", json={"folder": str(api_env.root / "photos")}).json()["job"]
        c.post(f"/api/v1/jobs/{job}/cancel")
        made = c.post("/api/v1/keys", json={"name": "audited", "scope": "index"}).json()
        c.delete(f"/api/v1/keys/{made['id']}")
        c.post(
            "/api/v1/writeback", json={"target": "xmp", "photos": [str(api_env.photos[0])], "dry_run": False}
        )
        c.get("/api/v1/search", params={"q": "reads are not audited"})
    api_env.host.wait_idle(60)
    lines = log.read()[before:]
    assert [x["action"] for x in lines] == [
        "job.submit",
        "job.cancel",
        "key.create",
        "key.revoke",
        "writeback",
    ]
    admin_id = api_env.keys["admin"].split("_")[1]
    for x in lines:
        assert x["who"]["key_id"] == admin_id and x["who"]["name"] == "test admin"
        assert x["client"] == "127.0.0.1" and x["at"].endswith("+00:00")
    assert lines[0]["details"]["job"] == job
    assert made["key"] not in log.path.read_text()  # never a secret
    assert oct(log.path.stat().st_mode & 0o777) == "0o600"


def test_searches_during_an_import_wait_for_the_new_index(api_env: Api) -> None:
    """An import switches ledger and store under the running host: searches that overlap it wait and then
    answer from the new index, never 500 (EngineHost.querying / swapping)."""
    assert api_env.host.wait_idle(120)
    with api_env.client("admin") as c:
        archive = c.post("/api/v1/index/export").content
        before = c.get("/api/v1/search", params={"q": "photo", "limit": 50}).json()["results"]
    stop = threading.Event()
    statuses: list[int] = []

    def searcher(i: int) -> None:
        with api_env.client("read") as c:
            while not stop.is_set():
                r = c.get("/api/v1/search", params={"q": f"photo {i}", "limit": 5})
                statuses.append(r.status_code if r.status_code != 200 or r.json()["results"] else -1)

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(searcher, i) for i in range(6)]
        time.sleep(0.5)
        with api_env.client("admin") as c:
            r = c.post("/api/v1/index/import", files={"file": ("index.tar.gz", archive, "application/gzip")},
                       data={"force": "true"})  # fmt: skip
        time.sleep(0.5)
        stop.set()
        for f in futures:
            f.result()
    assert r.status_code == 200, r.text
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    with api_env.client("read") as c:
        after = c.get("/api/v1/search", params={"q": "photo", "limit": 50}).json()["results"]
    assert {h["fingerprint"] for h in after} == {h["fingerprint"] for h in before}
