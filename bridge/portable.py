"""Export and import the whole index as one portable, versioned, checksummed .tar.gz.

Layout: manifest.json, ledger.sqlite (an online backup), and per collection vectors.npy + points.jsonl
(same order). Vectors travel as plain arrays, not store files, so an export from the embedded store
imports into a Qdrant server and back.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bridge import __version__
from bridge.engine import STORE_SCHEMA_VERSION, Engine
from bridge.ledger import SCHEMA_VERSION, Ledger
from bridge.models import sha256_file
from bridge.store.base import Point

FORMAT = "pixel-detective-index"
FORMAT_VERSION = 1


class PortableError(Exception):
    pass


def export_index(engine: Engine, dest: Path) -> dict[str, Any]:
    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="pd-export-") as tmp_s:
        tmp = Path(tmp_s)
        backup = sqlite3.connect(tmp / "ledger.sqlite")
        engine.ledger.db.conn.backup(backup)  # consistent snapshot even while others read
        backup.close()
        collections = []
        models = sorted({v for (stage, v) in engine.ledger.stage_counts() if stage == "embed"})
        for model_id in models:
            store = engine.store(model_id)
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
            collections.append({"model": model_id, "name": store.name, "dim": store.dim, "count": n})
        files = {str(p.relative_to(tmp)): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "app_version": __version__,
            "ledger_schema": SCHEMA_VERSION,
            "store_schema": STORE_SCHEMA_VERSION,
            "created_at": time.time(),
            "collections": collections,
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        part = dest.with_name(dest.name + ".part")
        with tarfile.open(part, "w:gz") as tar:
            tar.add(tmp / "manifest.json", arcname="manifest.json")
            for rel in files:
                tar.add(tmp / rel, arcname=rel)
        part.replace(dest)
    return manifest


def read_manifest(archive: Path, into: Path) -> dict[str, Any]:
    """Unpack safely (no absolute paths or links), check format, version and every checksum."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as e:
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


def import_index(archive: Path, data_dir: Path, open_engine: Any, *, force: bool = False) -> dict[str, Any]:
    """Restore an export into `data_dir` (which must hold no index unless `force`)."""
    data_dir = Path(data_dir)
    ledger_path = data_dir / "ledger.sqlite"
    with tempfile.TemporaryDirectory(prefix="pd-import-") as tmp_s:
        tmp = Path(tmp_s)
        manifest = read_manifest(Path(archive), tmp)
        engine: Engine = open_engine()
        try:
            if ledger_path.exists() and engine.ledger.counts()["files"] and not force:
                raise PortableError(f"{data_dir} already holds an index; use --force to replace it")
            engine.close_stores()
            engine.ledger.close()
            for suffix in ("", "-wal", "-shm"):
                Path(str(ledger_path) + suffix).unlink(missing_ok=True)
            shutil.copy2(tmp / "ledger.sqlite", ledger_path)
            engine.ledger = Ledger(ledger_path)
            for c in manifest["collections"]:
                cdir = tmp / "collections" / c["name"]
                store = engine.store(c["model"], recreate=True)
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
                if store.count() != c["count"]:
                    raise PortableError(
                        f"import of {c['name']} ended with {store.count()} of {c['count']} points"
                    )
        finally:
            engine.close()
    return manifest
