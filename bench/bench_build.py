"""A synthetic index for benchmarks: n photos as ledger rows + random unit vectors in the real store,
written through the engine's own store and ledger (what an index run leaves behind, minus the decoding)."""

from __future__ import annotations

import time

import numpy as np

from bridge.engine import Engine
from bridge.indexing.payload import build_payload, point_id
from bridge.settings import Settings
from bridge.store.base import Point


def build_index(settings: Settings, n: int, batch: int = 2000) -> float:
    t = time.perf_counter()
    engine = Engine.open(settings, purpose="bench_bridge build")
    try:
        store = engine.store()
        dim = store.dim
        model = engine.model_id
        rng = np.random.default_rng(0)
        now = time.time()
        for start in range(0, n, batch):
            m = min(batch, n - start)
            vecs = rng.standard_normal((m, dim)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            points, files, stages = [], [], []
            for i in range(m):
                k = start + i
                fp = f"{k:032x}"
                path = f"/bench/photos/{k // 1000:03d}/IMG_{k:06d}.jpg"
                meta = {"rating": int(rng.integers(0, 6)), "camera": "Canon EOS R5"}
                points.append(Point(point_id(fp, model), vecs[i], build_payload(fp, model, [path], meta)))
                files.append((path, "/bench/photos", 1000 + k, k, fp, now, now))
                stages.append((fp, "embed", model, point_id(fp, model), now))
            store.upsert(points)
            with engine.ledger.write() as conn:
                conn.executemany(
                    "INSERT INTO files (path, root, size, mtime_ns, fingerprint, added_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    files,
                )
                conn.executemany(
                    "INSERT INTO stages (fingerprint, stage, version, point_id, updated_at) VALUES (?, ?, ?, ?, ?)",
                    stages,
                )
        store.optimize()  # what the end of an indexing run does: the HNSW index
    finally:
        engine.close()
    return time.perf_counter() - t
