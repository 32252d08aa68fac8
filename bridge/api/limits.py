"""Failed-authentication limiting per client address: after `limit` failures within `window` seconds, every
request from that address is answered 429 (with Retry-After) until the oldest failure leaves the window."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class FailureLimiter:
    def __init__(self, limit: int = 10, window: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        q = self._failures.get(client)
        if q is None:
            return None
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._failures[client]
            return None
        return q

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None when it is not limited."""
        now = time.monotonic()
        with self._lock:
            q = self._recent(client, now)
            if q is None or len(q) < self.limit:
                return None
            return max(1, math.ceil(q[-self.limit] + self.window - now))

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if client not in self._failures and len(self._failures) >= self.max_clients:
                for c in list(self._failures):  # memory stays bounded under a flood of addresses
                    self._recent(c, now)
                if len(self._failures) >= self.max_clients:
                    self._failures.pop(next(iter(self._failures)))
            q = self._failures.setdefault(client, deque(maxlen=self.limit * 2))
            q.append(now)
