"""The plug-in served from an engine on another machine (issue 15: a GPU box serving a laptop).

When the tray app or `pixel-detective serve` use a remote engine (`Settings.remote_url`), the service on this
computer still talks to the plug-in, and its handlers send the plug-in's requests to that engine: `status`,
`search`, `similar` (the selected photos are uploaded), `analyze` (a job of the photos' paths, which the engine
must be able to read under the same path: a shared NAS mount in a studio) and `cancel`. `metadata` and
`duplicates` read the index's rows directly, which stay on the other machine: they answer a fixed sentence.

The engine is whatever implements `RemoteEngine` — `bridge.api.plugin_remote.PluginRemote` around the REST
client (this package cannot import `bridge.api`); its failures arrive as `ProtocolError`s with sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from bridge.host import HostEvent, Job
from bridge.lightroom.paths import lexical, regular_photo, stat_of
from bridge.search.query import Result
from bridge.settings import Settings


class RemoteEngine(Protocol):
    """What the handlers need of an engine on another machine. `remote` is True (the capability the handlers
    check); every failure is a `ProtocolError` whose message is a sentence for the user."""

    remote: bool
    settings: Settings
    url: str

    def plugin_status(self) -> dict[str, Any]:
        """`model, indexed, vectors, failed, running (a job dict or None), weights_ok, captions`."""
        ...

    def search_text(
        self, query: str, *, limit: int, min_score: float | None, where: str | None
    ) -> list[Result]: ...

    def search_like(self, paths: Sequence[str], *, limit: int) -> list[Result]: ...

    def submit_photos(self, paths: Sequence[str], *, captions: bool, label: str) -> Job: ...

    def subscribe(self, callback: Callable[[HostEvent], None]) -> Callable[[], None]: ...

    def cancel(self, job_id: str) -> bool: ...


def is_remote(host: object) -> bool:
    return getattr(host, "remote", False) is True


class NeedsLocalEngine(Exception):
    """Something the service cannot do with a remote engine (its message is the sentence to show)."""


_LOCAL_ONLY = {
    "metadata": "Apply AI metadata",
    "duplicates": "Find duplicates",
    "sync": "Sync to Lightroom",
}


def needs_local(what: str, url: str) -> str:
    """The fixed sentence for `metadata`, `duplicates` or `sync` while a remote engine serves the plug-in."""
    return (
        f"{_LOCAL_ONLY[what]} needs Pixel Detective's engine on this computer: the service uses the remote engine "
        f"at {url}, whose index stays on that machine. Search, Find similar, Analyze and Service status work "
        "with it; for this, choose 'Use this computer' in the Plug-in Manager's Pixel Detective engine section "
        "and restart the tray app."
    )


def example_photo(raw: str) -> str:
    """A photo of this computer that `similar` may upload to the remote engine: an absolute path without `..`,
    a regular file (never a FIFO or a device) with a photo extension. No index here to check it against: these
    are the photos the user selected in Lightroom, sent to the engine the user chose."""
    path = lexical(raw)
    return regular_photo(path, stat_of(path, raw), raw, check_format=True)
