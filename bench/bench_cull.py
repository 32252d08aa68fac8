"""Culling a 10k-photo folder whose analyses are already in the index.

    .venv/bin/python bench/bench_cull.py [--photos 10000] [--burst 5] [--json]

A ledger is filled with synthetic rows, no photo decoded: `files` (one path per photo under one folder),
`content` (camera, capture time with sub-seconds, exposure; every 20th burst an exposure bracket), and
`analyses` rows for `quality`, `composition` and `dupsig` (random 64-bit hashes, a 48 x 32 thumbnail shared by
a burst's frames up to a little noise) as the
indexer stores them. Then `bridge.search.cull.cull_ledger` runs the production path without the vector
store (`cull --no-vectors`): read the folder's items, signatures, metadata and analyses from SQLite, find the
duplicate groups (exact, near by hash LSH, burst), the keep-together sets, rank, decide, store every row in the
`cull` table. Timed: the whole call, and again with a 30 % target on the stored index (overrides read back).
Target: under 10 s for 10k photos. Measured (2026-12-06, the shared 2-core dev box at load average ~12):
1.8 s of CPU for 10k photos (1.8 s again with the 30 % target), 5-11 s wall because eight other jobs shared the
two cores; the CPU figure is the one to compare. Biggest parts: reading items, signatures and analyses from
SQLite (~35 %), duplicate grouping (~15 %), ranking and decisions (~40 %), storing the rows.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.analyses.composition import COMPOSITION_VERSION  # noqa: E402
from bridge.analyses.culling import CullOptions  # noqa: E402
from bridge.analyses.dupsig import DUPSIG_VERSION, DupSignature  # noqa: E402
from bridge.analyses.quality import QUALITY_VERSION  # noqa: E402
from bridge.search.cull import cull_ledger, under  # noqa: E402
from bridge.state.ledger import Ledger  # noqa: E402


def fill(ledger: Ledger, folder: str, n: int, burst: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    now = time.time()
    files, content, analyses = [], [], []
    t0 = 1_700_000_000.0
    for i in range(n):
        g, k = divmod(i, burst)
        fp = f"fp{i:08d}"
        path = f"{folder}/IMG_{i:06d}.jpg"
        ts = t0 + 60.0 * g + 0.15 * k
        bracket = g % 20 == 0
        md = {
            "camera_make": "Canon",
            "camera_model": "EOS R5",
            "captured_ts": ts,
            "captured_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{round(ts * 100) % 100:02d}",
            "subsec_time_original": f"{round(ts * 100) % 100:02d}",
            "exposure_time": 1 / 500,
            "aperture": 5.6,
            "iso": 400,
            "exposure_bias": float(k - burst // 2) if bracket else 0.0,
            "focal_length": 50.0,
        }
        files.append((path, folder, 1000 + i, 1, fp, 1, now, now))
        content.append((fp, json.dumps(md), "bench", now))
        q = {
            "q_sharpness": float(rng.random()),
            "q_motion_blur": float(rng.random() * 0.7),
            "q_exposure": float(0.2 + 0.6 * rng.random()),
            "q_overall": float(rng.random()),
        }
        c = {"c_level": float(rng.random()), "c_thirds": float(rng.random()), "c_edge_cut": float(rng.random() * 0.5)}
        if k == 0:  # a burst's frames show one scene: one thumbnail, a little noise per frame
            scene = rng.integers(0, 255, 48 * 32).astype(np.float64)
        thumb = np.clip(scene + rng.normal(0, 4, scene.shape), 0, 255).astype(np.uint8).tobytes()
        sig = DupSignature(int(rng.integers(0, 2**63)), int(rng.integers(0, 2**63)), thumb, 48).to_json()
        analyses += [
            (fp, "quality", QUALITY_VERSION, json.dumps(q), now),
            (fp, "composition", COMPOSITION_VERSION, json.dumps(c), now),
            (fp, "dupsig", DUPSIG_VERSION, json.dumps(sig), now),
        ]
    with ledger.write() as conn:
        conn.executemany(
            "INSERT INTO files (path, root, size, mtime_ns, fingerprint, seen_scan, added_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            files,
        )
        conn.executemany(
            "INSERT INTO content (fingerprint, metadata, metadata_version, updated_at) VALUES (?, ?, ?, ?)", content
        )
        conn.executemany(
            "INSERT INTO analyses (fingerprint, kind, version, data, updated_at) VALUES (?, ?, ?, ?, ?)", analyses
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=10_000)
    ap.add_argument("--burst", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "ledger.sqlite")
        folder = "/bench/shoot"
        fill(ledger, folder, args.photos, args.burst)
        t, c = time.perf_counter(), time.process_time()
        report = cull_ledger(ledger, under(folder), CullOptions())
        first, first_cpu = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        again = cull_ledger(ledger, under(folder), CullOptions(target_share=0.3))
        second, second_cpu = time.perf_counter() - t, time.process_time() - c
        ledger.close()
    kinds: dict[str, int] = {}
    for r in report.results:
        if r.rank == 1:
            kinds[r.group_kind] = kinds.get(r.group_kind, 0) + 1
    out = {
        "photos": args.photos,
        "cull_s": round(first, 2),
        "cull_target30_s": round(second, 2),
        "cull_cpu_s": round(first_cpu, 2),  # the box may be shared: CPU seconds of this process too
        "cull_target30_cpu_s": round(second_cpu, 2),
        "groups_by_kind": kinds,
        "decisions": report.counts,
        "decisions_target30": again.counts,
        "kept_together": sum(1 for r in report.results if r.unit),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:>20}: {v}")
    print(f"target: under 10 s for 10k photos -> {'ok' if first < 10 and second < 10 else 'MISSED'}", file=sys.stderr)


if __name__ == "__main__":
    main()
