"""Bodies are authenticated before they are read and bounded while they arrive (bridge/api/bodylimit.py):
an anonymous upload is refused before anything reaches the disk, an oversized one with 413 whether it declares
its length or streams it in chunks, and the service answers the next request as before."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from bridge.api.bodylimit import DEFAULT_CAP, ENVELOPE, MIB
from bridge.api.routes.search import MAX_UPLOAD
from tests.bridge.api.conftest import Api


def _temp_entries(api: Api) -> set[str]:
    tmp = api.settings.data_dir / "tmp"
    return {p.name for p in tmp.rglob("*")} if tmp.exists() else set()


def test_anonymous_upload_is_refused_before_its_body_is_read(api_env: Api) -> None:
    big = b"\xff" * (4 * MIB)
    with api_env.client() as c:  # no key
        r = c.post("/api/v1/search/image", files={"file": ("big.jpg", big, "image/jpeg")})
    assert r.status_code == 401
    assert r.json()["field"] == "authorization"


def test_declared_length_over_the_cap_is_413_at_once(api_env: Api) -> None:
    parsed = urlsplit(api_env.url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    request = (
        f"POST /api/v1/jobs HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api_env.keys['admin']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {DEFAULT_CAP + 1}\r\n\r\n{{}}"
    )
    # declares more than it sends: the guard answers from the header alone, without waiting for the body
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(request.encode())
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            data = s.recv(65536)
            if not data:
                break
            reply += data
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.split(b"\r\n", 1)[0].split()[1] == b"413"
    assert json.loads(payload) == {"error": f"body: larger than {DEFAULT_CAP // MIB} MiB", "field": "body"}


def test_streamed_upload_over_the_cap_is_413_and_leaves_nothing(api_env: Api) -> None:
    before = _temp_entries(api_env)
    chunk = b"\x00" * MIB
    total = MAX_UPLOAD + ENVELOPE + 2 * MIB

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.jpg\"\r\n\r\n"
        for _ in range(total // len(chunk)):
            yield chunk

    with api_env.client("read") as c:
        r = c.post("/api/v1/search/image", content=chunks(),
                   headers={"Content-Type": "multipart/form-data; boundary=b"})  # fmt: skip
        assert r.status_code == 413
        assert r.json()["field"] == "body"
        assert c.get("/healthz").status_code == 200  # still serving
    assert _temp_entries(api_env) <= before


def test_a_photo_under_the_cap_still_searches(api_env: Api) -> None:
    photo: Path = api_env.photos[1]
    with api_env.client("read") as c:
        r = c.post("/api/v1/search/image", files={"file": (photo.name, photo.read_bytes(), "image/jpeg")},
                   data={"limit": "3"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["results"]
