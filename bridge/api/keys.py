"""API keys: `pd_<id>_<secret>`, stored hashed in the data dir (`api-keys.json`, 0600, written atomically).

Scopes are ordered: `read` (search and view) < `index` (jobs) < `admin` (write-back, export/import, keys); a key
grants its own scope and every one below it. The secret is 32 random bytes, so one SHA-256 over the key id and
the secret is enough (no password stretching needed: nothing to guess); comparison is constant time. A revoked
key stays in the file (who it was, when it was revoked) and never verifies again.

The file is re-read when it changes on disk, so `pixel-detective keys create|revoke` take effect in a running
server at its next request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from filelock import FileLock

from bridge.files.datadir import write_json_atomic

log = logging.getLogger(__name__)

KEYS_FILE = "api-keys.json"
FORMAT = 1
KEY_RE = re.compile(r"^pd_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
NAME_RE = re.compile(r"^[\w .@-]{1,64}$")


class Scope(StrEnum):
    READ = "read"
    INDEX = "index"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def grants(self, needed: Scope) -> bool:
        return self.rank >= needed.rank


_RANK = {Scope.READ: 0, Scope.INDEX: 1, Scope.ADMIN: 2}


class KeyError_(ValueError):
    """A key request that cannot be done (a bad name, an unknown id): its message is for the user."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scope: Scope
    created_at: float
    revoked_at: float | None = None

    def public(self) -> dict[str, Any]:
        """What `keys list` and the API show: never the secret, never its hash."""
        d = asdict(self)
        d["scope"] = self.scope.value
        return d


def _digest(key_id: str, secret: str) -> str:
    return hashlib.sha256(f"pd-api-key|{key_id}|{secret}".encode()).hexdigest()


def keys_path(data_dir: Path) -> Path:
    return Path(data_dir) / KEYS_FILE


class KeyStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = keys_path(data_dir)
        self._lock = threading.Lock()
        self._file_lock = FileLock(str(self.path) + ".lock")
        self._stamp: tuple[int, int] | None = None
        self._rows: dict[str, dict[str, Any]] = {}

    # -- reading -------------------------------------------------------------------------------------
    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._rows = None, {}
            return self._rows
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # written atomically: unreadable means damaged; no key verifies
                log.error("cannot read %s: no API key is accepted until it is fixed", self.path)
                data = {}
            self._rows = {r["id"]: r for r in data.get("keys", []) if isinstance(r, dict) and "id" in r}
            self._stamp = stamp
        return self._rows

    def list(self) -> list[ApiKey]:
        with self._lock:
            rows = list(self._load().values())
        return [self._key(r) for r in sorted(rows, key=lambda r: r["created_at"])]

    @staticmethod
    def _key(r: dict[str, Any]) -> ApiKey:
        return ApiKey(r["id"], r["name"], Scope(r["scope"]), r["created_at"], r.get("revoked_at"))

    def verify(self, presented: str) -> ApiKey | None:
        """The live key `presented` is, or None (malformed, unknown, revoked or wrong secret)."""
        m = KEY_RE.match(presented)
        if m is None:
            return None
        key_id, secret = m.groups()
        with self._lock:
            row = self._load().get(key_id)
        expected = row["hash"] if row else _digest("0" * 12, "x")  # same work for an unknown id
        ok = hmac.compare_digest(expected, _digest(key_id, secret))
        if not ok or row is None or row.get("revoked_at"):
            return None
        return self._key(row)

    # -- writing -------------------------------------------------------------------------------------
    def create(self, name: str, scope: Scope | str) -> tuple[ApiKey, str]:
        """A new key; returns it and the full secret key string (shown once, never stored)."""
        if not NAME_RE.match(name):
            raise KeyError_("a key name is 1-64 letters, digits, spaces or . @ _ -")
        scope = Scope(scope)
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        row = {
            "id": key_id,
            "name": name,
            "scope": scope.value,
            "hash": _digest(key_id, secret),
            "created_at": time.time(),
            "revoked_at": None,
        }
        self._update(lambda rows: rows.__setitem__(key_id, row))
        return self._key(row), f"pd_{key_id}_{secret}"

    def revoke(self, key_id: str) -> ApiKey:
        def mark(rows: dict[str, dict[str, Any]]) -> None:
            row = rows.get(key_id)
            if row is None:
                raise KeyError_(f"no API key with id {key_id!r} (see `pixel-detective keys list`)")
            if not row.get("revoked_at"):
                row["revoked_at"] = time.time()

        rows = self._update(mark)
        return self._key(rows[key_id])

    def _update(self, change: Any) -> dict[str, dict[str, Any]]:
        with self._file_lock, self._lock:  # another process (the CLI) may write the same file
            self._stamp = None
            rows = {k: dict(v) for k, v in self._load().items()}
            change(rows)
            write_json_atomic(self.path, {"format": FORMAT, "keys": list(rows.values())})
            self._stamp = None
            return rows
