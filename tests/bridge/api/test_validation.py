"""Bad requests are clear 4xx JSON bodies naming the field; nothing answers with a traceback."""

from __future__ import annotations

import pytest

from tests.bridge.api.conftest import Api

CASES = [
    ("GET", "/api/v1/search", {"params": {"limit": "3"}}, 422, "q"),
    ("GET", "/api/v1/search", {"params": {"q": "x", "limit": "0"}}, 422, "limit"),
    ("GET", "/api/v1/search", {"params": {"q": "x", "limit": "many"}}, 422, "limit"),
    ("GET", "/api/v1/search", {"params": {"q": "x", "offset": "-1"}}, 422, "offset"),
    ("GET", "/api/v1/search", {"params": {"q": "x", "min_score": "2"}}, 422, "min_score"),
    ("GET", "/api/v1/search", {"params": {"q": "x", "where": "shoesize>3"}}, 422, "where"),
    ("GET", "/api/v1/search", {"params": {"q": "   "}}, 422, "q"),
    ("POST", "/api/v1/search/image", {"data": {"limit": "3"}}, 422, "file"),
    (
        "POST",
        "/api/v1/search/image",
        {"files": {"file": ("x.jpg", b"not a photo", "image/jpeg")}},
        422,
        "file",
    ),
    ("POST", "/api/v1/jobs", {"json": {}}, 422, "folder"),
    ("POST", "/api/v1/jobs", {"json": {"folder": "/nonexistent/folder"}}, 422, "folder"),
    ("POST", "/api/v1/jobs", {"json": {"folder": "relative/path"}}, 422, "folder"),
    ("POST", "/api/v1/jobs", {"json": {"folder": "/tmp", "url": "s3://b/p/"}}, 422, "url"),
    ("POST", "/api/v1/jobs", {"json": {"catalog": "/nonexistent.lrcat"}}, 422, "catalog"),
    ("POST", "/api/v1/jobs", {"json": {"url": "not a url"}}, 422, "url"),
    ("POST", "/api/v1/jobs", {"json": {"folder": 5}}, 422, "folder"),
    (
        "POST",
        "/api/v1/jobs",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        422,
        "body",
    ),
    ("GET", "/api/v1/jobs/job-999", {}, 404, "job_id"),
    ("GET", "/api/v1/photos/fp1:nothing", {}, 404, "fingerprint"),
    ("GET", "/api/v1/photos", {"params": {"path": "/no/such/photo.jpg"}}, 404, "path"),
    ("GET", "/api/v1/duplicates", {"params": {"kind": "similar"}}, 422, "kind"),
    ("POST", "/api/v1/writeback", {"json": {"target": "lrcat"}}, 422, "target"),
    ("POST", "/api/v1/writeback", {"json": {"target": "xmp"}}, 422, "photos"),
    ("POST", "/api/v1/writeback", {"json": {"target": "catalog"}}, 422, "catalog"),
    (
        "POST",
        "/api/v1/writeback",
        {"json": {"target": "xmp", "photos": ["/x.jpg"], "rules": ["nonsense"]}},
        422,
        "rules",
    ),
    ("POST", "/api/v1/keys", {"json": {"name": "x", "scope": "root"}}, 422, "scope"),
    ("POST", "/api/v1/keys", {"json": {"name": "bad\nname", "scope": "read"}}, 422, "name"),
    (
        "POST",
        "/api/v1/index/import",
        {"files": {"file": ("a.tar.gz", b"garbage", "application/gzip")}, "data": {"force": "true"}},
        422,
        "file",
    ),
]


@pytest.mark.parametrize(("method", "path", "kw", "status", "field"), CASES)
def test_bad_request_names_the_field(api_env: Api, method, path, kw, status, field) -> None:
    with api_env.client("admin") as c:
        r = c.request(method, path, **kw)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "field"}
    assert body["field"] == field
    assert body["error"] and "Traceback" not in body["error"]


def test_import_over_an_index_needs_force(api_env: Api) -> None:
    with api_env.client("admin") as c:
        r = c.post("/api/v1/index/import", files={"file": ("a.tar.gz", b"garbage", "application/gzip")})
    assert r.status_code == 409 and "force" in r.json()["error"]


def test_unknown_route_and_method_are_json(api_env: Api) -> None:
    with api_env.client("read") as c:
        assert c.get("/api/v1/nothing").json() == {"error": "Not Found", "field": None}
        r = c.delete("/api/v1/search")
        assert r.status_code == 405 and r.json()["field"] is None


def test_pagination_pages_the_same_ranking(api_env: Api) -> None:
    with api_env.client("read") as c:
        whole = c.get("/api/v1/search", params={"q": "a photo", "limit": 8}).json()["results"]
        page = c.get("/api/v1/search", params={"q": "a photo", "offset": 3, "limit": 3}).json()["results"]
    assert len(whole) == 8
    assert [h["fingerprint"] for h in page] == [h["fingerprint"] for h in whole[3:6]]


def test_where_and_min_score_filter(api_env: Api) -> None:
    with api_env.client("read") as c:
        top = c.get("/api/v1/search", params={"q": "a photo", "limit": 5}).json()["results"]
        cut = top[2]["score"]
        high = c.get("/api/v1/search", params={"q": "a photo", "limit": 50, "min_score": cut}).json()[
            "results"
        ]
        assert high and all(h["score"] >= cut - 1e-6 for h in high)
        none = c.get("/api/v1/search", params={"q": "a photo", "where": "ext=png"}).json()["results"]
        jpg = c.get("/api/v1/search", params={"q": "a photo", "where": "ext=jpg"}).json()["results"]
    assert none == [] and len(jpg) > 0


def test_openapi_documents_every_route(api_env: Api) -> None:
    with api_env.client() as c:
        schema = c.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    for p in ("/api/v1/jobs", "/api/v1/jobs/{job_id}/cancel", "/api/v1/search", "/api/v1/search/image",
              "/api/v1/events", "/api/v1/photos/{fingerprint}/thumbnail", "/api/v1/duplicates",
              "/api/v1/failures", "/api/v1/index/export", "/api/v1/index/import", "/api/v1/writeback",
              "/api/v1/keys", "/healthz", "/readyz"):  # fmt: skip
        assert p in paths
    assert "SearchOut" in schema["components"]["schemas"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schema["components"]["securitySchemes"])
