"""Discovery on the local network: the HTTP API (`bridge/api`) advertised as `_pixeldetective._tcp.local.`
(mDNS/DNS-SD). Here, below every layer, because the API advertises and browses and so does the Lightroom
bridge's `engines` request (bridge.lightroom may not import bridge.api).

With network mode on (the API listens beyond loopback), the server runs an `Advertiser`: one service instance
`NAME._pixeldetective._tcp.local.` whose TXT record holds

    version  the engine's version          api   the API's path ("/api/v1")
    fp       the TLS certificate's SHA-256 fingerprint (colon-separated hex; "" without TLS)
    name     a human name (the host name by default)

`browse(seconds)` (what `pixel-detective remote list` runs) collects the instances that answer within that time.
A client pins the advertised fingerprint: mDNS is unauthenticated, so the fingerprint only says which certificate
to expect; the API key still authorises every request (`remote use NAME --key KEY`).

python-zeroconf does the protocol; `interfaces` restricts it (tests use `["127.0.0.1"]`). A network without
multicast (some VPNs, containers) makes advertising fail with a warning: the API works without discovery.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceListener, Zeroconf

from bridge import __version__

log = logging.getLogger(__name__)

SERVICE_TYPE = "_pixeldetective._tcp.local."
DEFAULT_API_PATH = "/api/v1"


@dataclass(frozen=True)
class RemoteEngine:
    """One advertised engine, as `remote list` shows it."""

    name: str  # the instance name (without the service type): what `remote use NAME` takes
    display_name: str
    addresses: tuple[str, ...]
    port: int
    version: str
    api_path: str
    tls_fingerprint: str

    @property
    def url(self) -> str:
        """The engine's base URL (https when it advertises a certificate)."""
        scheme = "https" if self.tls_fingerprint else "http"
        host = self.addresses[0] if self.addresses else "localhost"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"


def instance_name(name: str) -> str:
    """A DNS-SD instance label: no dots (they separate labels), at most 63 bytes."""
    label = name.replace(".", "-").strip() or "pixel-detective"
    return label.encode()[:63].decode(errors="ignore")


class Advertiser:
    """Announce this engine's API while it is open; `close()` says goodbye (the entry disappears at once)."""

    def __init__(
        self,
        port: int,
        *,
        name: str | None = None,
        api_path: str = DEFAULT_API_PATH,
        tls_fingerprint: str = "",
        addresses: Sequence[str] | None = None,
        interfaces: Sequence[str] | None = None,
    ) -> None:
        display = name or socket.gethostname().split(".")[0] or "pixel-detective"
        label = instance_name(display)
        ips = list(addresses) if addresses else _lan_addresses()
        self.info = ServiceInfo(
            SERVICE_TYPE,
            f"{label}.{SERVICE_TYPE}",
            port=port,
            properties={"version": __version__, "api": api_path, "fp": tls_fingerprint, "name": display},
            server=f"{label}.local.",
            parsed_addresses=ips,
        )
        self._zc = Zeroconf(interfaces=list(interfaces) if interfaces else _all_interfaces())
        try:
            self._zc.register_service(self.info, allow_name_change=True)
        except Exception:
            self._zc.close()
            raise

    @property
    def name(self) -> str:
        """The instance name actually registered (renamed `NAME (2)` when another engine has the name)."""
        return str(self.info.name).removesuffix("." + SERVICE_TYPE)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._zc.unregister_service(self.info)
        self._zc.close()

    def __enter__(self) -> Advertiser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Collect(ServiceListener):
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.lock = threading.Lock()

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        with self.lock:
            self.names.add(name)

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.add_service(zc, type_, name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        with self.lock:
            self.names.discard(name)


def browse(seconds: float = 3.0, *, interfaces: Sequence[str] | None = None) -> list[RemoteEngine]:
    """The engines that answer within `seconds`, sorted by name.

    Keep `seconds` at 2 or more: the browser asks again after 1 s, 2 s, ..., and a responder multicasts a record
    at most once a second (RFC 6762 section 6), so a shorter window misses an engine that has just announced
    itself or answered someone else (seen on loopback: 1.5 s found it about 2 times in 3)."""
    zc = Zeroconf(interfaces=list(interfaces) if interfaces else _all_interfaces())
    listener = _Collect()
    browser = ServiceBrowser(zc, SERVICE_TYPE, listener)
    try:
        time.sleep(seconds)
        with listener.lock:
            names = sorted(listener.names)
        found = []
        for full in names:
            info = zc.get_service_info(SERVICE_TYPE, full, timeout=int(max(seconds, 1.0) * 1000))
            if info is not None and info.port:
                found.append(_remote(full, info))
        return found
    finally:
        browser.cancel()
        zc.close()


def _remote(full: str, info: Any) -> RemoteEngine:
    props = {
        (k.decode() if isinstance(k, bytes) else str(k)): (v.decode() if isinstance(v, bytes) else v or "")
        for k, v in (info.properties or {}).items()
    }
    name = full.removesuffix("." + SERVICE_TYPE)
    return RemoteEngine(
        name=name,
        display_name=props.get("name") or name,
        addresses=tuple(info.parsed_scoped_addresses(IPVersion.All)),
        port=int(info.port),
        version=props.get("version", ""),
        api_path=props.get("api", DEFAULT_API_PATH),
        tls_fingerprint=props.get("fp", ""),
    )


def _all_interfaces() -> Any:
    from zeroconf import InterfaceChoice

    return InterfaceChoice.All


def _lan_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (the route to the outside first); loopback alone if none."""
    ips: list[str] = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent, the kernel only picks the interface
        ips.append(s.getsockname()[0])
    with contextlib.suppress(OSError):
        for ip in socket.gethostbyname_ex(socket.gethostname())[2]:
            if ip not in ips and not ipaddress.ip_address(ip).is_loopback:
                ips.append(ip)
    return [ip for ip in ips if not ipaddress.ip_address(ip).is_loopback] or ["127.0.0.1"]
