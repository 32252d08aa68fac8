"""Export and import the whole index as one portable, versioned, checksummed .tar.gz.

Layout: manifest.json, ledger.sqlite (an online backup), and per collection vectors.npy + points.jsonl
(same order). Vectors travel as plain arrays, not store files, so an export from the embedded store
imports into a Qdrant server and back.

Models: the manifest's `models` names each collection's model — a built-in one by id, an imported (custom) one
with its spec, weights file name and SHA-256, and its open_clip config under `models/<name>/`; with
`with_weights` the weights file travels too. An import registers a custom model the archive carries (staged
and switched in with the ledger, so still all or nothing), accepts one already registered here with the same
weights, refuses one registered here under the same name with other weights (before anything changes), and
otherwise imports the index and says which weights to import (`missing_models`).

All or nothing (R37, R45): both directions work in `<data>/tmp/` and publish with a rename. An import
builds the new ledger and stores beside the old ones and switches them in through the data dir's switch
journal (bridge/files/datadir.py), so a kill at any moment leaves the old index or the new one, never half;
free space is checked up front (Edge's memory maps die with SIGBUS on a full disk), and a disk that fills
anyway ends in a message with the partial files removed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tarfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bridge import __version__
from bridge.files import datadir
from bridge.files.diskspace import DiskFullError, disk_full_message, ensure_free, is_disk_full, same_disk
from bridge.models.registry import REGISTRY, model_dir, safe_name, sha256_file
from bridge.models.registry import read_manifest as model_manifest
from bridge.records import Stage
from bridge.settings import Settings
from bridge.state.ledger import SCHEMA_VERSION, Ledger
from bridge.store import collection_name, open_store
from bridge.store.base import Point, VectorStore
from bridge.store.schema import STORE_SCHEMA_VERSION

FORMAT = "pixel-detective-index"
FORMAT_VERSION = 1
LEDGER = "ledger.sqlite"
# Files beside the ledger that belong to the old one and must never meet the new one (an old WAL would
# be replayed into it).
LEDGER_SIDE_FILES = ("ledger.sqlite-wal", "ledger.sqlite-shm", "ledger.sqlite-journal")
SAMPLE_POINTS = 200  # payloads measured to estimate an export's size
# A new Edge shard: two 32 MB WAL segments preallocated, plus payload-index files; optimize() builds a
# second copy of the vectors beside the first before dropping it.
SHARD_OVERHEAD = 96 * 1024 * 1024
SHARD_FACTOR = 3


class PortableError(Exception):
    pass


class Engine(Protocol):
    """What export and import need of an open index (`bridge.engine.Engine` is one): its settings, its
    ledger (replaced after an import) and its stores per model."""

    settings: Settings
    ledger: Ledger

    def store(self, model_id: str | None = None, *, recreate: bool = False) -> VectorStore: ...
    def open_uncached_store(self, model_id: str) -> VectorStore: ...
    def drop_store(self, model_id: str) -> None: ...
    def close_stores(self) -> None: ...
    def close(self) -> None: ...


# -- export ------------------------------------------------------------------------------------------


def check_destination(dest: Path) -> Path:
    """Refuse, before anything is written, a destination that is a folder or lies in a missing one."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir() and not dest.is_file():
        raise PortableError(f"{dest} is not a regular file (a FIFO, socket or device); choose a file name")
    if dest.is_dir():
        raise PortableError(
            f"{dest} is a folder; give the archive's file name, e.g. {dest / 'pixel-detective-index.tar.gz'}"
        )
    if not dest.parent.is_dir():
        raise PortableError(
            f"the folder {dest.parent} does not exist; create it or choose another destination"
        )
    return dest


def export_index(
    engine: Engine, dest: Path, *, check_space: bool = True, with_weights: bool = False
) -> dict[str, Any]:
    """Write the index to `dest` (.tar.gz). On any failure nothing is left at `dest` or beside it.

    `check_space=False` skips the up-front estimate (tests use it to meet a real full disk mid-write).
    `with_weights`: imported (custom) models travel with their weights file, not only its checksum.
    """
    dest = check_destination(dest)
    models = sorted({v for (stage, v) in engine.ledger.stage_counts() if stage == Stage.EMBED})
    part = dest.with_name(dest.name + ".part")
    try:
        with datadir.temp_work(engine.settings.data_dir, "export") as tmp:
            if check_space:
                _ensure_export_space(engine, models, tmp, dest)
            manifest = _write_export(engine, models, tmp, part, with_weights=with_weights)
            part.replace(dest)
            datadir.fsync_dir(dest.parent)
    except BaseException as e:
        part.unlink(missing_ok=True)
        if isinstance(e, Exception) and is_disk_full(e):
            raise PortableError(disk_full_message(dest.parent, f"export the index to {dest}")) from None
        raise
    return manifest


