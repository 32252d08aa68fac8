"""Request bodies are bounded and authenticated before a byte of them is stored.

Starlette spools a multipart upload to a temporary file before a route (and its authentication dependency)
runs, so without this an anonymous client could fill the disk with one POST. `BodyGuard` is a pure ASGI
middleware in front of the app that, for every `/api/v1` request carrying a body:

1. checks the credentials in the headers first (the same `authenticate` the routes use; failures count
   towards the per-address limit) and answers 401/429 without reading the body;
2. refuses a declared `Content-Length` above the path's cap with 413 at once, and counts the bytes of a
   chunked body as they arrive, answering 413 as soon as the cap is passed.

Caps: `CAPS` per path (an uploaded photo: `search.MAX_UPLOAD` plus the multipart envelope; an index archive:
none — only an admin key gets that far, and the import checks free space itself), `DEFAULT_CAP` for every
JSON body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from bridge.api.auth import authenticate
from bridge.api.errors import ApiError, body
from bridge.api.routes.search import MAX_UPLOAD

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MIB = 1024 * 1024
DEFAULT_CAP = 8 * MIB
ENVELOPE = MIB  # multipart boundaries, headers and form fields around an uploaded file
CAPS: dict[str, int | None] = {
    "/api/v1/search/image": MAX_UPLOAD + ENVELOPE,
    "/api/v1/index/import": None,
}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyGuard:
    def __init__(self, app: App, prefix: str = "/api/v1") -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS or not scope["path"].startswith(
            self.prefix
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            authenticate(scope["app"].state.api, request, _presented(request))
        except ApiError as e:
            await _reply(send, e.status, e.error, e.field, e.headers)
            return
        cap = CAPS.get(scope["path"].rstrip("/"), DEFAULT_CAP)
        if cap is None:
            await self.app(scope, receive, send)
            return
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            await _reply(send, 413, _too_large(cap), "body")
            return
        await _Counted(self.app, cap)(scope, receive, send)


class _Counted:
    """Counts body bytes as the app reads them; past `cap` the app sees the client leave, and whatever it
    answers is replaced by one 413."""

    def __init__(self, app: App, cap: int) -> None:
        self.app, self.cap = app, cap
        self.seen, self.over, self.started = 0, False, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            if self.over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.seen += len(message.get("body", b""))
                if self.seen > self.cap:
                    self.over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if self.over:
                if message["type"] == "http.response.start" and not self.started:
                    self.started = True
                    await _reply(send, 413, _too_large(self.cap), "body")
                return
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not self.over:
                raise
        if self.over and not self.started:  # the app gave up without answering (client "disconnected")
            await _reply(send, 413, _too_large(self.cap), "body")


def _presented(request: Request) -> str | None:
    header = request.headers.get("x-api-key")
    if header:
        return header
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def _too_large(cap: int) -> str:
    return f"body: larger than {cap // MIB} MiB"


async def _reply(
    send: Send, status: int, error: str, field: str | None, headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body(error, field)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
