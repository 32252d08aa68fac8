"""`PluginRemote`: the Lightroom service's handlers answered by an engine on another machine.

`bridge.lightroom` cannot import this layer, so its handlers name what they need as a protocol
(`bridge.lightroom.remote.RemoteEngine`); this adapter gives it over `ApiHost` (the REST client the tray app
already uses) and turns its `ClientError` sentences into the bridge's error codes (`ProtocolError`), so the
plug-in shows the same sentence the tray would, never an exception's text.

The tray app and `pixel-detective serve` wrap their `ApiHost` in one when `Settings.remote_url` is set and hand it
to `Service(settings, host=...)`; the `ApiHost` stays theirs to close.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bridge.api.client import ClientError
from bridge.api.remote_host import ApiHost
from bridge.host import HostEvent, Job
from bridge.lightroom.protocol import ProtocolError
from bridge.search.query import Result

log = logging.getLogger(__name__)

_JOB_KEYS = (
    "job",
    "label",
    "roots",
    "status",
    "phase",
    "done",
    "failed",
    "total",
    "rate",
    "eta_seconds",
    "error",
)
_STATUS_KEYS = ("model", "indexed", "vectors", "failed", "weights_ok", "captions")


def missing_photos(url: str, said: str) -> str:
    """The sentence for an `analyze` whose photos the engine cannot read (`said`: the engine's own count and
    first path)."""
    detail = said.removeprefix("photos: ").strip() or "it cannot find them"
    return (
        f"The remote engine at {url} cannot read these photos ({detail}). It reads photos by their path on its "
        "own machine, so they must be there under the same path (a shared NAS mounted at the same place on "
        "both computers, for example); photos only on this computer can be searched and found similar, not "
        "analyzed, by a remote engine."
    )


class PluginRemote:
    """`RemoteEngine` over an open `ApiHost`."""

    remote = True

    def __init__(self, api: ApiHost) -> None:
        self.api = api
        self.settings = api.settings
        self.url = api.url

    @contextmanager
    def _said(self, *, photos: bool = False) -> Iterator[None]:
        """ClientError → ProtocolError with the bridge's code and the client's sentence (the handler adds the
        request id)."""
        try:
            yield
        except ClientError as e:
            status, message = e.status, str(e)
            if photos and status == 422:
                code, message = "not_found", missing_photos(self.url, message)
            elif status in (401, 403, 429):
                code = "refused"
            elif status == 404:
                code = "not_found"
            elif status in (400, 413, 422):
                code = "bad_request"
            elif status == 0:
                code = "unreachable"
            else:
                code = "internal"
            log.info("remote engine %s: %s (HTTP %s)", self.url, code, status)
            raise ProtocolError(code, message) from None

    def plugin_status(self) -> dict[str, Any]:
        with self._said():
            got = self.api.status()
        running = got.get("running")
        if isinstance(running, dict):
            running = {k: running.get(k) for k in _JOB_KEYS}
        return {**{k: got.get(k) for k in _STATUS_KEYS}, "running": running}

    def search_text(
        self, query: str, *, limit: int, min_score: float | None, where: str | None
    ) -> list[Result]:
        with self._said():
            return self.api.search_text(query, limit=limit, min_score=min_score, where=where)

    def search_like(self, paths: Sequence[str], *, limit: int) -> list[Result]:
        with self._said():
            return self.api.search_like(paths, limit=limit)

    def submit_photos(self, paths: Sequence[str], *, captions: bool, label: str) -> Job:
        with self._said(photos=True):
            return self.api.submit_photos(paths, captions=captions, label=label)

    def subscribe(self, callback: Callable[[HostEvent], None]) -> Callable[[], None]:
        return self.api.subscribe(callback)

    def cancel(self, job_id: str) -> bool:
        try:
            return self.api.cancel(job_id)
        except ClientError as e:
            if e.status == 404:  # not one of the engine's jobs (any more): nothing was cancelled
                return False
            raise
