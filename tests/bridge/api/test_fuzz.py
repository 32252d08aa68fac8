"""Hypothesis throws arbitrary query parameters and JSON bodies at the API: every answer is a JSON 2xx/4xx (never
a 500, never a traceback), the service stays up (health 200 afterwards) and its memory stays bounded."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.files.objects import is_url
from tests.bridge.api.conftest import Api

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)  # JSON cannot carry lone surrogates
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=10,
)


def _safe_source(v: object) -> bool:
    """Never let the fuzzer index a real folder (`/`) or reach for a bucket."""
    if not isinstance(v, str):
        return True
    try:
        return not (is_url(v) or Path(v).expanduser().is_dir())
    except (OSError, ValueError):
        return True


@pytest.fixture(scope="module")
def fuzz_clients(api_env: Api):
    with api_env.client("admin") as admin, api_env.client("read") as read:
        yield admin, read


def _ok(r: httpx.Response) -> None:
    assert r.status_code < 500, r.text
    assert "Traceback" not in r.text
    if r.status_code >= 400:
        body = r.json()
        assert set(body) == {"error", "field"}


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["q", "where", "offset", "limit", "min_score", "kind", "reason", "path", "x"]),
        st.one_of(text, st.integers(-(10**12), 10**12).map(str), st.floats().map(str)),
        max_size=6,
    ),
    path=st.sampled_from(["/api/v1/search", "/api/v1/failures", "/api/v1/photos", "/api/v1/jobs"]),
)
def test_query_parameters(fuzz_clients, params, path) -> None:
    _, read = fuzz_clients
    _ok(read.get(path, params=params))


@FUZZ
@given(
    body=st.one_of(
        json_value,
        st.fixed_dictionaries(
            {},
            optional={
                "folder": scalar.filter(_safe_source),
                "catalog": scalar.filter(_safe_source),
                "url": scalar.filter(_safe_source),
                "captions": scalar,
                "label": json_value,
            },
        ),
    )
)
def test_job_bodies(api_env: Api, fuzz_clients, body) -> None:
    admin, _ = fuzz_clients
    _ok(admin.post("/api/v1/jobs", json=body))
    api_env.host.wait_idle(30)


@FUZZ
@given(
    body=st.fixed_dictionaries(
        {"dry_run": st.just(True)},  # a fuzzer never writes sidecars or catalogs
        optional={
            "target": st.sampled_from(["xmp", "catalog", "other"]) | scalar,
            "catalog": scalar,
            "photos": st.lists(text, max_size=3) | scalar,
            "rules": st.lists(text, max_size=3) | scalar,
            "what": st.lists(text, max_size=3) | scalar,
            "overwrite_caption": scalar,
        },
    ),
    key=st.fixed_dictionaries({}, optional={"name": json_value, "scope": json_value}),
)
def test_admin_bodies(fuzz_clients, body, key) -> None:
    admin, _ = fuzz_clients
    _ok(admin.post("/api/v1/writeback", json=body))
    r = admin.post("/api/v1/keys", json=key)
    _ok(r)
    if r.status_code == 201:  # a valid key came out: take it back
        _ok(admin.delete(f"/api/v1/keys/{r.json()['id']}"))


def test_service_is_up_and_memory_bounded_after_fuzzing(api_env: Api, fuzz_clients) -> None:
    admin, read = fuzz_clients
    proc = psutil.Process(os.getpid())  # the server runs in this process (uvicorn thread)
    for i in range(30):  # warm up: models and caches loaded
        read.get("/api/v1/search", params={"q": f"warm {i}"})
    before = proc.memory_info().rss
    for i in range(60):
        read.get("/api/v1/search", params={"q": f"x{i}" * (i % 40), "limit": str(1 + i % 200)})
        read.get("/api/v1/search", params={"where": "!!" * i, "q": "y"})
        admin.post("/api/v1/jobs", json={"folder": "/nonexistent/" + "a" * i})
    grown = proc.memory_info().rss - before
    assert grown < 100 * 1024 * 1024, f"RSS grew by {grown / 1e6:.0f} MB"
    assert read.get("/healthz").status_code == 200
    assert read.get("/readyz").status_code == 200
