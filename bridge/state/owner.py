"""One owner process per data dir: the Qdrant Edge shard and the ledger's writer belong to it.

A second process asking for ownership gets `OwnerBusy` at once, naming the owner, so it can exit with a
clear message instead of waiting or corrupting the shard.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from filelock import FileLock, Timeout

from bridge.files.datadir import secure_dir


class OwnerBusy(Exception):
    pass


class Ownership:
    def __init__(self, data_dir: Path, purpose: str = "") -> None:
        self.data_dir = Path(data_dir)
        self.lock_path = self.data_dir / "owner.lock"
        self.info_path = self.data_dir / "owner.json"
        self.purpose = purpose or " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))
        self._lock: FileLock | None = None

    def acquire(self) -> Ownership:
        secure_dir(self.data_dir)  # 0700: created private, and an old, looser one is tightened
        lock = FileLock(self.lock_path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise OwnerBusy(self._busy_message()) from None
        self._lock = lock
        tmp = self.info_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "purpose": self.purpose, "since": time.time()}))
        os.replace(tmp, self.info_path)
        return self

    def release(self) -> None:
        if self._lock is not None:
            self.info_path.unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Ownership:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _busy_message(self) -> str:
        holder = ""
        try:
            info = json.loads(self.info_path.read_text())
            holder = f" (pid {info['pid']}: {info['purpose']})"
        except (OSError, ValueError, KeyError):
            pass
        return (
            f"another Pixel Detective process{holder} is using the index in {self.data_dir}. "
            "Only one process may own an index: wait for it to finish, stop it, or use another --data-dir."
        )
