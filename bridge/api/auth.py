"""Who is asking: an API key (`Authorization: Bearer pd_…` or `X-API-Key: pd_…`) or, on a loopback-only
server and from a loopback client, the per-user bridge token (admin). Failures are counted per client address
(`FailureLimiter`): past the limit every request from that address is 429 until the window passes.

Routes declare what they need with `Depends(require(Scope.READ))` and get the `Principal` back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from bridge.api.context import ApiContext, Ctx
from bridge.api.errors import ApiError
from bridge.api.keys import Scope
from bridge.lightroom.auth import same

bearer = HTTPBearer(auto_error=False, description="An API key (pd_…) or, on loopback, the local token")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (pd_…)")

LOCAL_TOKEN_ID = "local-token"


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    scope: Scope

    def who(self) -> dict[str, Any]:
        return {"key_id": self.id, "name": self.name, "scope": self.scope.value}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def is_loopback_host(host: str) -> bool:
    """`is_loopback`, with the name `localhost` counted too (a listen address or a URL's host)."""
    return host == "localhost" or is_loopback(host)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, "authorization", {"WWW-Authenticate": "Bearer"})


def authenticate(ctx: ApiContext, request: Request, presented: str | None) -> Principal:
    client = client_address(request)
    wait = ctx.limiter.retry_after(client)
    if wait is not None:
        raise ApiError(429, "too many failed authentications; try again later", "authorization",
                       {"Retry-After": str(wait)})  # fmt: skip
    if not presented:
        raise _unauthorized("an API key is required (Authorization: Bearer <key> or X-API-Key: <key>)")
    key = ctx.keys.verify(presented)
    if key is not None:
        return Principal(key.id, key.name, key.scope)
    if not presented.startswith("pd_") and ctx.loopback_only and is_loopback(client):
        token = ctx.local_token()
        if token and same(token, presented):
            return Principal(LOCAL_TOKEN_ID, "local token", Scope.ADMIN)
    ctx.limiter.failed(client)
    raise _unauthorized("invalid or revoked API key")


def require(scope: Scope) -> Callable[..., Principal]:
    def dependency(
        request: Request,
        ctx: Ctx,
        cred: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        header: Annotated[str | None, Security(api_key_header)],
    ) -> Principal:
        presented = header or (cred.credentials if cred else None)
        who = authenticate(ctx, request, presented)
        if not who.scope.grants(scope):
            raise ApiError(403, f"this key's scope ({who.scope.value}) does not allow this; it needs {scope.value}",
                           "authorization")  # fmt: skip
        request.state.principal = who
        return who

    return dependency


reader = require(Scope.READ)
indexer = require(Scope.INDEX)
admin = require(Scope.ADMIN)

Reader = Annotated[Principal, Depends(reader)]
Indexer = Annotated[Principal, Depends(indexer)]
Admin = Annotated[Principal, Depends(admin)]