def _ensure_export_space(engine: Engine, models: list[str], tmp: Path, dest: Path) -> None:
    """The staged copy and the archive: each about the ledger plus vectors plus payloads."""
    need = _ledger_bytes(engine.ledger.path) + sum(collection_bytes(engine.store(m)) for m in models)
    if same_disk(tmp, dest):
        ensure_free(dest.parent, 2 * need, f"export the index to {dest}")
    else:
        ensure_free(tmp, need, "stage the export in the data folder")
        ensure_free(dest.parent, need, f"export the index to {dest}")


def _ledger_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def collection_bytes(store: VectorStore) -> int:
    """vectors.npy exactly, points.jsonl from the mean of a sample of payloads (generous by half)."""
    n = store.count()
    sample = [
        len(json.dumps({"id": pid, "payload": payload}, default=str)) + 1
        for _, (pid, payload, _v) in zip(
            range(SAMPLE_POINTS), store.scroll(batch=SAMPLE_POINTS), strict=False
        )
    ]
    per_point = (sum(sample) / len(sample)) * 1.5 if sample else 0
    return int(n * (store.dim * 4 + per_point)) + 4096


def _write_export(
    engine: Engine, models: list[str], tmp: Path, part: Path, *, with_weights: bool = False
) -> dict[str, Any]:
    backup = sqlite3.connect(tmp / LEDGER)
    try:
        engine.ledger.db.conn.backup(backup)  # consistent snapshot even while others read
    finally:
        backup.close()
    collections = [_export_collection(engine.store(m), m, tmp) for m in models]
    model_entries = [_export_model(engine.settings.models_dir, m, tmp, with_weights) for m in models]
    files = {str(p.relative_to(tmp)): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "ledger_schema": SCHEMA_VERSION,
        "store_schema": STORE_SCHEMA_VERSION,
        "created_at": time.time(),
        "collections": collections,
        "models": model_entries,
        "files": files,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
    with open(part, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz") as tar:
            tar.add(tmp / "manifest.json", arcname="manifest.json")
            for rel in files:
                tar.add(tmp / rel, arcname=rel)
        raw.flush()
        os.fsync(raw.fileno())  # the archive is whole on disk before its name says it is done
    return manifest


def _export_collection(store: VectorStore, model_id: str, tmp: Path) -> dict[str, Any]:
    n = store.count()
    cdir = tmp / "collections" / store.name
    cdir.mkdir(parents=True)
    vectors = np.lib.format.open_memmap(
        cdir / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, store.dim)
    )
    i = 0
    with open(cdir / "points.jsonl", "w") as f:
        for pid, payload, vec in store.scroll(with_vectors=True):
            if i >= n:
                break
            vectors[i] = np.asarray(vec, dtype=np.float32)
            f.write(json.dumps({"id": pid, "payload": payload}, default=str) + "\n")
            i += 1
    vectors.flush()
    del vectors
    if i != n:
        raise PortableError(f"collection {store.name} changed during export ({i} of {n} points read)")
    return {"model": model_id, "name": store.name, "dim": store.dim, "count": n}


def _export_model(models_dir: Path, model_id: str, tmp: Path, with_weights: bool) -> dict[str, Any]:
    """The identity of a collection's model; an imported one's config (and, asked, weights) into `tmp`."""
    manifest = model_manifest(models_dir, model_id)
    if manifest is None:
        source = "builtin" if model_id in REGISTRY else "unknown"  # unknown: its weights are not here either
        return {"id": model_id, "source": source}
    entry: dict[str, Any] = {
        "id": model_id,
        "source": "imported",
        "spec": manifest["spec"],
        "weights_file": manifest["weights_file"],
        "sha256": manifest["sha256"],
        "config_file": manifest.get("config_file"),
        "weights_included": with_weights,
    }
    src, dst = model_dir(models_dir, model_id), tmp / "models" / safe_name(model_id)
    dst.mkdir(parents=True)
    if manifest.get("config_file"):
        shutil.copy2(src / manifest["config_file"], dst / manifest["config_file"])
    if with_weights:
        shutil.copy2(src / manifest["weights_file"], dst / manifest["weights_file"])
        if sha256_file(dst / manifest["weights_file"]) != manifest["sha256"]:
            raise PortableError(
                f"the weights of {model_id} in {src} no longer match their checksum; run "
                f"`pixel-detective models verify {model_id}`"
            )
    return entry


# -- import ------------------------------------------------------------------------------------------


def plan_models(manifest: dict[str, Any], models_dir: Path) -> tuple[list[str], list[str]]:
    """(custom models to register from the archive, sentences naming the weights still missing here).
    Raises PortableError when this data dir holds another model's weights under an archive model's name."""
    register: list[str] = []
    missing: list[str] = []
    for m in manifest.get("models", []):
        if m.get("source") != "imported":
            if m.get("source") == "unknown":
                missing.append(f"{m['id']}: the exporting machine had no weights for it either")
            continue
        here = model_manifest(models_dir, m["id"])
        if here is not None:
            if here.get("sha256") != m["sha256"]:
                raise PortableError(
                    f"this index was built with {m['id']} weights {m['weights_file']} (sha256 {m['sha256']}), "
                    f"but {models_dir} holds other weights under that name (sha256 {here.get('sha256')}); "
                    "nothing was imported. Remove or rename that model here first."
                )
            continue  # the same weights are already registered
        if m.get("weights_included"):
            register.append(m["id"])
            continue
        cfg = f" --config {m['config_file']}" if m.get("config_file") else ""
        where = (
            f" (its config is in the archive: models/{safe_name(m['id'])}/{m['config_file']})"
            if m.get("config_file")
            else ""
        )
        missing.append(
            f"{m['id']}: import its weights {m['weights_file']} (sha256 {m['sha256']}) with "
            f"`pixel-detective models import {m['weights_file']} --model {m['id']}{cfg}`{where}, or export "
            "again with `export-db --with-weights`"
        )
    return register, missing


def _stage_models(work: Path, manifest: dict[str, Any], register: list[str]) -> list[str]:
    """The archive's custom models, as registered model folders under `work/new/models/`; their paths."""
    out = []
    for m in manifest.get("models", []):
        if m["id"] not in register:
            continue
        rel = f"models/{safe_name(m['id'])}"
        src, dst = work / "unpacked" / rel, work / "new" / rel
        if sha256_file(src / m["weights_file"]) != m["sha256"]:
            raise PortableError(f"the archive's weights of {m['id']} do not match their recorded checksum")
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        registered = {
            "format": 1,
            "spec": m["spec"],
            "weights_file": m["weights_file"],
            "sha256": m["sha256"],
            "imported_at": time.time(),
            "imported_from": "import-db",
        }
        if m.get("config_file"):
            registered["config_file"] = m["config_file"]
        (dst / "manifest.json").write_text(json.dumps(registered, indent=2))
        out.append(rel)
    return out


def read_manifest(archive: Path, into: Path) -> dict[str, Any]:
    """Unpack safely (no absolute paths or links), check format, version and every checksum."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as e:
        if is_disk_full(e):
            raise  # not the archive's fault: the caller says the disk is full
        raise PortableError(f"{archive} is not a readable index export: {e}") from e
    try:
        manifest = json.loads((into / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise PortableError(f"{archive} has no valid manifest.json") from e
    if manifest.get("format") != FORMAT:
        raise PortableError(f"{archive} is not a Pixel Detective index export")
    if (
        manifest.get("format_version", 0) > FORMAT_VERSION
        or manifest.get("ledger_schema", 0) > SCHEMA_VERSION
    ):
        raise PortableError(
            f"{archive} was written by a newer Pixel Detective ({manifest.get('app_version')}); upgrade to import it"
        )
    for rel, digest in manifest["files"].items():
        p = into / rel
        if not p.is_file() or sha256_file(p) != digest:
            raise PortableError(f"{archive} is damaged: {rel} does not match its checksum")
    return manifest


def import_index(
    archive: Path,
    data_dir: Path,
    open_engine: Callable[[], Engine],
    *,
    force: bool = False,
    check_space: bool = True,
) -> dict[str, Any]:
    """Replace the index in `data_dir` (which must hold none unless `force`) by an export, atomically."""
    archive, data_dir = Path(archive), Path(data_dir)
    if not archive.is_file():  # missing, a folder, a FIFO or a device
        raise PortableError(f"{archive} is not a file (give an archive made by `pixel-detective export-db`)")
    engine = open_engine()
    try:
        if engine.ledger.counts()["files"] and not force:
            raise PortableError(f"{data_dir} already holds an index; use --force to replace it")
        with _disk_full_said(data_dir, "import the index"), datadir.temp_work(data_dir, "import") as work:
            if check_space:
                ensure_free(work, _import_need(archive), f"import {archive}")
            manifest = read_manifest(archive, work / "unpacked")
            register, missing = plan_models(manifest, engine.settings.models_dir)  # refusals before any change
            manifest["missing_models"] = missing
            if engine.settings.store == "edge":
                _stage(work, manifest)
                models = _stage_models(work, manifest, register)
                _switch(engine, work, manifest, models)
            else:
                _import_remote(engine, work, manifest, register)
    finally:
        engine.close()
    return manifest


@contextmanager
def _disk_full_said(where: Path, what: str) -> Iterator[None]:
    try:
        yield
    except DiskFullError as e:
        raise PortableError(str(e)) from None
    except Exception as e:
        if is_disk_full(e):
            raise PortableError(
                disk_full_message(where, what) + " The previous index is unchanged."
            ) from None
        raise


def _import_need(archive: Path) -> int:
    """Unpacked archive + the new stores built from it (the old index stays until the switch)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise PortableError(f"{archive} is not a readable index export: {e}") from e
    unpacked = sum(m.size for m in members)
    data = sum(m.size for m in members if m.name.startswith("collections/"))
    shards = len({m.name.split("/")[1] for m in members if m.name.count("/") >= 2})
    return unpacked + SHARD_FACTOR * data + shards * SHARD_OVERHEAD


def _stage(work: Path, manifest: dict[str, Any]) -> None:
    """Build the new ledger and every store under `work/new`, complete and verified, beside the old."""
    unpacked, new = work / "unpacked", work / "new"
    (new / "store").mkdir(parents=True)
    os.replace(unpacked / LEDGER, new / LEDGER)
    Ledger(new / LEDGER).close()  # migrates an older schema forward; closing folds its WAL back in
    for c in manifest["collections"]:
        name = collection_name(c["model"], STORE_SCHEMA_VERSION)
        store = open_store("edge", collection=name, dim=int(c["dim"]), path=new / "store")
        try:
            _fill(store, unpacked / "collections" / c["name"], int(c["count"]))
            store.optimize()  # built now, so the switched-in store is searched through its index at once
        finally:
            store.close()
    shutil.rmtree(unpacked / "collections", ignore_errors=True)  # room: the switch is renames only


def _fill(store: VectorStore, cdir: Path, count: int) -> None:
    vectors = np.load(cdir / "vectors.npy", mmap_mode="r")
    batch: list[Point] = []
    with open(cdir / "points.jsonl") as f:
        for i, line in enumerate(f):
            rec = json.loads(line)
            batch.append(Point(rec["id"], np.asarray(vectors[i]), rec["payload"]))
            if len(batch) == 512:
                store.upsert(batch)
                batch = []
    if batch:
        store.upsert(batch)
    store.flush()
    if store.count() != count:
        raise PortableError(f"import of {store.name} ended with {store.count()} of {count} points")


def _switch(engine: Engine, work: Path, manifest: dict[str, Any], models: Sequence[str] = ()) -> None:
    """Swap the staged ledger, stores and custom models in (one journaled step); the old ones go to
    `work/old`."""
    s = engine.settings
    engine.close_stores()
    engine.ledger.close()
    names = {collection_name(c["model"], STORE_SCHEMA_VERSION) for c in manifest["collections"]}
    replace = [LEDGER, *(f"store/{n}" for n in sorted(names)), *models]
    # Collections the archive does not have belong to the old index: their ids would not match the new
    # ledger. Damaged copies kept for inspection stay.
    old_only = sorted(
        f"store/{d.name}"
        for d in (s.store_dir.iterdir() if s.store_dir.is_dir() else [])
        if d.is_dir() and d.name not in names and ".damaged-" not in d.name
    )
    remove = [*LEDGER_SIDE_FILES, datadir.NOTICES_FILE, *old_only]
    datadir.commit_switch(s.data_dir, work / "new", work / "old", replace, remove)
    engine.ledger = Ledger(s.ledger_path)


def _import_remote(engine: Engine, work: Path, manifest: dict[str, Any], register: list[str]) -> None:
    """A Qdrant server's collections cannot be renamed into place: the ledger is still switched
    atomically, but the server's points are replaced in place (not all-or-nothing; see the README)."""
    unpacked = work / "unpacked"
    models = _stage_models(work, manifest, register)  # registered first: the store needs their dimension
    for rel in models:
        dst = engine.settings.data_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work / "new" / rel, dst)
    for c in manifest["collections"]:
        engine.drop_store(c["model"])
        store = engine.open_uncached_store(c["model"])
        try:
            _fill(store, unpacked / "collections" / c["name"], int(c["count"]))
        finally:
            store.close()
    (work / "new").mkdir()
    os.replace(unpacked / LEDGER, work / "new" / LEDGER)
    Ledger(work / "new" / LEDGER).close()
    engine.close_stores()
    engine.ledger.close()
    datadir.commit_switch(
        engine.settings.data_dir,
        work / "new",
        work / "old",
        [LEDGER],
        [*LEDGER_SIDE_FILES, datadir.NOTICES_FILE],
    )
    engine.ledger = Ledger(engine.settings.ledger_path)
