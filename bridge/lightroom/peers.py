"""Who listens on the plugin's ports: the service connects only when the listener is this user's.

Another local user can bind the ports named by a stale port file (Lightroom gone). The HMAC handshake
already keeps the token and every result from such a listener; this check lets the service say plainly
why it does not connect, before it sends even a hello. Linux tells the owner of a listening socket in
/proc/net/tcp{,6}; elsewhere psutil may know (it needs privileges on macOS: then the answer is "unknown"
and the handshake alone decides).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

LISTEN = "0A"  # TCP state code in /proc/net/tcp


def _proc_listener_uids(port: int, proc: Path = Path("/proc/net")) -> set[int] | None:
    """uids of the sockets listening on `port` (any address), or None when /proc does not say."""
    uids: set[int] = set()
    readable = False
    for name in ("tcp", "tcp6"):
        try:
            lines = (proc / name).read_text(encoding="ascii", errors="replace").splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            cols = line.split()
            # sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
            if len(cols) < 8 or cols[3] != LISTEN:
                continue
            with contextlib.suppress(ValueError):
                if int(cols[1].rsplit(":", 1)[1], 16) == port:
                    uids.add(int(cols[7]))
    return uids if readable else None


def _psutil_listener_uids(port: int) -> set[int] | None:
    try:
        import psutil

        conns = psutil.net_connections(kind="tcp")
        return {
            psutil.Process(c.pid).uids().real
            for c in conns
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
        } or None
    except Exception:  # AccessDenied (macOS without root), a process gone meanwhile, no psutil: unknown
        return None


def listener_uids(port: int) -> set[int] | None:
    if Path("/proc/net/tcp").exists():
        return _proc_listener_uids(port)
    return _psutil_listener_uids(port)


def foreign_listener(receive: int, send: int) -> str | None:
    """Why the plugin's ports must not be trusted (held by another user), or None."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: no uids; the handshake decides
        return None
    me = getuid()
    for role, port in (("receive", receive), ("send", send)):
        uids = listener_uids(port)
        if uids and uids != {me}:
            others = ", ".join(str(u) for u in sorted(uids - {me}))
            return (
                f"port {port} (the plugin's {role} port in the port file) is held by another user "
                f"(uid {others}), not by Lightroom running as you: not connecting"
            )
    return None
