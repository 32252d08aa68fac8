"""The engine facade: one owner of the data dir (ledger writer, vector store, model) for the CLI,
the service and the desktop app.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.files import datadir
from bridge.files.diskspace import ensure_free
from bridge.indexing.consistency import check_store, repair
from bridge.indexing.context import Rules
from bridge.indexing.pipeline import Indexer, Progress, RunSummary
from bridge.models.clip import Embedder
from bridge.models.registry import WeightsMissing, spec_for
from bridge.models.replicas import make_embedder
from bridge.records import Stage
from bridge.settings import Settings
from bridge.state.ledger import Ledger, LedgerError
from bridge.state.owner import Ownership
from bridge.store import collection_name, open_store
from bridge.store.base import StoreDamagedError, VectorStore
from bridge.store.edge import move_aside
from bridge.store.options import server_options
from bridge.store.schema import STORE_SCHEMA_VERSION

if TYPE_CHECKING:
    from bridge.analyses.keywording import KeywordAssigner
    from bridge.metadata.rules import RuleSet
    from bridge.models.blip import Captioner


@dataclass
class Engine:
    settings: Settings
    ledger: Ledger
    owner: Ownership | None
    embedder: Embedder | None = None
    weights_problem: str | None = None
    caption_problem: str | None = None  # captions asked for but their model is missing
    keywords_problem: str | None = None
    notices: list[str] = field(default_factory=list)  # things the user should be told (store rebuilt …)
    _stores: dict[str, VectorStore] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)  # stage models built on first use

    @classmethod
    def open(cls, settings: Settings, *, purpose: str = "", own: bool = True, model: bool = True) -> Engine:
        """Take ownership of the data dir (raises OwnerBusy), open the ledger, resolve the model's weights.
        The data dir's store.json (written by `store migrate`) decides which vector store is used.
        `model=False`: no embedding model at all (a metadata-only search: no torch, no weights needed)."""
        settings = settings.with_data_dir_store()
        owner = Ownership(settings.data_dir, purpose).acquire() if own else None
        try:
            notices = _housekeeping(settings.data_dir) if own else []
            ledger = Ledger(settings.ledger_path)
            engine = cls(settings, ledger, owner)
            engine.notices.extend(notices)
            if own:  # still-open notices of earlier runs (a store being rebuilt …) until a run resolves them
                engine.notices.extend(
                    n["text"] for n in datadir.prune_notices(settings.data_dir, ledger.runs(50))
                )
            if not model:
                return engine
            try:
                # one device: an Embedder; several (`cuda:0,cuda:1`, `all`): a ReplicaEmbedder, same interface
                engine.embedder = make_embedder(
                    settings.model,
                    settings.models_dir,
                    device=settings.device,
                    precision=settings.precision,
                    batch_size=settings.batch_size,
                    notes=engine.notices,
                )
            except WeightsMissing as e:
                engine.weights_problem = str(e)
            return engine
        except BaseException:
            if owner:
                owner.release()
            raise

    @property
    def model_id(self) -> str:
        return self.settings.model

    def collection(self, model_id: str | None = None) -> str:
        return collection_name(model_id or self.model_id, STORE_SCHEMA_VERSION)

    def store(self, model_id: str | None = None, *, recreate: bool = False) -> VectorStore:
        """The vector collection of a model (opened once). `recreate` empties it first (import-db)."""
        model_id = model_id or self.model_id
        if recreate:
            self.drop_store(model_id)
        if model_id not in self._stores:
            try:
                self._stores[model_id] = self.open_uncached_store(model_id)
            except StoreDamagedError as e:
                if self.settings.store != "edge":
                    raise  # a server's storage is its operator's to repair
                # R3: keep the damaged files for inspection, start a new shard, and let the ledger drive
                # the rebuild: every file whose vector was lost is embedded again by the next index run.
                moved = move_aside(self.settings.store_dir / self.collection(model_id))
                self.ledger.clear_stage(Stage.EMBED, model_id)
                self._notice(
                    model_id,
                    f"{e}. It was moved to {moved}; its vectors are being rebuilt from the ledger "
                    "(files re-embedded by `pixel-detective index`); until then search misses them.",
                )
                self._stores[model_id] = self.open_uncached_store(model_id)
            if self.owner is not None:
                self._reconcile(model_id, self._stores[model_id])
        return self._stores[model_id]

    def _reconcile(self, model_id: str, store: VectorStore) -> None:
        """Vectors the ledger records but the store lacks (an interrupted import, a store restored from an
        old copy): forget those files' embed stage so the next index re-embeds exactly them, and say so."""
        check = check_store(self.ledger, store, model_id)
        if check.ok:
            return
        n = repair(self.ledger, check)
        self._notice(
            model_id,
            f"{check.describe()}: those {n} photos could not be found by search. They are re-embedded by "
            "the next `pixel-detective index` run.",
        )

    def _notice(self, model_id: str, text: str) -> None:
        """Tell the user now and keep telling them (status, doctor, every command) until an index run of
        this model has completed the repair."""
        self.notices.append(text)
        datadir.add_notice(self.settings.data_dir, model_id, text)

    def open_uncached_store(self, model_id: str) -> VectorStore:
        s = self.settings
        if s.store == "edge":
            # Edge maps its files and writes through the maps; a write the disk cannot take kills the process
            # with SIGBUS, wordlessly. Opening is such a write: measured on tmpfs, reopening a shard takes ~300 MB
            # (its payload indexes and WAL). So every caller (index, search, serve, the tray) keeps `min_free_mb`
            # free, and a nearly full disk gets a message instead of a dead process (R45).
            ensure_free(s.store_dir, 0, "open the search index", margin=s.min_free_mb * 1024 * 1024)
        return open_store(
            s.store,
            collection=self.collection(model_id),
            dim=spec_for(model_id, s.models_dir).dim,
            path=s.store_dir,
            url=s.qdrant_url,
            api_key=s.qdrant_api_key,
            options=server_options(s),
        )

    def drop_store(self, model_id: str) -> None:
        st = self._stores.pop(model_id, None)
        if st is not None:
            st.close()
        if self.settings.store == "edge":
            shutil.rmtree(self.settings.store_dir / self.collection(model_id), ignore_errors=True)
        else:
            st = self.store(model_id)
            ids = [pid for pid, _, _ in st.scroll()]
            for i in range(0, len(ids), 1000):
                st.delete(ids[i : i + 1000])

    def close_stores(self) -> None:
        for st in self._stores.values():
            st.close()
        self._stores.clear()

    def keyword_assigner(self) -> KeywordAssigner | None:
        """The zero-shot keyword stage for the current model and vocabulary, or None (disabled, no
        model, or the vocabulary's catalog cannot be read: then `keywords_problem` says why)."""
        s = self.settings
        if not s.keywords or self.embedder is None:
            return None
        if "assigner" in self._cache:
            return self._cache["assigner"]
        from bridge.analyses.keywording import KeywordAssigner, KeywordOptions
        from bridge.analyses.vocabulary import build_vocabulary, catalog_keyword_tree, terms_from_keyword_tree

        catalog_terms: list[Any] = []
        tree = None
        if s.vocabulary_catalog is not None:
            try:
                tree = catalog_keyword_tree(Path(s.vocabulary_catalog))
                catalog_terms = terms_from_keyword_tree(tree)
            except Exception as e:  # a locked/unknown catalog: say so, keep the built-in vocabulary
                self.keywords_problem = f"keyword vocabulary from {s.vocabulary_catalog} not used: {e}"
                self.notices.append(self.keywords_problem)
        vocab = build_vocabulary(
            catalog_terms=catalog_terms,
            tree=tree,
            builtin=s.builtin_vocabulary,
            allow=s.keywords_allow,
            deny=s.keywords_deny,
        )
        if not vocab.terms:
            self.keywords_problem = "the keyword vocabulary is empty (check keywords_allow / keywords_deny)"
            self.notices.append(self.keywords_problem)
            self._cache["assigner"] = None
            return None
        opts: dict[str, Any] = {"max_per_photo": s.keywords_max}
        if s.keywords_min_score is not None:
            opts["min_score"] = s.keywords_min_score
        if s.keywords_min_margin is not None:
            opts["min_margin"] = s.keywords_min_margin
        assigner = KeywordAssigner(
            vocab,
            self.embedder.encode_text,
            self.model_id,
            s.data_dir / "cache" / "vocabulary",
            KeywordOptions(**opts),
        )
        self._cache["assigner"] = assigner
        return assigner

    def captioner(self, captions: bool | None = None) -> Captioner | None:
        """The caption model when captions are on (the `captions` setting, or this call's override)
        and its weights are here; else None (and `caption_problem` says why: the rest of the pipeline
        keeps working without captions)."""
        s = self.settings
        if not (s.captions if captions is None else captions):
            return None
        if "captioner" not in self._cache:
            from bridge.models.blip import CaptionWeightsMissing
            from bridge.models.replicas import make_captioner

            try:
                self._cache["captioner"] = make_captioner(
                    s.caption_model,
                    s.models_dir,
                    device=s.device,
                    notes=self.notices,
                    num_beams=s.caption_beams,  # beams other than 3 are part of the caption model id
                    batch_size=s.caption_batch_size,  # 0: from free device memory
                )
            except CaptionWeightsMissing as e:
                self.caption_problem = str(e)
                self._cache["captioner"] = None
        return self._cache["captioner"]

    def indexer(
        self,
        *,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        rules: Rules | None = None,
        captions: bool | None = None,
    ) -> Indexer:
        """An indexing run's wiring; `captions` overrides the setting for this run only."""
        store = self.store() if self.embedder else None
        idx = Indexer(
            self.settings,
            self.ledger,
            embedder=self.embedder,
            store=store,
            rules=rules,
            progress=progress,
            stop=stop,
            keywords=self.keyword_assigner(),
            captioner=self.captioner(captions),
        )
        if self.embedder is not None and not self.settings.batch_size:
            # sized from free device memory; with several devices, enough for all of them at once
            idx.batch_size = self.embedder.preferred_batch_size()
        return idx

    def index(self, roots: list[str], **kw: Any) -> RunSummary:
        return self.indexer(
            progress=kw.pop("progress", None), stop=kw.pop("stop", None), rules=kw.pop("rules", None)
        ).run(roots, **kw)

    def _models(self) -> list[Embedder | Captioner]:
        """The embedder and the captioner, where there is one (its model in memory or not)."""
        return [m for m in (self.embedder, self._cache.get("captioner")) if m is not None]

    def release_idle_models(self, idle_s: float) -> list[str]:
        """Free the models unused for `idle_s` seconds (none in use is ever freed); the next search or run
        loads them again. Returns the ids of the models freed."""
        return [m.model_id for m in self._models() if m.model.release_if_idle(idle_s)]

    def close(self) -> None:
        for m in self._models():
            m.release()
        self.close_stores()
        self.ledger.close()
        if self.owner:
            self.owner.release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _housekeeping(data_dir: Path) -> list[str]:
    """As the new owner: finish an interrupted index switch, drop temp folders of dead processes."""
    datadir.secure_dir(data_dir)
    try:
        said = datadir.recover_switch(data_dir)
    except datadir.DataDirError as e:
        raise LedgerError(str(e)) from e  # every command already turns LedgerError into a message
    datadir.clean_stale_temp(data_dir)
    return [said] if said else []


def load_rules(settings: Settings) -> RuleSet | None:
    if settings.rules_file is None:
        return None
    from bridge.metadata.rules_file import load_rules as _load

    return _load(Path(settings.rules_file))
