"""Prometheus metrics of the local service: `GET /metrics` (text exposition format).

Every series lives on a dedicated `CollectorRegistry`, never the process-global one, so several hosts in one
process (tests, the tray app and a service) do not collide.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

router = APIRouter()

_default_registry = CollectorRegistry()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The registry on `app.state.metrics_registry` when the app set one, else this module's own."""
    registry = getattr(request.app.state, "metrics_registry", None) or _default_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
