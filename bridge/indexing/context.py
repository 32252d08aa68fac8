"""The fixed wiring of one indexing run, handed to every phase as a frozen value: settings, the ledger and
store it writes, the models it uses, where progress goes and when to stop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.analyses.keywording import KeywordAssigner
from bridge.indexing.standins import StandIn
from bridge.indexing.summary import Progress
from bridge.models.blip import Captioner
from bridge.models.clip import Embedder
from bridge.records import Stage
from bridge.settings import Settings
from bridge.state.ledger import Ledger
from bridge.store.base import VectorStore

METADATA_VERSION = "meta2"  # bump when bridge.metadata.read changes what it extracts: files get re-read


class Rules(Protocol):
    """The user's rules (`bridge.metadata.rules.RuleSet`): fields and keywords from paths and metadata."""

    def apply(self, path: str, metadata: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RunContext:
    settings: Settings
    ledger: Ledger
    embedder: Embedder | None  # None: a metadata-only run
    store: VectorStore | None
    rules: Rules | None
    progress: Progress
    stop: threading.Event
    inline: bool  # run jobs in this process (debugging, tiny runs)
    keywords: KeywordAssigner | None
    captioner: Captioner | None  # None: no caption stage this run
    pixel_kinds: tuple[tuple[Stage, str], ...]  # pixel analyses on, with their versions
    batch_size: int
    decoder_log: str  # native decoders' own messages
    on_batch_committed: Callable[[int], None] | None = None  # test hook for crash tests
    on_caption_committed: Callable[[int], None] | None = (
        None  # test hook: captions committed in the main pass
    )
    # original path → the file whose pixels stand in for it while the original is offline (standins.py)
    stand_ins: Mapping[str, StandIn] = field(default_factory=dict)

    @property
    def model_id(self) -> str | None:
        return self.embedder.model_id if self.embedder is not None else None

    @property
    def vectors(self) -> tuple[Embedder, VectorStore, str] | None:
        """Embedder, store and model id when this run writes vectors; None for a metadata-only run."""
        if self.embedder is None or self.store is None:
            return None
        return self.embedder, self.store, self.embedder.model_id

    def apply_rules(self, path: str, metadata: dict[str, Any]) -> dict[str, Any]:
        return self.rules.apply(path, metadata) if self.rules is not None else metadata
