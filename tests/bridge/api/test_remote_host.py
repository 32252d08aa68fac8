"""ApiHost against a real engine behind the REST API over TLS (uvicorn on 127.0.0.1, the data dir's self-signed
certificate, pinned by its SHA-256): searches, a job with live progress, thumbnails, and the refusals (wrong
pin: nothing sent; wrong key; engine gone) as sentences."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.api.client import ClientError
from bridge.api.limits import FailureLimiter
from bridge.api.remote_host import ApiHost
from bridge.api.server import ApiServer, ApiSettings
from bridge.host import Job
from bridge.search.query import Result
from bridge.search.where import parse_where
from bridge.settings import Settings
from tests.bridge.api.conftest import Api
from tests.bridge.conftest import make_photos


class _SeenHeaders:
    """ASGI middleware that records each request's Authorization header (what the server saw)."""

    def __init__(self, app: Any, seen: list[bytes | None]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append(dict(scope["headers"]).get(b"authorization"))
        await self.app(scope, receive, send)


def _tls_server(api_env: Api, seen: list[bytes | None]) -> ApiServer:
    server = ApiServer(
        api_env.host,
        ApiSettings(port=0, tls=True),
        local_token=lambda: api_env.token,
        limiter=FailureLimiter(limit=10_000),
    ).start()
    assert server.app is not None
    server.app.add_middleware(_SeenHeaders, seen=seen)  # before its first request: the stack is built then
    return server


def _settings(tmp_path: Path, server: ApiServer, key: str, pin: str | None = None) -> Settings:
    assert server.tls is not None
    return Settings(data_dir=tmp_path / "laptop", remote_url=server.url, remote_api_key=key,
                    remote_tls_fingerprint=pin if pin is not None else server.tls.fingerprint)  # fmt: skip


@pytest.fixture(scope="module")
def served(api_env: Api) -> Iterator[tuple[ApiServer, list[bytes | None]]]:
    seen: list[bytes | None] = []
    server = _tls_server(api_env, seen)
    try:
        yield server, seen
    finally:
        server.stop()


def _paths(results: list[Result]) -> list[str]:
    return [r.path for r in results]


def test_searches_jobs_and_thumbnails_through_the_api(api_env: Api, served, tmp_path: Path) -> None:
    server, seen = served
    with ApiHost(_settings(tmp_path, server, api_env.keys["index"])) as host:
        assert host.state in ("idle", "error")  # the first `hello` arrived: the engine's own state
        assert seen and all(a == f"Bearer {api_env.keys['index']}".encode() for a in seen)
        # Text: the engine's own ranking, as the same record type.
        hits = host.search_text("a red sky", limit=8)
        assert all(isinstance(h, Result) for h in hits)
        assert _paths(hits) == _paths(api_env.host.search_text("a red sky", limit=8))
        assert [h.rank for h in hits] == list(range(1, 9))
        # Like a photo on this computer: uploaded; the example itself is not among the results.
        example = api_env.photos[3]
        like = host.search_like([str(example)], limit=5)
        assert _paths(like) == _paths(api_env.host.search_like([str(example)], limit=5))
        assert str(example) not in _paths(like) and len(like) == 5
        # A job on the engine's machine, with its progress arriving as events until it finishes.
        folder = api_env.root / "remote-job"
        mine = make_photos(folder, 5, seed=21)
        events: list[tuple[str, dict[str, Any]]] = []
        host.subscribe(lambda ev: events.append((ev.kind, dict(ev.data))))
        job = host.submit([str(folder)], label="from the laptop")
        assert isinstance(job, Job)
        assert job.finished.wait(120), job
        assert job.status == "completed" and host.job(job.id) is job and job in host.jobs()
        kinds = [k for k, d in events if d.get("job") == job.id]
        assert kinds[0] == "job_started" and "progress" in kinds and kinds[-1] == "job_finished", kinds
        assert host.wait_idle(30)
        # Metadata alone (no model): the new folder's photos, as the engine answers `--where`.
        where = f"folder={folder}"
        meta = host.search_metadata(limit=50, where=where)
        assert sorted(_paths(meta)) == sorted(str(p) for p in mine)
        assert _paths(meta) == _paths(api_env.host.search_metadata(limit=50, where=parse_where(where)))
        # A thumbnail by fingerprint (the remote path is not a file here).
        jpeg = host.thumbnail(meta[0].fingerprint)
        assert jpeg[:3] == b"\xff\xd8\xff"
        with pytest.raises(ClientError, match="no indexed photo"):
            host.thumbnail("0" * 32)
    assert host.state == "closed"


def test_a_wrong_pin_is_refused_before_the_key_is_sent(api_env: Api, served, tmp_path: Path) -> None:
    server, seen = served
    before = len(seen)
    other = "AB:CD:" + ":".join(["01"] * 30)
    with pytest.raises(ClientError) as err:
        ApiHost(_settings(tmp_path, server, api_env.keys["index"], pin=other))
    assert "presents a different certificate than the one you chose" in str(err.value)
    assert "remote use" in str(err.value)
    assert len(seen) == before  # no request at all reached the server: the key never left
    with pytest.raises(ClientError, match="no certificate fingerprint is pinned"):
        ApiHost(_settings(tmp_path, server, api_env.keys["index"], pin=""))
    assert len(seen) == before


def test_a_wrong_key_and_a_missing_scope_are_said_plainly(api_env: Api, served, tmp_path: Path) -> None:
    server, _ = served
    with pytest.raises(ClientError) as err:
        ApiHost(_settings(tmp_path, server, "pd_000000000000_" + "x" * 43))
    assert err.value.status == 401 and "refused the API key" in str(err.value)
    with ApiHost(_settings(tmp_path, server, api_env.keys["read"])) as host:  # read: search, not index
        assert host.search_text("a photo", limit=1)
        with pytest.raises(ClientError) as err:
            host.submit([str(api_env.root / "photos")])
        assert err.value.status == 403 and "lacks the scope" in str(err.value) and "index" in str(err.value)


def test_an_engine_that_stops_is_said_plainly(api_env: Api, tmp_path: Path) -> None:
    seen: list[bytes | None] = []
    server = _tls_server(api_env, seen)
    settings = _settings(tmp_path, server, api_env.keys["read"])
    host = ApiHost(settings)
    try:
        states: list[str] = []
        host.subscribe(lambda ev: states.append(ev.data.get("state", "")))
        server.stop()
        with pytest.raises(ClientError) as err:
            host.search_text("anything", limit=3)
        assert "does not answer" in str(err.value) and "Traceback" not in str(err.value)
        t0 = time.monotonic()
        while host.state != "error" and time.monotonic() - t0 < 20:
            time.sleep(0.1)
        assert host.state == "error" and host.last_error and settings.remote_url in host.last_error
        assert "error" in states
    finally:
        host.close()
    with pytest.raises(ClientError, match="does not answer"):
        ApiHost(settings)  # nothing listens there now
