"""Mutual authentication of the bridge (protocol v2): challenge–response over nonces; the token never
crosses the socket.

    service → plugin   hello      {nonce: nonce_s}
    plugin  → service  hello.ack  {nonce: nonce_p, proof: HMAC(token, "pd-plugin|nonce_s|nonce_p|R|S")}
    service → plugin   auth       {proof: HMAC(token, "pd-service|nonce_p|nonce_s|R|S")}
    plugin  → service  auth.ok    {plugin_version, lightroom, catalog}

R and S are the plugin's `receive` and `send` ports: the plugin signs the ports it listens on, the service
the ports it connected to, so a proof obtained through a relay on other ports never verifies. The role
label first means one side's answer can never be replayed as the other's. Each side checks the other's
proof (constant time) before it sends anything that depends on the token or answers any request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PLUGIN_ROLE = "pd-plugin"
SERVICE_ROLE = "pd-service"
NONCE_RE = re.compile(r"^[0-9a-f]{32,128}$")  # the schema's pattern too: hex, 128..512 bits


def new_nonce() -> str:
    return secrets.token_hex(32)


def _proof(token: str, role: str, first: str, second: str, receive: int, send: int) -> str:
    message = "|".join((role, first, second, str(receive), str(send)))
    return hmac.new(token.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def plugin_proof(token: str, nonce_s: str, nonce_p: str, receive: int, send: int) -> str:
    """What the plugin answers to the service's nonce (the service recomputes it to check)."""
    return _proof(token, PLUGIN_ROLE, nonce_s, nonce_p, receive, send)


def service_proof(token: str, nonce_p: str, nonce_s: str, receive: int, send: int) -> str:
    """What the service answers to the plugin's nonce, sent only after the plugin's proof checked out."""
    return _proof(token, SERVICE_ROLE, nonce_p, nonce_s, receive, send)


def same(expected: str, given: object) -> bool:
    """Constant-time comparison; anything that is not a string is simply wrong."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))
