"""`create_app(host)`: the REST API over one `EngineHost`, versioned under `/api/v1`, described by its OpenAPI
schema (`/api/v1/openapi.json`, browsable at `/api/v1/docs`).

Layout of the URL space: `/api/v1/...` the API; `/healthz` (process up) and `/readyz` (engine open, ledger and
store answering) without authentication (they reveal nothing); `/metrics` from `bridge.api.metrics` (open on a
loopback-only server, a `read` key otherwise); `/` and `/static` are reserved for the dashboard.

Extension points: `app.state.api` is the `ApiContext` (host, keys, audit, limiter); other parts add search
observers to `ctx.search_observers` (called with kind, seconds, result count after every search) or keep their
objects in `ctx.extra`; the metrics collector is on `app.state.metrics`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from bridge import __version__
from bridge.api import errors, metrics
from bridge.api.audit import AuditLog
from bridge.api.auth import authenticate
from bridge.api.bodylimit import BodyGuard
from bridge.api.context import ApiContext, Ctx
from bridge.api.keys import KeyStore
from bridge.api.limits import FailureLimiter
from bridge.api.routes import admin, jobs, photos, search, status
from bridge.host import CLOSED, EngineHost

API_PREFIX = "/api/v1"
RESERVED = ("/", "/static")  # the dashboard's (bridge/api/static/)
STATIC = Path(__file__).with_name("static")
# the dashboard loads only its own files; thumbnails arrive as blob: URLs (fetched with the key)
DASHBOARD_CSP = "default-src 'self'; img-src 'self' blob:; object-src 'none'; frame-ancestors 'none'"


class Health(BaseModel):
    status: str
    version: str


class Ready(BaseModel):
    status: str
    checks: dict[str, bool]


def create_app(
    host: EngineHost,
    *,
    keys: KeyStore | None = None,
    audit: AuditLog | None = None,
    limiter: FailureLimiter | None = None,
    local_token: Callable[[], str | None] | None = None,
    loopback_only: bool = True,
    with_metrics: bool = True,
) -> FastAPI:
    """The app for `host`. `local_token` returns the per-user bridge token (accepted as admin on a
    loopback-only server from loopback clients); `loopback_only` must be False whenever the server listens on
    any other address."""
    data_dir = host.settings.data_dir
    ctx = ApiContext(
        host=host,
        keys=keys or KeyStore(data_dir),
        audit=audit or AuditLog(data_dir),
        limiter=limiter or FailureLimiter(),
        local_token=local_token or (lambda: None),
        loopback_only=loopback_only,
    )
    app = FastAPI(
        title="Pixel Detective",
        version=__version__,
        description="Index, search and write back photos through the local Pixel Detective service.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.api = ctx
    errors.install(app)
    app.add_middleware(BodyGuard)  # bodies: authenticated, then bounded, before any byte is stored

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.url.path.startswith(API_PREFIX):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    v1 = APIRouter(prefix=API_PREFIX)
    for module in (jobs, search, photos, admin, status):
        v1.include_router(module.router)
    app.include_router(v1)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": DASHBOARD_CSP})

    @app.get("/healthz", response_model=Health, tags=["service"], summary="The process is up")
    def healthz() -> Health:
        return Health(status="ok", version=__version__)

    @app.get("/readyz", response_model=Ready, tags=["service"], summary="Engine open, ledger and store answer",
             responses={503: {"model": Ready}})  # fmt: skip
    def readyz(ctx: Ctx) -> Any:
        checks = {"engine": ctx.host.state != CLOSED, "ledger": False, "store": False}
        with contextlib.suppress(Exception):
            ctx.host.reader().counts()
            checks["ledger"] = True
        with contextlib.suppress(Exception):
            engine = ctx.host.engine
            checks["store"] = engine.embedder is None or engine.store().count() >= 0
        ok = all(checks.values())
        return JSONResponse(Ready(status="ready" if ok else "not ready", checks=checks).model_dump(),
                            status_code=200 if ok else 503)  # fmt: skip

    if with_metrics:
        attach = getattr(metrics, "attach", None)  # the collector (bridge/api/metrics.py) where it has one
        if attach is not None:
            collector = attach(app, host)
            ctx.search_observers.append(lambda kind, seconds, _n: collector.observe_search(seconds, kind))
            ctx.extra["metrics"] = collector

        def _metrics_guard(request: Request, ctx: Ctx) -> None:
            if not ctx.loopback_only:  # never unauthenticated off loopback
                from bridge.api.keys import Scope

                presented = request.headers.get("x-api-key") or _bearer(request)
                who = authenticate(ctx, request, presented)
                if not who.scope.grants(Scope.READ):
                    raise errors.ApiError(403, "this key cannot read metrics", "authorization")

        app.include_router(metrics.router, dependencies=[Depends(_metrics_guard)])
    return app


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def close_app(app: FastAPI) -> None:
    """Stop event streams and detach from the host (the host itself belongs to the caller)."""
    ctx: ApiContext = app.state.api
    ctx.stopping.set()
    collector = ctx.extra.get("metrics")
    if collector is not None:
        collector.close()
