"""Webhooks: JSON POSTed when a run finishes or the engine needs attention, signed, retried, never blocking.

Configured in the settings file:

    [[webhooks]]
    url = "https://hooks.example.org/pixel-detective"
    events = ["run_finished", "needs_attention"]
    secret = "a long random string"

Events (the JSON body's `event`):
- `run_finished`: every finished job, with its status and `RunSummary` (`summary`);
- `needs_attention` with a `reason`: `failed` (the job failed; `detail` says why), `stalled` (a job has run
  `stall_after_s` without progress), `disk_nearly_full` (the data dir's disk has less than twice
  `min_free_mb` free; runs stop at `min_free_mb`). Stalled and disk alerts are sent once per episode.

Each request carries `X-Pixel-Detective-Event`, `X-Pixel-Detective-Delivery` (one id per event, the same on every
retry: receivers deduplicate with it) and, when the hook has a secret, `X-Pixel-Detective-Signature:
sha256=<hex HMAC-SHA256 of the raw body with the secret>` (`verify_signature` checks one). The body holds
`sent_at`, so a receiver can refuse old replays.

Host events arrive on the engine's worker thread: they are only queued here (a bounded queue; when it is full
the event is dropped and logged). One delivery thread POSTs them with `urllib` (standard library), retrying a
refused connection, a timeout, HTTP 408/429/5xx with doubling back-off; other 4xx are not retried. Every
failure is logged. A hook that is down delays the hooks after it by its back-off (at most ~`backoff_s` x 2^retries
in all), never the engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import queue
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bridge import __version__
from bridge.settings import Webhook

if TYPE_CHECKING:
    from bridge.host import EngineHost, HostEvent

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Pixel-Detective-Signature"
EVENT_HEADER = "X-Pixel-Detective-Event"
DELIVERY_HEADER = "X-Pixel-Detective-Delivery"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: compare the header with its own HMAC of the raw body, in constant time."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


@dataclass(frozen=True)
class Delivery:
    """One finished delivery (kept in `WebhookDispatcher.history` for diagnostics)."""

    url: str
    event: str
    delivery_id: str
    ok: bool
    attempts: int
    status: int | None
    error: str | None


class WebhookDispatcher:
    def __init__(
        self,
        host: EngineHost,
        hooks: Sequence[Webhook] | None = None,
        *,
        stall_after_s: float = 900.0,
        check_every_s: float = 30.0,
        disk_nearly_full_bytes: int | None = None,
        retries: int = 5,
        backoff_s: float = 1.0,
        timeout_s: float = 10.0,
        max_queued: int = 1000,
    ) -> None:
        self.host = host
        self.hooks = list(host.settings.webhooks if hooks is None else hooks)
        self.stall_after_s = stall_after_s
        self.disk_nearly_full_bytes = (
            disk_nearly_full_bytes
            if disk_nearly_full_bytes is not None
            else 2 * host.settings.min_free_mb * 2**20
        )
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s
        self.history: deque[Delivery] = deque(maxlen=200)
        self._queue: queue.Queue[tuple[Webhook, str, str, bytes] | None] = queue.Queue(max_queued)
        self._closed = threading.Event()
        self._last_progress = time.time()
        self._stalled_job: str | None = None
        self._disk_alerted = False
        self._sender = threading.Thread(target=self._send_loop, name="pd-webhooks", daemon=True)
        self._sender.start()
        self._checker = threading.Thread(
            target=self._check_loop, args=(check_every_s,), name="pd-webhook-checks", daemon=True
        )
        self._checker.start()
        self._unsubscribe = host.subscribe(self.on_event)

    # -- what triggers an event -----------------------------------------------------------------------
    def on_event(self, event: HostEvent) -> None:
        if event.kind in ("job_started", "phase", "progress"):
            self._last_progress = time.time()
            if self._stalled_job is not None and event.data.get("job") == self._stalled_job:
                self._stalled_job = None  # moving again: a later stall is a new episode
        elif event.kind == "job_finished":
            job = {k: v for k, v in event.data.items() if k != "summary"}
            self.emit("run_finished", {"job": job, "summary": event.data.get("summary")})
            if event.data.get("status") == "failed":
                self.emit(
                    "needs_attention",
                    {"reason": "failed", "detail": event.data.get("error") or "the run failed", "job": job},
                )

    def check(self, now: float | None = None) -> None:
        """The periodic checks (stalled job, disk nearly full); `now` lets a test look ahead in time."""
        now = time.time() if now is None else now
        running = [j for j in self.host.jobs() if j.status == "running"]
        if running and now - self._last_progress > self.stall_after_s and self._stalled_job != running[0].id:
            self._stalled_job = running[0].id
            idle = now - self._last_progress
            self.emit(
                "needs_attention",
                {
                    "reason": "stalled",
                    "detail": f"no progress for {idle / 60:.1f} min in phase {running[0].phase or 'start'!r}",
                    "job": running[0].as_dict(),
                },
            )
        try:
            usage = shutil.disk_usage(self.host.settings.data_dir)
        except OSError:
            return
        if usage.free < self.disk_nearly_full_bytes and not self._disk_alerted:
            self._disk_alerted = True
            self.emit(
                "needs_attention",
                {
                    "reason": "disk_nearly_full",
                    "detail": f"{usage.free / 2**20:.0f} MB free on the data dir's disk "
                    f"(runs stop below {self.host.settings.min_free_mb} MB)",
                    "data_dir": str(self.host.settings.data_dir),
                    "free_bytes": usage.free,
                },
            )
        elif usage.free >= self.disk_nearly_full_bytes:
            self._disk_alerted = False

    def _check_loop(self, every_s: float) -> None:
        while not self._closed.wait(every_s):
            try:
                self.check()
            except Exception as e:  # the checks must keep running
                log.warning("webhook checks failed: %s", e)

    # -- delivery ---------------------------------------------------------------------------------------
    def emit(self, event: str, data: dict[str, Any]) -> None:
        """Queue `event` for every hook subscribed to it; returns at once."""
        hooks = [h for h in self.hooks if event in h.events]
        if not hooks:
            return
        delivery_id = str(uuid.uuid4())
        payload = {
            "event": event,
            "delivery": delivery_id,
            "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "engine": {"name": socket.gethostname(), "version": __version__},
            **data,
        }
        body = json.dumps(payload, default=str).encode()
        for hook in hooks:
            try:
                self._queue.put_nowait((hook, event, delivery_id, body))
            except queue.Full:
                log.error("webhook queue full: %s for %s dropped", event, hook.url)

    def _send_loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self.history.append(self._deliver(*item))
            except Exception as e:  # never let one bad hook stop the thread
                log.error("webhook delivery crashed: %s", e)
            finally:
                self._queue.task_done()

    def _deliver(self, hook: Webhook, event: str, delivery_id: str, body: bytes) -> Delivery:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"pixel-detective/{__version__}",
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery_id,
        }
        if hook.secret:
            headers[SIGNATURE_HEADER] = sign(hook.secret, body)
        status: int | None = None
        error: str | None = None
        for attempt in range(1, self.retries + 2):
            try:
                req = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    status = resp.status
                return Delivery(hook.url, event, delivery_id, True, attempt, status, None)
            except urllib.error.HTTPError as e:
                status, error = e.code, f"HTTP {e.code}"
                retry = e.code in RETRY_STATUSES
            except (urllib.error.URLError, OSError) as e:  # refused, reset, DNS, timeout
                status, error = None, str(getattr(e, "reason", e))
                retry = True
            if not retry or attempt > self.retries or self._closed.is_set():
                break
            wait = min(60.0, self.backoff_s * 2 ** (attempt - 1))
            log.warning("webhook %s to %s: %s; retry %d in %.1f s", event, hook.url, error, attempt, wait)
            time.sleep(wait)
        log.error("webhook %s to %s failed after %d attempt(s): %s", event, hook.url, attempt, error)
        return Delivery(hook.url, event, delivery_id, False, attempt, status, error)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far has been delivered or given up (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Stop watching; deliver what is queued (no more retries once closing), then stop the thread."""
        self._unsubscribe()
        self._closed.set()
        self._checker.join(timeout)
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        self._sender.join(timeout)
