"""Round-trip latency of a `search` request through the Lightroom bridge, next to the same search in-process.

    .venv/bin/python bench/bench_bridge.py [--points 100000] [--requests 1000] [--model vit-b-32|tiny] [--json]

Builds a real index of `--points` photos without decoding any: random unit vectors go into the Qdrant
Edge store through `EdgeStore.upsert` (payloads built by `bridge.indexing.payload.build_payload`), and the ledger
gets the matching `files` + `stages` rows, so a search runs the production path end to end — text
encoder, hybrid vector + word ranking, path resolution through the ledger. Nothing is bypassed.

Then a `Service` (owning its `EngineHost`) talks to the test plugin simulator over real localhost
sockets, and `--requests` searches (50 distinct queries, limit 50, one at a time) are timed from the
simulator's send to the reply's arrival. The engine-only figure is `EngineHost.search_text` with the
same queries in-process — exactly what the service's handler calls — so the difference is the bridge:
JSON framing, two sockets, the handler pool hop.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.bench_build import build_index
from bridge.settings import Settings  # noqa: E402

WORDS = [
    "dog",
    "beach",
    "sunset",
    "bride",
    "umbrella",
    "mountain",
    "lake",
    "red",
    "car",
    "city",
    "night",
    "portrait",
    "family",
    "snow",
    "forest",
]


def make_queries(n: int) -> list[str]:
    rng = np.random.default_rng(1)
    return [
        " ".join(rng.choice(WORDS, size=int(rng.integers(1, 4)), replace=False)) + f" {i}" for i in range(n)
    ]


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs) * 1000.0, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--model", choices=["vit-b-32", "tiny"], default="vit-b-32")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    from bridge.lightroom import Service
    from bridge.lightroom.connection import Timeouts
    from tests.bridge.lightroom.plugin_sim import PluginSim

    tmp = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    try:
        models = tmp / "data" / "models"
        if a.model == "tiny":
            from bridge.models.clip import import_checked
            from tests.model_factory import TINY_MODEL_ID, make_tiny_clip

            w, cfg = make_tiny_clip(tmp / "tiny")
            import_checked(w, TINY_MODEL_ID, models, config=cfg)
            model_id = TINY_MODEL_ID
        else:
            from bench_index import BENCH_MODEL, make_model

            make_model(models)
            model_id = BENCH_MODEL
        settings = Settings(data_dir=tmp / "data", model=model_id)
        build_s = build_index(settings, a.points)
        queries = make_queries(50)
        bridge_dir = tmp / "bridge"
        with Service(settings, directory=bridge_dir, timeouts=Timeouts(port_poll=0.05)) as svc:
            host = svc.host
            assert host is not None
            with PluginSim(bridge_dir) as sim:
                assert sim.wait_connected(60) and svc.wait_connected(10)
                for q in queries[:10]:  # warm-up: model, store pages, SQLite cache, handler threads
                    host.search_text(q, limit=a.limit)
                    sim.request("search", {"query": q, "limit": a.limit})
                engine_s, bridge_s = [], []
                for i in range(a.requests):
                    q = queries[i % len(queries)]
                    t = time.perf_counter()
                    hits = host.search_text(q, limit=a.limit)
                    engine_s.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    reply = sim.request("search", {"query": q, "limit": a.limit})
                    bridge_s.append(time.perf_counter() - t)
                    assert reply["type"] == "search.result", reply
                    assert [r["path"] for r in reply["body"]["results"]] == [h.path for h in hits]
                vectors = host.engine.store().count()
        r = {
            "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
            "model": model_id,
            "points": a.points,
            "vectors": vectors,
            "requests": a.requests,
            "limit": a.limit,
            "build_seconds": round(build_s, 1),
            "engine_p50_ms": round(pct(engine_s, 50), 2),
            "engine_p99_ms": round(pct(engine_s, 99), 2),
            "bridge_p50_ms": round(pct(bridge_s, 50), 2),
            "bridge_p99_ms": round(pct(bridge_s, 99), 2),
        }
        r["overhead_p50_ms"] = round(r["bridge_p50_ms"] - r["engine_p50_ms"], 2)
        if a.json:
            print(json.dumps(r, indent=2))
            return
        print(f"{r['machine']}; model {model_id}; {vectors} vectors (index built in {r['build_seconds']} s)")
        print(f"search limit {a.limit}, {a.requests} requests, one at a time:")
        print(
            f"  engine only (EngineHost.search_text) p50 {r['engine_p50_ms']} ms  p99 {r['engine_p99_ms']} ms"
        )
        print(
            f"  through the bridge (plugin-sim ⇄ Service)  p50 {r['bridge_p50_ms']} ms  p99 {r['bridge_p99_ms']} ms"
        )
        print(f"  bridge overhead at p50: {r['overhead_p50_ms']} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
