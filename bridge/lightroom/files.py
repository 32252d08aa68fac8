"""The bridge dir shared with the Lightroom plugin: the token file (ours) and the port file (the plugin's).

`~/.pixel-detective/bridge/` is fixed rather than per-platform because the Lua side has to find it too;
`PIXEL_DETECTIVE_BRIDGE_DIR` moves it (tests, a second test instance).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from bridge.lightroom.protocol import PROTOCOL_VERSION

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


class PortsProblem(str):
    """Why a present port file is refused (a message for the user); a missing file is not a problem."""


def _unsafe(st: os.stat_result, what: str) -> str | None:
    """Why a file or folder others could have written must not be trusted, or None."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: no POSIX owner/mode bits; the handshake decides
        return None
    if st.st_uid != getuid():
        return f"{what} belongs to another user (uid {st.st_uid}): not trusted"
    if stat.S_IMODE(st.st_mode) & 0o022:
        return f"{what} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}): not trusted"
    return None


def load_ports(directory: Path) -> Ports | PortsProblem | None:
    """The plugin's ports; None while there is no usable port file (missing, half-written, naming a
    process that is gone); a `PortsProblem` when one is there but must not be trusted: not this user's,
    writable by others (it could name anybody's ports), a symlink, or of another protocol version.
    A port file left by a crashed Lightroom without a pid is only found stale when connecting is refused;
    the caller backs off and reads it again."""
    p = ports_path(directory)
    try:
        dst = os.lstat(directory)
    except OSError:
        return None
    if not stat.S_ISDIR(dst.st_mode):
        return PortsProblem(f"the bridge folder {directory} is not a folder")
    why = _unsafe(dst, f"the bridge folder {directory}")
    if why:
        return PortsProblem(why)
    try:
        # O_NOFOLLOW: a symlink planted in place of the port file is refused, not followed; O_NONBLOCK: a
        # FIFO cannot hang us. The checks run on the opened file, so it cannot be swapped after them.
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError:
        return PortsProblem(f"the port file {p} cannot be opened (a symlink or unreadable): not trusted")
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            return PortsProblem(f"the port file {p} is not a regular file: not trusted")
        why = _unsafe(st, f"the port file {p}")
        if why:
            return PortsProblem(why)
        raw = f.read(65536)
    # The folder again, now that the file was read: loosened between the first look and the file appearing,
    # someone else could have put this file there.
    try:
        why = _unsafe(os.lstat(directory), f"the bridge folder {directory}")
    except OSError:
        return None
    if why:
        return PortsProblem(why)
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None  # being written (the plugin renames a complete file into place, but be lenient)
    if not isinstance(data, dict):
        return None
    if data.get("protocol") != PROTOCOL_VERSION:
        theirs = data.get("protocol")
        return PortsProblem(
            f"the Lightroom plugin speaks bridge protocol {theirs!r}, this service speaks {PROTOCOL_VERSION}: "
            "update the plugin (or the service) so both are the same release"
        )
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


def read_ports(directory: Path) -> Ports | None:
    """The plugin's ports, or None (missing, unusable or refused: `load_ports` says why)."""
    got = load_ports(directory)
    return got if isinstance(got, Ports) else None


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
