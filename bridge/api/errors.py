"""Error bodies: every 4xx is `{"error": "...", "field": "..."|null}`; anything unexpected is a 500 with a fixed
sentence (the traceback goes to the log, never to the client)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

INTERNAL = "internal error: the service logged the details"


class ApiError(Exception):
    """A request the API refuses, with a message for the client and the field it is about."""

    def __init__(
        self, status: int, error: str, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.status, self.error, self.field, self.headers = status, error, field, headers


def body(error: str, field: str | None = None) -> dict[str, Any]:
    return {"error": error, "field": field}


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form", "cookie")]
    if not parts and loc:
        return str(loc[0])  # the whole body (or query) is wrong: name where
    return ".".join(parts) or None


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(body(exc.error, exc.field), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = "body" if first.get("type") == "json_invalid" else _field_of(first.get("loc", ()))
        msg = str(first.get("msg", "invalid request"))
        text = f"{field}: {msg}" if field else msg
        return JSONResponse(body(text, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        text = exc.detail if isinstance(exc.detail, str) else "request refused"
        return JSONResponse(body(text), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(body(INTERNAL), status_code=500)
