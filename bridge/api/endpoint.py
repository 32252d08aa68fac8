"""The owner's client endpoint: how a second `pixel-detective` process on this machine reaches the process that
owns the index (the tray app's engine, or `serve`) instead of exiting 75.

The owner serves the REST API on 127.0.0.1 at a port the system picks, with a token made for this run, and
writes `<data dir>/api-endpoint.json` (0600 in the 0700 data dir: readable by this user alone, like the bridge
token file): `{"url", "pid", "token", "purpose", "version", "since"}`. It removes the file when it stops
cleanly; a file left by a process that died is ignored (its pid is gone, or nothing answers at its address
with its token: `bridge.api.client.connect` checks both).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from bridge import __version__
from bridge.files import datadir

NAME = "api-endpoint.json"


@dataclass(frozen=True)
class Endpoint:
    url: str
    pid: int
    token: str
    purpose: str = ""
    version: str = ""


def path(data_dir: Path) -> Path:
    return Path(data_dir) / NAME


def new_token() -> str:
    return secrets.token_urlsafe(32)


def publish(data_dir: Path, url: str, token: str, purpose: str) -> Path:
    """Written atomically (never half a file for a reader), 0600 from the start."""
    where = path(data_dir)
    datadir.write_json_atomic(
        where,
        {"url": url, "pid": os.getpid(), "token": token, "purpose": purpose, "version": __version__,
         "since": time.time()},
    )  # fmt: skip
    return where


def withdraw(data_dir: Path) -> None:
    """Remove the file if it is still this process's (a later owner may have written its own)."""
    found = read(data_dir)
    if found is not None and found.pid == os.getpid():
        path(data_dir).unlink(missing_ok=True)


def read(data_dir: Path) -> Endpoint | None:
    """The published endpoint, or None when there is none or it cannot be used (bad file, pid gone)."""
    try:
        raw = json.loads(path(data_dir).read_text(encoding="utf-8"))
        found = Endpoint(str(raw["url"]), int(raw["pid"]), str(raw["token"]), str(raw.get("purpose", "")),
                         str(raw.get("version", "")))  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not found.url.startswith("http://127.0.0.1:") or not found.token:
        return None  # only ever a loopback address: a file naming anything else is not ours
    if found.pid != os.getpid() and not datadir.pid_alive(found.pid):
        return None
    return found
