"""The bridge dir shared with the Lightroom plugin: the token file (ours) and the port file (the plugin's).

`~/.pixel-detective/bridge/` is fixed rather than per-platform because the Lua side has to find it too;
`PIXEL_DETECTIVE_BRIDGE_DIR` moves it (tests, a second test instance).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from bridge.service.protocol import PROTOCOL_VERSION

ENV_DIR = "PIXEL_DETECTIVE_BRIDGE_DIR"
TOKEN_NAME = "token"
PORTS_NAME = "ports.json"


def bridge_dir(override: str | os.PathLike[str] | None = None) -> Path:
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(ENV_DIR)
    return Path(env).expanduser() if env else Path.home() / ".pixel-detective" / "bridge"


def token_path(directory: Path) -> Path:
    return directory / TOKEN_NAME


def ports_path(directory: Path) -> Path:
    return directory / PORTS_NAME


def write_token(directory: Path) -> str:
    """A fresh random token in `directory/token`, mode 0600 from the first byte on.

    The file is created with O_EXCL under a temp name (so no other user can have pre-created it with wider
    permissions) and renamed over the old one, so the plugin never reads a half-written token."""
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(directory, 0o700)
    token = secrets.token_hex(32)
    tmp = directory / f".{TOKEN_NAME}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(token)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, token_path(directory))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return token


def remove_token(directory: Path, token: str) -> None:
    """Remove the token file if it is still ours (a newer service may have replaced it)."""
    p = token_path(directory)
    with contextlib.suppress(OSError):
        if p.read_text(encoding="ascii").strip() == token:
            p.unlink()


@dataclass(frozen=True)
class Ports:
    receive: int  # the plugin's listener for service → plugin frames (we write there)
    send: int  # the plugin's listener for plugin → service frames (we read there)
    pid: int | None
    written_at: float
    mtime_ns: int  # of the file: tells a rewritten port file from the one already tried


def _port(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 65536 else None


def read_ports(directory: Path) -> Ports | None:
    """The plugin's ports, or None when the file is missing, half-written, of another protocol, or names
    a process that is gone. A port file left by a crashed Lightroom without a pid is only found stale
    when connecting is refused; the caller backs off and reads it again."""
    p = ports_path(directory)
    try:
        st = p.stat()
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("protocol") != PROTOCOL_VERSION:
        return None
    receive, send = _port(data.get("receive")), _port(data.get("send"))
    if receive is None or send is None:
        return None
    pid = data.get("pid")
    pid = pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else None
    if pid is not None and not _alive(pid):
        return None
    written = data.get("written_at")
    written_at = float(written) if isinstance(written, int | float) and not isinstance(written, bool) else 0.0
    return Ports(receive, send, pid, written_at, st.st_mtime_ns)


def write_ports(directory: Path, receive: int, send: int, pid: int | None = None) -> Path:
    """The plugin's side (the Lua plugin does the same): temp name, then rename."""
    directory.mkdir(parents=True, exist_ok=True)
    target = ports_path(directory)
    tmp = directory / f".{PORTS_NAME}.{secrets.token_hex(4)}.tmp"
    body = {
        "protocol": PROTOCOL_VERSION,
        "receive": receive,
        "send": send,
        "pid": pid,
        "written_at": time.time(),
    }
    tmp.write_text(json.dumps(body), encoding="utf-8")
    os.replace(tmp, target)
    return target


def _alive(pid: int) -> bool:
    try:
        import psutil

        return bool(psutil.pid_exists(pid))
    except ImportError:  # psutil is optional at runtime: assume alive, connecting will tell
        return True
