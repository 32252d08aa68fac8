"""Peak memory while indexing many files: RSS growth must not follow the collection size.

  .venv/bin/python bench/bench_memory.py [--files 10000] [--json]

Indexes N small generated JPEGs with the tiny test model (memory growth with collection size is about the
pipeline, ledger and store, not the model), sampling the indexer's RSS (main process) and the decode
workers' RSS every 50 ms. Target: peak RSS growth of the indexer under 300 MB for 10k files.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from bridge.engine import Engine
    from bridge.models.clip import import_checked
    from bridge.settings import Settings
    from tests.bridge.conftest import make_photos
    from tests.model_factory import TINY_MODEL_ID, make_tiny_clip

    with tempfile.TemporaryDirectory(prefix="pd-mem-") as tmp_s:
        tmp = Path(tmp_s)
        t = time.perf_counter()
        make_photos(tmp / "photos", a.files, size=(160, 120))
        gen = time.perf_counter() - t
        w, c = make_tiny_clip(tmp / "model")
        import_checked(w, TINY_MODEL_ID, tmp / "data" / "models", config=c)
        s = Settings(data_dir=tmp / "data", model=TINY_MODEL_ID, batch_size=32)
        me = psutil.Process()
        with Engine.open(s) as engine:
            engine.embedder.encode_images(np.zeros((1, 64, 64, 3), "uint8"))  # load the model first
            engine.store()
            base = me.memory_info().rss
            peak = {"main": base, "workers": 0}
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak["main"] = max(peak["main"], me.memory_info().rss)
                    kids = sum(k.memory_info().rss for k in me.children(recursive=True) if k.is_running())
                    peak["workers"] = max(peak["workers"], kids)
                    time.sleep(0.05)

            th = threading.Thread(target=sample, daemon=True)
            th.start()
            t = time.perf_counter()
            summary = engine.index([str(tmp / "photos")])
            wall = time.perf_counter() - t
            done.set()
            th.join()
    growth = (peak["main"] - base) / 2**20
    r = {
        "files": a.files,
        "generated_s": round(gen, 1),
        "embedded": summary.embedded,
        "wall_s": round(wall, 1),
        "rss_base_mb": round(base / 2**20),
        "rss_peak_growth_mb": round(growth, 1),
        "workers_peak_total_mb": round(peak["workers"] / 2**20),
        "target_growth_mb": 300,
        "ratio_to_target": round(growth / 300, 3),
    }
    print(
        json.dumps(r, indent=2)
        if a.json
        else f"{a.files} files indexed in {wall:.0f}s; indexer RSS {r['rss_base_mb']} MB + peak growth "
        f"{growth:.0f} MB (target < 300 MB, ratio {r['ratio_to_target']}); workers peak {r['workers_peak_total_mb']} MB"
    )


if __name__ == "__main__":
    main()
