"""The audit log of write actions: one JSON line per action in `<data dir>/logs/api-audit.jsonl` (0600).

Who (key id and name, or `local-token` / `cli:<user>`), what (`job.submit`, `job.cancel`, `writeback`,
`index.import`, `key.create`, …), when (UTC, ISO 8601), from where (client address) and the action's details.
Lines are appended under a lock with O_APPEND, so lines from the CLI and the server never interleave.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AUDIT_FILE = "api-audit.jsonl"


def audit_path(data_dir: Path) -> Path:
    return Path(data_dir) / "logs" / AUDIT_FILE


class AuditLog:
    def __init__(self, data_dir: Path) -> None:
        self.path = audit_path(data_dir)
        self._lock = threading.Lock()

    def record(self, who: dict[str, Any], action: str, client: str | None = None, **details: Any) -> None:
        line = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "who": who,
            "action": action,
            "client": client,
            **({"details": details} if details else {}),
        }
        data = (json.dumps(line, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    def read(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(x) for x in text.splitlines() if x.strip()]
