"""The remote store's HTTP behaviour against real local servers (tests/bridge/store/httpfakes.py): retries with
back-off on 503/429/refused connections, parallel batched upserts, timeouts and errors that name the server.

No Qdrant server binary can be installed here, so these servers answer only the few REST endpoints each test
needs; the real qdrant-client and httpx do the talking. The full API path (collections, search, scroll) is
tested through qdrant-client's local mode (test_contract.py, test_remote.py)."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from bridge.store import Point, StoreError, open_store
from bridge.store.options import ServerOptions
from bridge.store.remote import UPSERT_BATCH, RemoteStore, _connect
from tests.bridge.store.httpfakes import UPSERTED, error, fake_qdrant, ok, refused_url, silent_server

DIM = 8
FAST = ServerOptions(timeout_s=1, retries=2, backoff_s=0.01, backoff_max_s=0.05)


def points(n: int) -> list[Point]:
    rng = np.random.default_rng(0)
    return [Point(str(uuid.uuid4()), rng.normal(size=DIM), {"path": f"/p/{i}.jpg"}) for i in range(n)]


def store_at(url: str, options: ServerOptions = FAST) -> RemoteStore:
    """A store on the fake server without the collection checks of `open` (which needs the full
    collection-info answer a real server gives)."""
    client, where, local = _connect(url, None, None, options)
    return RemoteStore(client, where, "pd_v1_x", DIM, options, local=local)


def upserts(rec) -> list:
    return [body for method, path, body in rec.requests if method == "PUT" and path.endswith("/points")]


def test_503_twice_then_success_is_retried():
    calls = {"n": 0}

    def script(method, path, body):
        calls["n"] += 1
        return error(503, "busy") if calls["n"] <= 2 else ok(UPSERTED)

    with fake_qdrant(script) as (url, rec), store_at(url) as store:
        store.upsert(points(3))
    assert len(upserts(rec)) == 3  # two refusals, then the one that was applied
    assert len(upserts(rec)[-1]["points"]) == 3


def test_429_with_retry_after_is_retried():
    calls = {"n": 0}

    def script(method, path, body):
        calls["n"] += 1
        return error(429, "slow down", {"Retry-After": "0"}) if calls["n"] == 1 else ok(UPSERTED)

    with fake_qdrant(script) as (url, rec), store_at(url) as store:
        store.upsert(points(2))
    assert len(upserts(rec)) == 2


def test_a_server_that_stays_down_gets_a_sentence_naming_it():
    down = fake_qdrant(lambda m, p, b: error(503, "internal panic: stack trace ..."))
    with down as (url, rec), store_at(url) as store, pytest.raises(StoreError) as e:
        store.upsert(points(2))
    msg = str(e.value)
    assert msg.startswith(
        f"the Qdrant server at {url} could not take the upsert (HTTP 503, after 3 attempts)"
    )
    assert "panic" not in msg and "Raw response" not in msg
    assert len(upserts(rec)) == 3  # 1 + retries


def test_a_bad_request_is_not_retried_and_says_why():
    bad = fake_qdrant(lambda m, p, b: error(400, "Wrong input: vector dimension error"))
    expected = pytest.raises(StoreError, match=r"rejected the upsert .*HTTP 400: Wrong input")
    with bad as (url, rec), store_at(url) as store, expected:
        store.upsert(points(1))
    assert len(upserts(rec)) == 1


def test_upserts_go_out_in_parallel_batches():
    sent = points(4 * UPSERT_BATCH - 10)
    slow = fake_qdrant(lambda m, p, b: ok(UPSERTED), delay_s=0.2)
    with slow as (url, rec), store_at(url, ServerOptions(parallel=4, retries=0)) as store:
        t0 = time.monotonic()
        store.upsert(sent)
        took = time.monotonic() - t0
    bodies = upserts(rec)
    assert sorted(len(b["points"]) for b in bodies) == [UPSERT_BATCH - 10] + [UPSERT_BATCH] * 3
    assert {p["id"] for b in bodies for p in b["points"]} == {p.id for p in sent}
    assert rec.max_in_flight == 4
    assert took < 0.6  # four 0.2 s requests at once, not one after another (0.8 s)


def test_parallel_one_is_sequential():
    slow = fake_qdrant(lambda m, p, b: ok(UPSERTED), delay_s=0.05)
    with slow as (url, rec), store_at(url, ServerOptions(parallel=1, retries=0)) as store:
        store.upsert(points(3 * UPSERT_BATCH))
    assert len(upserts(rec)) == 3 and rec.max_in_flight == 1


def test_a_server_that_never_answers_times_out_naming_it():
    with silent_server() as url:
        t0 = time.monotonic()
        with pytest.raises(StoreError) as e:
            open_store(
                "qdrant", collection="c", dim=DIM, url=url, options=ServerOptions(timeout_s=1, retries=0)
            )
        took = time.monotonic() - t0
    assert str(e.value) == (
        f"the Qdrant server at {url} did not answer the open within 1 s (at the first attempt); "
        "check that it is up and not overloaded, or raise qdrant_timeout_s"
    )
    assert 0.9 < took < 5


def test_refused_connections_are_retried_then_explained():
    url = refused_url()
    opts = ServerOptions(retries=3, backoff_s=0.1, backoff_max_s=1)
    t0 = time.monotonic()
    with pytest.raises(StoreError) as e:
        open_store("qdrant", collection="c", dim=DIM, url=url, options=opts)
    took = time.monotonic() - t0
    assert str(e.value).startswith(f"cannot reach the Qdrant server at {url} (open, after 4 attempts)")
    assert took >= 0.05 + 0.1 + 0.2  # jittered back-off: at least half of 0.1, 0.2 and 0.4 s


def test_peek_reads_without_creating():
    def script(method, path, body):
        if path.endswith("/exists"):
            return ok({"exists": path.split("/")[2] == "there"})
        if path.endswith("/points/count"):
            return ok({"count": 7})
        return error(500, "unexpected")

    with fake_qdrant(script) as (url, rec):
        assert RemoteStore.peek(collection="there", url=url, options=FAST) == 7
        assert RemoteStore.peek(collection="missing", url=url, options=FAST) is None
    assert all(method in ("GET", "POST") for method, _, _ in rec.requests)  # nothing was created


def test_not_a_url():
    with pytest.raises(StoreError, match="not a Qdrant server address"):
        open_store("qdrant", collection="c", dim=DIM, url="ftp://server:6333")
