"""One typed settings object: defaults < settings file (TOML) < environment (PIXEL_DETECTIVE_*) < CLI flags.

The settings file is `settings.toml` in the per-user config dir, or the file named by
`PIXEL_DETECTIVE_CONFIG`. The data dir (ledger, vector store, imported weights) is per-user via
platformdirs and overridable with `PIXEL_DETECTIVE_DATA_DIR` or `--data-dir` (tests use a temp dir).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "pixel-detective"
ENV_PREFIX = "PIXEL_DETECTIVE_"
DATA_DIR_STORE_FILE = "store.json"  # where this data dir's vectors live, written by `store migrate`
# The keyword vocabulary catalog the last `index --vocabulary-catalog` chose for this data dir (kept so the next
# plain `index` keywords with the same vocabulary instead of re-keywording everything with the built-in one)
DATA_DIR_VOCABULARY_FILE = "vocabulary.json"

# Names that are never photos (gitignore syntax, matched against the path relative to the scanned
# folder): editors' temp files, partial downloads, OS metadata, catalog previews.
DEFAULT_EXCLUDES = (
    ".*",  # hidden files and folders (.DS_Store, ._AppleDouble, .Trash)
    "*.part",
    "*.crdownload",
    "*.download",
    "*.tmp",
    "~$*",
    "*.lrdata/",  # Lightroom previews: thousands of small JPEGs that are not photos
    "@eaDir/",  # Synology thumbnails
)


def default_config_file() -> Path:
    env = os.environ.get(ENV_PREFIX + "CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "settings.toml"


class StoreSwitchError(ValueError):
    """The data dir's store.json (where `store migrate` moved the vectors) cannot be used; the message says why."""


