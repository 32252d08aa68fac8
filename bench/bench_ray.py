"""The Ray runner next to the local pipeline, on the same files and the same cores, in one run.

  .venv/bin/python bench/bench_ray.py [--files 96] [--json]

Photos: 24 MP JPEGs upscaled from ../shared/data (as bench_index.py). Model: ViT-B-32 with random weights
(the real default model's compute). Configurations, each indexing the same folder into a fresh data dir:

- local: the laptop pipeline (decode worker processes + embedding in this process), `workers` = cores;
- ray-1: a Ray cluster of 1 node (the head, all cores) — `index --cluster`;
- ray-2: 2 nodes (head + 1 worker node), the cores split between them;
- ray-3: 3 nodes (a head without CPUs + 2 worker nodes), the cores split between the workers.

Every cluster is a real `ray.cluster_utils.Cluster` (one raylet per node). Embedding stays on the head in all
four (on a CPU-only machine the head is where the model is; GPU clusters use model actors). Each
configuration first indexes 8 other files once (starts and warms the pool or the Ray workers: a long-lived
cluster keeps them), then the timed run. The first, cold run's time is reported too.

Target: ray-1 ≥ 0.9 × local. The report splits the overhead: joining the cluster, worker start (cold minus
warm), and the rest (task dispatch, moving results through the object store).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_index import BENCH_MODEL, make_24mp, make_model  # noqa: E402


def run_index(models: Path, data: Path, folder: Path, batch: int, **kw: Any) -> tuple[float, Any]:
    from bridge.engine import Engine
    from bridge.settings import Settings

    shutil.copytree(models, data / "models")
    s = Settings(data_dir=data, model=BENCH_MODEL, batch_size=batch, keywords=False, **kw)
    with Engine.open(s) as engine:
        t = time.perf_counter()
        summary = engine.index([str(folder)])
        wall = time.perf_counter() - t
    assert summary.failed == 0, summary.failures_by_reason
    return wall, summary


def node_layout(nodes: int, cores: int) -> tuple[int, list[int]]:
    """(head CPUs, worker node CPUs) splitting `cores` over `nodes` nodes."""
    if nodes == 1:
        return cores, []
    if nodes == 2:
        return cores - cores // 2, [cores // 2]
    workers = nodes - 1
    return 0, [max(1, cores // workers)] * workers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=96)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    import ray
    from ray.cluster_utils import Cluster

    cores = os.cpu_count() or 2
    out: dict[str, Any] = {"cores": cores, "files": a.files}
    with tempfile.TemporaryDirectory(prefix="pd-bench-ray-") as tmp_s:
        tmp = Path(tmp_s)
        photos = make_24mp(tmp / "photos", a.files)
        warm = make_24mp(tmp / "warm", 8)
        for i, p in enumerate(warm):  # other content than the timed files
            p.rename(p.with_name(f"warm_{i}.jpg"))
        make_model(tmp / "m" / "models")
        models = tmp / "m" / "models"
        del photos

        def measure(name: str, **kw: Any) -> None:
            cold, _ = run_index(models, tmp / f"{name}-warm", tmp / "warm", a.batch, **kw)
            wall, summary = run_index(models, tmp / f"{name}-data", tmp / "photos", a.batch, **kw)
            note = next((n for n in summary.notes if n.startswith("cluster")), "")
            out[name] = {
                "img_per_s": summary.embedded / wall,
                "wall_s": wall,
                "warm_up_8_files_s": cold,
                "phases": summary.phase_seconds,
                "note": note,
            }

        measure("local", workers=cores)
        for nodes in (1, 2, 3):
            head_cpus, worker_cpus = node_layout(nodes, cores)
            c = Cluster(initialize_head=True, head_node_args={"num_cpus": head_cpus})
            for n in worker_cpus:
                c.add_node(num_cpus=n)
            c.wait_for_nodes()
            try:
                measure(f"ray-{nodes}", cluster=c.address, cluster_embed="head", workers=cores)
            finally:
                if ray.is_initialized():
                    ray.shutdown()
                c.shutdown()
    local = out["local"]["img_per_s"]
    for nodes in (1, 2, 3):
        r = out[f"ray-{nodes}"]
        r["ratio_vs_local"] = r["img_per_s"] / local
        r["overhead"] = {
            "extra_wall_s": r["wall_s"] - out["local"]["wall_s"],
            "join_s": _join_seconds(r["note"]),
            "worker_start_s_cold_minus_local_cold": r["warm_up_8_files_s"]
            - out["local"]["warm_up_8_files_s"],
        }
    out["target"] = {"ray-1 >= 0.9 x local": out["ray-1"]["ratio_vs_local"] >= 0.9}
    if a.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{a.files} x 24 MP JPEGs, {cores} cores, ViT-B-32 (random weights), embedding on the head")
    print(f"{'config':8} {'img/s':>7} {'x local':>8} {'wall s':>7} {'join s':>7} {'cold 8 files s':>15}")
    for name in ("local", "ray-1", "ray-2", "ray-3"):
        r = out[name]
        ratio = r["img_per_s"] / local
        join = _join_seconds(r["note"])
        print(
            f"{name:8} {r['img_per_s']:7.2f} {ratio:8.2f} {r['wall_s']:7.1f} {join:7.2f} "
            f"{r['warm_up_8_files_s']:15.1f}"
        )
    print("target ray-1 >= 0.9 x local:", "met" if out["target"]["ray-1 >= 0.9 x local"] else "MISSED")
    for name in ("local", "ray-1", "ray-3"):
        phases = {k: round(v, 1) for k, v in out[name]["phases"].items() if v >= 0.05}
        print(f"  {name} phases (s): {phases}")


def _join_seconds(note: str) -> float:
    marker = "joined in "
    if marker not in note:
        return 0.0
    return float(note.split(marker, 1)[1].split(" s", 1)[0])


if __name__ == "__main__":
    main()
