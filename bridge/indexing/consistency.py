"""Is every vector the ledger records as embedded really in the store? (and the repair when not)

The ledger is the source of truth and the store is derived from it, so the store may hold a few more
points than the ledger records (a batch upserted just before a crash, not yet recorded), never fewer.
Fewer means vectors were lost (an import killed half-way before imports were atomic, a store restored
from an old copy, points deleted by hand): `index`, `status` and `doctor` would call the index complete
while those photos can never be found. The repair forgets their embed stage, so the next `index`
re-embeds exactly them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.indexing.payload import point_id
from bridge.records import Stage
from bridge.settings import Settings
from bridge.state.ledger import Ledger
from bridge.store import collection_name
from bridge.store.base import StoreError, VectorStore


@dataclass(frozen=True, slots=True)
class StoreCheck:
    model: str
    recorded: int  # contents the ledger records as embedded with this model
    stored: int  # points in the store
    missing: tuple[str, ...]  # fingerprints recorded as embedded whose point is not in the store

    @property
    def ok(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        if self.ok:
            return f"{self.stored} vectors for {self.recorded} embedded photos ({self.model})"
        return (
            f"the vector store for {self.model} is missing {len(self.missing)} of the {self.recorded} "
            f"vectors the ledger records (it holds {self.stored})"
        )


def check_store(ledger: Ledger, store: VectorStore, model_id: str) -> StoreCheck:
    """Compare counts first (one query each); list ids only when they differ."""
    recorded = ledger.stage_count(Stage.EMBED, model_id)
    stored = store.count()
    if stored == recorded:
        return StoreCheck(model_id, recorded, stored, ())
    have = set(store.ids())
    recorded_points = ledger.stage_points(Stage.EMBED, model_id)
    missing = tuple(
        sorted(fp for fp, pid in recorded_points.items() if (pid or point_id(fp, model_id)) not in have)
    )
    return StoreCheck(model_id, recorded, stored, missing)


def repair(ledger: Ledger, check: StoreCheck) -> int:
    """Forget the embed stage of the contents whose vectors are missing; return how many."""
    if check.ok:
        return 0
    return ledger.clear_stage_for(Stage.EMBED, check.model, check.missing)


def inspect_stores(settings: Settings, ledger: Ledger) -> list[tuple[str, bool, str]]:
    """(check, ok, detail) for `doctor`: every model's store against the ledger, without repairing.

    Edge shards can be opened only by the data dir's owner, so this takes ownership for the look and
    says "skipped" while another process (the service, an index run) holds the index.
    """
    from bridge.state.owner import OwnerBusy, Ownership

    models = sorted({v for (stage, v) in ledger.stage_counts() if stage == Stage.EMBED})
    if not models:
        return [("vector store", True, "no vectors recorded yet")]
    if settings.store != "edge":
        return [("vector store", True, f"{settings.store} server: checked by its operator")]
    try:
        with Ownership(settings.data_dir, "pixel-detective doctor"):
            return [_inspect_one(settings, ledger, m) for m in models]
    except OwnerBusy:
        return [("vector store", True, "not checked: the index is in use by another process")]


def _inspect_one(settings: Settings, ledger: Ledger, model_id: str) -> tuple[str, bool, str]:
    from bridge.store.edge import EdgeStore, stored_dim
    from bridge.store.schema import STORE_SCHEMA_VERSION

    name = f"store {model_id}"
    shard = settings.store_dir / collection_name(model_id, STORE_SCHEMA_VERSION)
    recorded = ledger.stage_count(Stage.EMBED, model_id)
    try:
        dim = stored_dim(shard)
        if dim is None:
            if recorded:
                return name, False, f"{shard} is missing; the next `pixel-detective index` rebuilds it"
            return name, True, "empty"
        with EdgeStore.open(settings.store_dir, collection=shard.name, dim=dim[0]) as store:
            check = check_store(ledger, store, model_id)
    except StoreError as e:
        return name, False, f"{e}; the next `pixel-detective index` moves it aside and rebuilds it"
    if check.ok:
        return name, True, check.describe()
    return name, False, f"{check.describe()}; the next `pixel-detective index` re-embeds them"