class Webhook(BaseModel):
    """One webhook (bridge/api/webhooks.py): JSON POSTed to `url` for `events`, signed with `secret`."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://")
    events: list[Literal["run_finished", "needs_attention"]] = ["run_finished", "needs_attention"]
    secret: str = ""  # HMAC-SHA256 key of the X-Pixel-Detective-Signature header; "" sends no signature


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))

    # Embedding model: "<architecture>/<pretrained tag>", see `pixel-detective models list`.
    model: str = "ViT-B-32/laion2b_s34b_b79k"
    # auto, cpu, cuda, cuda:N; several GPUs: "cuda:0,cuda:1" or "all" (one model replica per device)
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    # The long-running host (tray app, Lightroom service) frees a model (CLIP, BLIP) unused this long while no
    # job runs; the next search or job loads it again. 0: never free.
    model_idle_release_s: float = Field(default=600.0, ge=0, allow_inf_nan=False)
    batch_size: int = Field(default=0, ge=0)  # 0: chosen from the device (free GPU memory) and model
    workers: int = Field(default=0, ge=0)  # decode processes; 0: number of CPU cores
    decode_size: int = Field(default=448, ge=64)  # shortest side of the reusable decoded bitmap
    # Baseline JPEGs decoded in batches by torchvision on the model's device (nvJPEG on a GPU), the CPU
    # workers taking every other file. auto: on when the model runs on a GPU; on: also on the CPU (torchvision's
    # libjpeg; slower than the workers' draft-mode decode, for tests and benchmarks); off: workers only.
    device_decode: Literal["auto", "on", "off"] = "auto"
    # Scale-out (docs/cluster.md): "" runs on this machine; "auto" joins the Ray cluster this machine belongs to
    # (RAY_ADDRESS or a local `ray start`); "ray://HOST:PORT" a remote one through Ray Client; "local" starts a
    # private one-machine Ray. This process stays the head: the one writer to the ledger and the vector store.
    cluster: str = ""
    # Where the cluster embeds: "actors" (one model actor per GPU, or per `cluster_embed_actors` CPU actors),
    # "head" (this process, as on a laptop), "auto" (actors when the cluster has GPUs, else the head).
    cluster_embed: Literal["auto", "actors", "head"] = "auto"
    cluster_embed_actors: int = Field(default=0, ge=0)  # 0: one per GPU; >0 on a CPU cluster: CPU actors
    cluster_chunk_mb: float = Field(default=32.0, gt=0)  # a decode task's share of the work, by file bytes
    max_pixels: int = Field(default=250_000_000, ge=1_000_000)  # decompression-bomb limit
    # Per format family (jpeg, png, webp, tiff, heif, raw): {"tiff": {"max_mb": 2048, "max_megapixels": 400}}
    # over the defaults in bridge/files/formats.py LIMITS. Bigger files are never read (memory per worker, R48).
    format_limits: dict[str, dict[str, int]] = Field(default_factory=dict)
    # Free space kept on the data dir's disk during a run (R45): checked before the run and each batch;
    # below it the run stops with a message instead of the vector store dying of SIGBUS.
    # Measured: opening a Qdrant Edge shard preallocates ~330 MB (its payload indexes), so the floor is above.
    min_free_mb: int = Field(default=512, ge=0)

    # Scanning
    include: list[str] = Field(default_factory=list)  # gitignore-style globs; empty = every supported file
    exclude: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDES))
    follow_symlinks: bool = False
    max_attempts: int = Field(default=3, ge=1)  # failed files are retried at most this often, unless changed

    # Metadata rules file (TOML or YAML), applied at index time
    rules_file: Path | None = None

    # --- Vector store (bridge/store/README.md) --------------------------------------------------------------
    # Embedded Qdrant Edge by default, or a Qdrant server/cluster at qdrant_url (http(s)://HOST:6333).
    # `pixel-detective store migrate` moves an index between them and records the result in the data dir's
    # store.json, which overrides `store` and `qdrant_url` from the settings file (not from the environment):
    # see `with_data_dir_store`.
    store: Literal["edge", "qdrant"] = "edge"
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None  # also PIXEL_DETECTIVE_QDRANT_API_KEY; never written to store.json
    qdrant_timeout_s: int = Field(default=30, ge=1)  # one request; errors name the server when it runs out
    qdrant_parallel: int = Field(default=4, ge=1)  # upsert requests in flight at once (256 points each)
    qdrant_retries: int = Field(default=4, ge=0)  # extra tries: refused/reset, timeout, HTTP 5xx or 429
    qdrant_backoff_s: float = Field(default=0.5, ge=0)  # first wait before a retry; doubles each time
    # A new collection's layout on a cluster; an existing collection keeps the one it was created with.
    # None: the server's defaults (1 shard, 1 replica, write consistency 1).
    qdrant_shard_number: int | None = Field(default=None, ge=1)
    qdrant_replication_factor: int | None = Field(default=None, ge=1)
    qdrant_write_consistency_factor: int | None = Field(default=None, ge=1)

    def with_data_dir_store(self, keep: Collection[str] = ()) -> Settings:
        """A copy where the data dir's store.json (written by `store migrate`) says where this index's vectors
        live: it wins over the settings file and the defaults, because the ledger in this data dir describes
        exactly those vectors. An environment variable (PIXEL_DETECTIVE_STORE, …_QDRANT_URL) or a field named in
        `keep` (given explicitly by the caller) still wins."""
        path = self.data_dir / DATA_DIR_STORE_FILE
        try:
            recorded = json.loads(path.read_text())
        except FileNotFoundError:
            return self
        except OSError as e:
            raise StoreSwitchError(
                f"{path} cannot be read ({e.strerror or type(e).__name__}); fix its permissions, or run "
                "`pixel-detective store migrate` again"
            ) from e
        except ValueError as e:
            raise StoreSwitchError(
                f"{path} is damaged (not valid JSON); run `pixel-detective store migrate --to …` again to "
                "rewrite it"
            ) from e
        env = {k.upper() for k in os.environ}
        update = {
            k: recorded.get(k)
            for k in ("store", "qdrant_url")
            if k in recorded and k not in keep and (ENV_PREFIX + k).upper() not in env
        }
        if update.get("store") not in (None, "edge", "qdrant"):
            raise StoreSwitchError(f"{path} names an unknown store {update['store']!r}")
        if all(getattr(self, k) == v for k, v in update.items()):
            return self
        return self.model_copy(update=update)

    # --- end of the vector store block ----------------------------------------------------------------------

    def with_data_dir_vocabulary(self, keep: Collection[str] = ()) -> Settings:
        """A copy whose `vocabulary_catalog` is the data dir's vocabulary.json (written by `index
        --vocabulary-catalog`) when nothing else names one: the settings file, the environment or a flag (`keep`)
        still win. A record that cannot be read is ignored: it is a preference, the index does not depend on it."""
        if (
            self.vocabulary_catalog is not None
            or "vocabulary_catalog" in keep
            or (ENV_PREFIX + "vocabulary_catalog").upper() in {k.upper() for k in os.environ}
        ):
            return self
        try:
            recorded = json.loads((self.data_dir / DATA_DIR_VOCABULARY_FILE).read_text())
        except (OSError, ValueError):
            return self
        path = recorded.get("vocabulary_catalog") if isinstance(recorded, dict) else None
        if not isinstance(path, str) or not path:
            return self
        return self.model_copy(update={"vocabulary_catalog": Path(path)})

    # Watching
    watch_stable_seconds: float = Field(default=2.0, ge=0)
    watch_rescan_minutes: float = Field(default=30.0, ge=0)

    # Object storage (s3://, gs://, any fsspec URL as a source; bridge/files/objects.py). Credentials come from
    # the usual environment and profiles; these are extra filesystem arguments per protocol, e.g.
    # {"s3": {"endpoint_url": "http://minio:9000"}} (AWS_ENDPOINT_URL works too). `watch` polls URL sources
    # every `object_poll_seconds` (a listing each time: object stores send no events).
    object_storage_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    object_poll_seconds: float = Field(default=60.0, gt=0)

    # Analysis stages (bridge/analyses/kinds.py). Quality scores and duplicate signatures come from the bitmap the
    # indexer decodes anyway; keywords from the CLIP vector; captions need their own (BLIP) model.
    quality: bool = True
    duplicate_signatures: bool = True
    composition: bool = True  # horizon tilt, subject placement, edge cut (bridge/analyses/composition.py)
    # Faces (bridge/analyses/faces.py; needs the `faces` extra): boxes, eyes open, face sharpness, embeddings
    # for people. Off by default (~50 ms a photo plus ~100 ms a face on one core). face_detector: "hog" (fast,
    # frontal faces) or "cnn" (also profiles; ~2-4 s a photo on a CPU). eye_state_method "landmarks68" uses
    # dlib's 68-point model, trained on data licensed for non-commercial use only: an explicit opt-in.
    faces: bool = False
    face_detector: Literal["hog", "cnn"] = "hog"
    face_upsample: int = Field(default=0, ge=0, le=2)
    eye_state_method: Literal["profile", "landmarks68"] = "profile"
    people_max_distance: float = Field(default=0.45, gt=0, le=1.0)  # face embeddings closer: same person (people.py)
    keywords: bool = True
    vocabulary_catalog: Path | None = None  # a .lrcat whose keyword tree is the keyword vocabulary
    builtin_vocabulary: bool = True  # plus the shipped photography vocabulary (bridge/data/vocabulary.toml)
    keywords_max: int = Field(default=8, ge=1)
    keywords_min_score: float | None = (
        None  # None: the assigner's documented defaults (bridge/analyses/keywording.py)
    )
    keywords_min_margin: float | None = None
    keywords_allow: list[str] = Field(default_factory=list)  # labels or path prefixes ("Subjects|Animals")
    keywords_deny: list[str] = Field(default_factory=list)
    # Write-back to Lightroom / XMP (catalog write --from-index, the plugin's Apply, the tray's Sync)
    keyword_parent: str = "Pixel Detective"  # top-level keyword new keywords go under ("" for none)
    writeback_rules: list[str] = Field(default_factory=list)  # e.g. "sharpness < 0.2 -> pick -1"
    sidecar_naming: Literal["name", "name.ext"] = "name"  # IMG_1.xmp or IMG_1.CR2.xmp
    only_on_ac_power: bool = False  # the tray app pauses indexing while on battery

    # Culling (`pixel-detective cull`, bridge/analyses/culling.py): score weights (eyes, sharpness, motion, exposure,
    # composition; missing keys keep their defaults 3, 3, 2, 1.5, 1) and the thresholds of the reason codes.
    cull_weights: dict[str, float] = Field(default_factory=dict)
    cull_eyes_closed_below: float = Field(default=0.35, ge=0, le=1)
    cull_out_of_focus_below: float = Field(default=0.35, ge=0, le=1)
    cull_motion_blur_above: float = Field(default=0.5, ge=0, le=1)
    cull_under_exposed_below: float = Field(default=0.2, ge=0, le=1)
    cull_over_exposed_above: float = Field(default=0.85, ge=0, le=1)
    cull_tilted_below: float = Field(default=0.6, ge=0, le=1)  # c_level; 0.6 = a tilt of about 2.3 degrees
    cull_cut_above: float = Field(default=0.6, ge=0, le=1)
    cull_bracket_gap_s: float = Field(default=2.0, ge=0)
    # How picks and rejects are written back (catalog, plugin, XMP): "flag" (Lightroom pick / reject flags; XMP
    # has none, so there the rating), "rating" (stars below) and/or "label" (colour labels below); [] writes none.
    cull_write_as: list[Literal["flag", "rating", "label"]] = Field(default=["flag"])  # pydantic copies the default
    cull_pick_rating: int = Field(default=3, ge=0, le=5)
    cull_reject_rating: int = Field(default=1, ge=0, le=5)
    cull_pick_label: str = "Green"
    cull_reject_label: str = "Red"
    cull_undecided_label: str = "Yellow"

    # The window's 256 px thumbnails, written while indexing from the bitmap decoded anyway (data_dir/thumbnails)
    thumbnails: bool = True
    captions: bool = False  # BLIP captions: ~25x an embedding on CPU, so opt-in
    caption_model: str = "blip-base"  # blip-base, blip-large, a Hugging Face repo id, or a local directory
    # Beam search (3, the default) or greedy decoding (1): greedy is about twice as fast, see README "Captions"
    caption_beams: int = Field(default=3, ge=1, le=8)
    caption_batch_size: int = Field(
        default=0, ge=0
    )  # 0: chosen from free device memory (>= 256 on a big GPU)

    # --- Service: HTTP API, webhooks, remote engine (bridge/api/README.md) ---------------------------------
    http_listen: str = "127.0.0.1:8765"  # HOST:PORT of `serve --http`; a non-loopback host is network mode
    webhooks: list[Webhook] = Field(default_factory=list)
    # Written by `pixel-detective remote use`: the engine the tray app and the plugin talk to instead of this one
    remote_url: str | None = None
    remote_api_key: str | None = None
    remote_tls_fingerprint: str | None = None

    # Extra open_clip model config dirs (custom or fine-tuned architectures)
    model_config_dirs: list[Path] = Field(default_factory=list)

    @field_validator("data_dir", "rules_file", "vocabulary_catalog", mode="after")
    @classmethod
    def _expand(cls, v: Path | None) -> Path | None:
        return v.expanduser() if v is not None else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=default_config_file())
        return (init_settings, env_settings, toml)

    # Derived paths: one place that knows the data-dir layout.
    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def owner_lock_path(self) -> Path:
        return self.data_dir / "owner.lock"

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None CLI overrides applied (validated like every other source)."""
        values = {k: v for k, v in overrides.items() if v is not None}
        if not values:
            return self
        merged = self.model_dump()
        merged.update(values)
        return Settings(**merged)


def load_settings(**overrides: Any) -> Settings:
    given = {k for k, v in overrides.items() if v is not None}
    return (
        Settings().with_overrides(**overrides).with_data_dir_store(keep=given).with_data_dir_vocabulary(keep=given)
    )
