"""One authenticated request to a remote engine (a GPU box serving a laptop) over TLS pinned to the certificate
fingerprint it advertised: the check before `remote_url` / `remote_api_key` are stored.

The engine's certificate is self-signed, so no CA can vouch for it: the connection is made without CA checks,
and the certificate it presents is compared with the advertised SHA-256 fingerprint before anything is sent.
Only when they match does the API key go out, on that same connection (never a second connection that someone
in between could answer differently). `check_key` raises `EngineCheck` with a `kind` the caller words for its
user; it never passes an exception's text on.

`pinned_certificate` + `trusting` are the same pin for a long-lived client (`bridge.api.remote_host.ApiHost`): a
bare handshake fetches the certificate and compares it with the pin before any request, then an SSL context that
trusts that one certificate and nothing else carries every later connection.

Below every layer (stdlib only) because the CLI (`remote use`), the Lightroom bridge (`engine.use`) and the API
client all pin the same way: this is the one implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import ssl
from typing import Literal
from urllib.parse import urlsplit

CHECK_PATH = "/api/v1/jobs"  # a read endpoint: any valid key may read it, a wrong one gets 401
TIMEOUT_S = 5.0

Kind = Literal["no_tls", "unreachable", "fingerprint", "wrong_key", "throttled", "not_an_engine"]


class EngineCheck(Exception):
    """Why the engine cannot be used: `no_tls` (no https URL or no fingerprint to pin), `unreachable`,
    `fingerprint` (another certificate than advertised: the key was not sent), `wrong_key`, `throttled`
    (too many failed keys from here), `not_an_engine` (an answer that is not the API's)."""

    def __init__(self, kind: Kind) -> None:
        super().__init__(kind)
        self.kind: Kind = kind


def normalized_fingerprint(text: str) -> str:
    """ "ab:CD:…" / "abcd…" → "ABCD…" (hex digits only, upper case)."""
    return "".join(c for c in text if c not in ": ").upper()


def matches(der: bytes | None, fingerprint: str) -> bool:
    """Whether the DER certificate's SHA-256 is `fingerprint` (any case, with or without colons); constant time."""
    want = normalized_fingerprint(fingerprint or "")
    got = hashlib.sha256(der).hexdigest().upper() if der else ""
    return len(want) == 64 and hmac.compare_digest(got, want)


def _unverified() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False  # the pin replaces name and CA checks (a self-signed certificate has neither)
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def pinned_certificate(host: str, port: int, fingerprint: str, *, timeout: float = TIMEOUT_S) -> str:
    """The PEM certificate `host:port` presents, when its SHA-256 is `fingerprint`: a bare TLS handshake, nothing
    sent. `EngineCheck("unreachable")` when no handshake completes, `"fingerprint"` for another certificate."""
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            _unverified().wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError:  # refused, timed out, no route, handshake failed (ssl.SSLError is an OSError)
        raise EngineCheck("unreachable") from None
    if not matches(der, fingerprint):
        raise EngineCheck("fingerprint")
    assert der is not None
    return ssl.DER_cert_to_PEM_cert(der)


def trusting(pem: str) -> ssl.SSLContext:
    """A client context whose only trust anchor is this certificate (no host name check: the pin is the identity,
    and a LAN address is often not among the certificate's names)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=pem)
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # also when a CA issued it: the leaf is the anchor
    return ctx


def check_key(url: str, fingerprint: str, key: str, *, timeout: float = TIMEOUT_S) -> None:
    """Returns when the engine at `url` presents the certificate `fingerprint` names and accepts `key`."""
    parts = urlsplit(url)
    want = normalized_fingerprint(fingerprint or "")
    if parts.scheme != "https" or not parts.hostname or len(want) != 64:
        raise EngineCheck("no_tls")
    try:
        port = parts.port or 443
    except ValueError:
        raise EngineCheck("no_tls") from None
    conn = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout, context=_unverified())
    try:
        try:
            conn.connect()
        except OSError:  # refused, timed out, no route, TLS handshake failed (ssl.SSLError is an OSError)
            raise EngineCheck("unreachable") from None
        sock = conn.sock
        der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
        if not matches(der, want):
            raise EngineCheck("fingerprint")
        try:
            conn.request(
                "GET", CHECK_PATH, headers={"Authorization": f"Bearer {key}", "Accept": "application/json"}
            )
            response = conn.getresponse()
            response.read(64 * 1024)
        except ValueError:  # a key that cannot be a header value (a newline in it) is no key of the engine's
            raise EngineCheck("wrong_key") from None
        except (OSError, http.client.HTTPException):
            raise EngineCheck("unreachable") from None
    finally:
        conn.close()
    if response.status in (401, 403):
        raise EngineCheck("wrong_key")
    if response.status == 429:
        raise EngineCheck("throttled")
    if response.status != 200:
        raise EngineCheck("not_an_engine")
