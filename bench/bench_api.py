"""Latency of a text search through the REST API, next to the same search in-process.

    .venv/bin/python bench/bench_api.py [--points 100000] [--requests 1000] [--model vit-b-32|tiny] [--json]

The index is built without decoding any photo (`bench_build.build_index`, as bench_bridge.py does): random
unit vectors with the indexer's payloads (`build_payload`) go into the Qdrant Edge store through
`EdgeStore.upsert`, and the ledger gets the matching `files` + `stages` rows, so a search runs the production
path: text encoder, hybrid vector + word ranking, paths from the ledger.

Then an `ApiServer` (uvicorn on 127.0.0.1, a free port) serves that `EngineHost`, and `--requests` searches
(50 distinct queries, `limit` results, one at a time over one keep-alive connection, with a read key) are
timed from the client's send to the parsed JSON. The engine-only figure is `EngineHost.search_text` with the
same query in-process, timed just before each request — exactly what the route calls — so the difference is
the API: HTTP parsing, key check, FastAPI validation, the thread-pool hop, the search observers (metrics) and
JSON serialisation. The API cannot search by a raw vector, so both sides include the text encoder.
Target: overhead < 5 ms at p50.
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

from bench.bench_bridge import make_queries, pct  # noqa: E402
from bench.bench_build import build_index  # noqa: E402
from bridge.settings import Settings  # noqa: E402

TARGET_OVERHEAD_MS = 5.0


def make_models(models: Path, which: str, work: Path) -> str:
    if which == "tiny":
        from bridge.models.clip import import_checked
        from tests.model_factory import TINY_MODEL_ID, make_tiny_clip

        w, cfg = make_tiny_clip(work / "tiny")
        import_checked(w, TINY_MODEL_ID, models, config=cfg)
        return TINY_MODEL_ID
    from bench_index import BENCH_MODEL, make_model

    make_model(models)
    return BENCH_MODEL


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--model", choices=["vit-b-32", "tiny"], default="vit-b-32")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    import httpx

    from bridge.api.keys import KeyStore, Scope
    from bridge.api.server import ApiServer, ApiSettings
    from bridge.host import EngineHost

    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        model_id = make_models(tmp / "data" / "models", a.model, tmp)
        settings = Settings(data_dir=tmp / "data", model=model_id)
        build_s = build_index(settings, a.points)
        key = KeyStore(settings.data_dir).create("bench", Scope.READ)[1]
        queries = make_queries(50)
        host = EngineHost(settings)
        try:
            with (
                ApiServer(host, ApiSettings(port=0), local_token=lambda: None) as server,
                httpx.Client(
                    base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
                ) as client,
            ):

                def api(q: str) -> list[str]:
                    r = client.get("/api/v1/search", params={"q": q, "limit": a.limit})
                    r.raise_for_status()
                    return [hit["path"] for hit in r.json()["results"]]

                for q in queries[:10]:  # warm-up: model, store pages, SQLite cache, the server's threads
                    host.search_text(q, limit=a.limit)
                    api(q)
                engine_s, api_s = [], []
                for i in range(a.requests):
                    q = queries[i % len(queries)]
                    t = time.perf_counter()
                    hits = host.search_text(q, limit=a.limit)
                    engine_s.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    paths = api(q)
                    api_s.append(time.perf_counter() - t)
                    assert paths == [h.path for h in hits], f"the API and the engine disagree on {q!r}"
                    assert len(paths) == a.limit
            vectors = host.engine.store().count()
        finally:
            host.close()
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
            "api_p50_ms": round(pct(api_s, 50), 2),
            "api_p99_ms": round(pct(api_s, 99), 2),
        }
        r["overhead_p50_ms"] = round(r["api_p50_ms"] - r["engine_p50_ms"], 2)
        # the per-request difference is less sensitive to the machine's load drifting during the run
        r["overhead_median_paired_ms"] = round(float(np.median(np.subtract(api_s, engine_s))) * 1000, 2)
        if a.json:
            print(json.dumps(r, indent=2))
            return
        print(f"{r['machine']}; model {model_id}; {vectors} vectors (index built in {r['build_seconds']} s)")
        print(f"text search, limit {a.limit}, {a.requests} requests, one at a time:")
        print(
            f"  engine only (EngineHost.search_text)  p50 {r['engine_p50_ms']} ms  p99 {r['engine_p99_ms']} ms"
        )
        print(f"  through the REST API (httpx ⇄ uvicorn) p50 {r['api_p50_ms']} ms  p99 {r['api_p99_ms']} ms")
        ok = "meets" if r["overhead_p50_ms"] < TARGET_OVERHEAD_MS else "MISSES"
        print(
            f"  API overhead at p50: {r['overhead_p50_ms']} ms (median of per-request differences "
            f"{r['overhead_median_paired_ms']} ms); {ok} the < {TARGET_OVERHEAD_MS:g} ms target"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
