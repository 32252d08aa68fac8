"""How to talk to a Qdrant server or cluster: timeouts, retries, parallel writes, and the layout a new
collection gets. A light module (no qdrant-client import), so the engine can build one cheaply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.settings import Settings


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Defaults suit one server on a LAN; `bridge/settings.py` maps the `qdrant_*` settings onto these."""

    # Seconds one request may take. qdrant-client rounds it up to a whole second.
    timeout_s: int = 30
    # Upsert requests in flight at once (each UPSERT_BATCH points). 1 = sequential.
    parallel: int = 4
    # Extra attempts after a transient failure (connection refused or reset, timeout, HTTP 5xx or 429).
    retries: int = 4
    # First wait before a retry; it doubles each time (with jitter), capped at `backoff_max_s`.
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    # Applied only when the collection is created; an existing collection keeps the layout it was made
    # with (Qdrant cannot reshard in place). None: the server's default (1 shard, 1 replica, factor 1).
    shard_number: int | None = None
    replication_factor: int | None = None
    write_consistency_factor: int | None = None

    def __post_init__(self) -> None:
        if self.timeout_s < 1 or self.parallel < 1 or self.retries < 0 or self.backoff_s < 0:
            raise ValueError(f"invalid Qdrant server options: {self}")


def server_options(s: Settings) -> ServerOptions:
    """The `qdrant_*` settings as the remote store takes them (the embedded store ignores them)."""
    return ServerOptions(
        timeout_s=s.qdrant_timeout_s,
        parallel=s.qdrant_parallel,
        retries=s.qdrant_retries,
        backoff_s=s.qdrant_backoff_s,
        shard_number=s.qdrant_shard_number,
        replication_factor=s.qdrant_replication_factor,
        write_consistency_factor=s.qdrant_write_consistency_factor,
    )
