"""`ApiContext`: what every route needs (the host, keys, audit log, failed-auth limiter), kept on `app.state.api`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from bridge.api.audit import AuditLog
from bridge.api.keys import KeyStore
from bridge.api.limits import FailureLimiter
from bridge.host import EngineHost

# A search observer gets (kind, seconds, results): kind is "text" or "image". The metrics module appends one.
SearchObserver = Callable[[str, float, int], None]


@dataclass
class ApiContext:
    host: EngineHost
    keys: KeyStore
    audit: AuditLog
    limiter: FailureLimiter
    local_token: Callable[[], str | None]  # the per-user bridge token, accepted as admin on loopback only
    loopback_only: bool  # the server listens on a loopback address (the local token is refused otherwise)
    search_observers: list[SearchObserver] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)  # ends event streams on shutdown
    extra: dict[str, Any] = field(default_factory=dict)  # room for other parts (webhooks, discovery)

    def observe_search(self, kind: str, seconds: float, results: int) -> None:
        for fn in list(self.search_observers):
            try:
                fn(kind, seconds, results)
            except Exception:  # an observer must never fail a search
                import logging

                logging.getLogger(__name__).exception("search observer failed")


def api(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.api
    return ctx


Ctx = Annotated[ApiContext, Depends(api)]
