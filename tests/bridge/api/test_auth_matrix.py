"""Every endpoint against the auth matrix: no key → 401, a wrong key → 401, a key of a lower scope → 403,
the right scope → 2xx. One table of endpoints; each row builds its request against the module's server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.bridge.api.conftest import Api

LOWER = {"read": None, "index": "read", "admin": "index"}


@dataclass(frozen=True)
class Endpoint:
    name: str
    scope: str
    call: Callable[[httpx.Client, Api], httpx.Response]


def _search_image(c: httpx.Client, env: Api) -> httpx.Response:
    with open(env.photos[2], "rb") as f:
        return c.post("/api/v1/search/image", files={"file": ("q.jpg", f, "image/jpeg")}, data={"limit": "3"})


def _fp(env: Api) -> str:
    row = env.host.reader().file_by_path(str(env.photos[1]))
    assert row is not None and row.fingerprint
    return row.fingerprint


def _events(c: httpx.Client, env: Api) -> httpx.Response:
    with c.stream("GET", "/api/v1/events") as r:
        if r.status_code == 200:
            first = next(r.iter_lines())
            assert first == "event: hello"
        else:
            r.read()
        return r


def _new_key_id(env: Api) -> str:
    from bridge.api.keys import KeyStore

    return KeyStore(env.settings.data_dir).create("to revoke", "read")[0].id


_ARCHIVE: dict[str, bytes] = {}


def _import(c: httpx.Client, env: Api) -> httpx.Response:
    if "index" not in _ARCHIVE:  # exported once with the admin key, then imported back (--force)
        got = httpx.post(
            env.url + "/api/v1/index/export", headers={"X-API-Key": env.keys["admin"]}, timeout=60
        )
        assert got.status_code == 200
        _ARCHIVE["index"] = got.content
    return c.post(
        "/api/v1/index/import",
        files={"file": ("index.tar.gz", _ARCHIVE["index"], "application/gzip")},
        data={"force": "true"},
    )


ENDPOINTS = [
    Endpoint("search", "read", lambda c, e: c.get("/api/v1/search", params={"q": "a photo", "limit": 5})),
    Endpoint("search image", "read", _search_image),
    Endpoint("jobs list", "read", lambda c, e: c.get("/api/v1/jobs")),
    Endpoint("job one", "read", lambda c, e: c.get("/api/v1/jobs/job-1")),
    Endpoint("events", "read", _events),
    Endpoint("photo by fingerprint", "read", lambda c, e: c.get(f"/api/v1/photos/{_fp(e)}")),
    Endpoint(
        "photo by path", "read", lambda c, e: c.get("/api/v1/photos", params={"path": str(e.photos[1])})
    ),
    Endpoint("thumbnail", "read", lambda c, e: c.get(f"/api/v1/photos/{_fp(e)}/thumbnail")),
    Endpoint("duplicates", "read", lambda c, e: c.get("/api/v1/duplicates")),
    Endpoint("failures", "read", lambda c, e: c.get("/api/v1/failures")),
    Endpoint("status", "read", lambda c, e: c.get("/api/v1/status")),
    Endpoint(
        "job submit", "index", lambda c, e: c.post("/api/v1/jobs", json={"folder": str(e.root / "photos")})
    ),
    Endpoint("job pause", "index", lambda c, e: c.post("/api/v1/jobs/job-1/pause")),
    Endpoint("job resume", "index", lambda c, e: c.post("/api/v1/jobs/job-1/resume")),
    Endpoint("job cancel", "index", lambda c, e: c.post("/api/v1/jobs/job-1/cancel")),
    Endpoint("export", "admin", lambda c, e: c.post("/api/v1/index/export")),
    Endpoint("import", "admin", _import),
    Endpoint(
        "writeback",
        "admin",
        lambda c, e: c.post("/api/v1/writeback", json={"target": "xmp", "photos": [str(e.photos[1])]}),
    ),
    Endpoint("keys list", "admin", lambda c, e: c.get("/api/v1/keys")),
    Endpoint(
        "keys create", "admin", lambda c, e: c.post("/api/v1/keys", json={"name": "ci", "scope": "read"})
    ),
    Endpoint("keys revoke", "admin", lambda c, e: c.delete(f"/api/v1/keys/{_new_key_id(e)}")),
]
IDS = [e.name for e in ENDPOINTS]


def _client(env: Api, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=env.url, headers=headers, timeout=60)


@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
def test_no_key_is_401(api_env: Api, ep: Endpoint) -> None:
    with _client(api_env, {}) as c:
        r = ep.call(c, api_env)
    assert r.status_code == 401
    assert r.json()["field"] == "authorization"
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer pd_000000000000_" + "A" * 43},  # well formed, unknown
        {"X-API-Key": "not-a-key", "Authorization": "Basic dXNlcjpwYXNz"},  # malformed; another scheme
    ],
    ids=["unknown", "malformed"],
)
def test_wrong_key_is_401(api_env: Api, ep: Endpoint, headers: dict[str, str]) -> None:
    with _client(api_env, headers) as c:
        r = ep.call(c, api_env)
    assert r.status_code == 401, r.text


@pytest.mark.parametrize(
    "ep", [e for e in ENDPOINTS if LOWER[e.scope]], ids=[e.name for e in ENDPOINTS if LOWER[e.scope]]
)
def test_lower_scope_is_403(api_env: Api, ep: Endpoint) -> None:
    lower = LOWER[ep.scope]
    assert lower is not None
    with _client(api_env, {"X-API-Key": api_env.keys[lower]}) as c:
        r = ep.call(c, api_env)
    assert r.status_code == 403, r.text
    assert ep.scope in r.json()["error"]


@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
def test_right_scope_succeeds(api_env: Api, ep: Endpoint) -> None:
    with _client(api_env, {"Authorization": f"Bearer {api_env.keys[ep.scope]}"}) as c:
        r = ep.call(c, api_env)
    assert 200 <= r.status_code < 300, r.text
    api_env.host.wait_idle(60)  # a submitted job finishes before the next row


@pytest.mark.parametrize(
    "ep", [e for e in ENDPOINTS if e.scope == "read"], ids=[e.name for e in ENDPOINTS if e.scope == "read"]
)
def test_higher_scopes_include_lower_ones(api_env: Api, ep: Endpoint) -> None:
    for scope in ("index", "admin"):
        with _client(api_env, {"X-API-Key": api_env.keys[scope]}) as c:
            assert 200 <= ep.call(c, api_env).status_code < 300


def test_local_token_is_admin_on_loopback(api_env: Api) -> None:
    with _client(api_env, {"Authorization": f"Bearer {api_env.token}"}) as c:
        assert c.get("/api/v1/keys").status_code == 200
    with _client(
        api_env,
        {"Authorization": f"Bearer {api_env.token[:-1]}{'1' if api_env.token.endswith('0') else '0'}"},
    ) as c:
        assert c.get("/api/v1/keys").status_code == 401


def test_revoked_key_stops_working_at_once(api_env: Api) -> None:
    with _client(api_env, {"X-API-Key": api_env.keys["admin"]}) as admin:
        made = admin.post("/api/v1/keys", json={"name": "short lived", "scope": "read"}).json()
        with _client(api_env, {"X-API-Key": made["key"]}) as c:
            assert c.get("/api/v1/jobs").status_code == 200
            listed = admin.get("/api/v1/keys").json()
            assert made["key"] not in str(listed) and all("hash" not in k for k in listed)
            assert admin.delete(f"/api/v1/keys/{made['id']}").status_code == 200
            assert c.get("/api/v1/jobs").status_code == 401
        assert admin.delete("/api/v1/keys/nosuchkey").json()["field"] == "key_id"
