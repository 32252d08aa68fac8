"""The Ray runner on a real multi-node Ray cluster on this machine (`ray.cluster_utils.Cluster`: a head and
worker nodes, each with its own raylet and worker processes) running the real pipeline on real photos from
../shared/data: the index equals a laptop run's, a node killed mid-run loses and duplicates nothing, the head
killed and restarted resumes, a slow node's chunk is re-dispatched, a file that kills its worker is recorded.

Only the models are tiny (built by the tests, loaded through the real import path)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the cluster extra (scripts/setup.sh --cluster) is not installed")
from ray.cluster_utils import Cluster  # noqa: E402

from bridge.engine import Engine  # noqa: E402
from bridge.indexing import raylane  # noqa: E402
from bridge.indexing.raytasks import CRASH_ON_ENV, SLOW_NODE_ENV  # noqa: E402
from bridge.indexing.worker import Job  # noqa: E402
from bridge.settings import Settings  # noqa: E402

pytestmark = pytest.mark.timeout(300)

# Real photos of several formats and sizes (JPEG, PNG, TIFF, WebP, a RAW, a broken file).
REAL = [
    "jpeg",
    "png",
    "webp",
    "tiff",
    "raw/canon_eos_6d.dng",
    "broken",
]


@pytest.fixture
def photos(copy_shared, tmp_path: Path) -> Path:
    copy_shared(*REAL)
    return tmp_path / "photos"


@pytest.fixture
def cluster():
    """A head without CPUs (as a real head keeps its cores for the ledger and store) and two worker nodes."""
    if ray.is_initialized():
        ray.shutdown()
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    nodes = [c.add_node(num_cpus=2), c.add_node(num_cpus=2)]
    c.wait_for_nodes()
    c.workers = nodes  # type: ignore[attr-defined]
    yield c
    if ray.is_initialized():
        ray.shutdown()
    c.shutdown()


def with_data_dir(settings: Settings, name: str, **kw: Any) -> Settings:
    d = settings.data_dir.parent / name
    if not d.exists():
        import shutil

        shutil.copytree(settings.data_dir / "models", d / "models")
    return settings.model_copy(update={"data_dir": d, **kw})


def index(settings: Settings, root: Path, hook: Any = None) -> Any:
    with Engine.open(settings) as engine:
        idx = engine.indexer()
        idx.on_batch_committed = hook
        return idx.run([str(root)])


def snapshot(settings: Settings) -> tuple[dict[str, tuple[np.ndarray, dict[str, Any]]], dict[str, Any]]:
    """Every point (vector, payload) and what the ledger recorded per content and per failed file."""
    with Engine.open(settings) as engine:
        points = {
            pid: (np.asarray(vec), payload) for pid, payload, vec in engine.store().scroll(with_vectors=True)
        }
    db = sqlite3.connect(settings.data_dir / "ledger.sqlite")
    ledger = {
        "stages": sorted(db.execute("SELECT fingerprint, stage, version, point_id FROM stages")),
        "analyses": sorted(db.execute("SELECT fingerprint, kind, version, data FROM analyses")),
        "content": sorted(db.execute("SELECT fingerprint, metadata FROM content")),
        "failures": sorted(db.execute("SELECT path, stage, reason FROM failures")),
    }
    db.close()
    return points, ledger


def assert_same_index(a: Settings, b: Settings) -> None:
    pa, la = snapshot(a)
    pb, lb = snapshot(b)
    assert pa.keys() == pb.keys()
    for pid, (vec, payload) in pa.items():
        other_vec, other_payload = pb[pid]
        when = ("indexed_at",)  # the clock time of the commit, the one field that differs between two runs
        assert {k: v for k, v in payload.items() if k not in when} == {
            k: v for k, v in other_payload.items() if k not in when
        }, pid
        # the same model on the same CPU; batches of other sizes may round the last bit differently
        assert np.allclose(vec, other_vec, atol=1e-5), pid
    assert la == lb


def test_chunks_are_balanced_by_bytes() -> None:
    jobs = [
        Job(path=f"/p/{i}", fingerprint=str(i), want_metadata=True, want_pixels=True, size=s)
        for i, s in enumerate([10, 10, 10, 30, 5, 5, 5, 5, 40])
    ]
    out = raylane.chunks(jobs, target_bytes=30, max_files=3)
    assert [[j.size for j in c] for c in out] == [[10, 10, 10], [30], [5, 5, 5], [5, 40]]
    assert [j for c in out for j in c] == jobs  # every job once, in order
    # with 2 CPUs: one file each in the first two chunks (both start at once); the end is spread too
    many = [
        Job(path=f"/p/{i}", fingerprint=str(i), want_metadata=True, want_pixels=True, size=1)
        for i in range(40)
    ]
    sized = [len(c) for c in raylane.chunks(many, target_bytes=10**9, max_files=32, lanes=2)]
    assert sized[:2] == [1, 1] and max(sized) <= 10 and sized[-1] == 1 and sum(sized) == 40


def test_cluster_index_equals_a_laptop_run(settings: Settings, photos: Path, cluster: Cluster) -> None:
    local = with_data_dir(settings, "local")
    on_head = with_data_dir(settings, "cluster-head", cluster=cluster.address, cluster_embed="head")
    on_actors = with_data_dir(
        settings,
        "cluster-actors",
        cluster=cluster.address,
        cluster_embed="actors",
        cluster_embed_actors=2,
        cluster_chunk_mb=1.0,
    )
    first = index(local, photos)
    assert first.status == "completed" and first.embedded > 40 and first.failed > 0  # the broken files
    for s in (on_head, on_actors):
        summary = index(s, photos)
        assert summary.status == "completed"
        assert (summary.embedded, summary.failed) == (first.embedded, first.failed)
        note = next(n for n in summary.notes if n.startswith("cluster"))
        assert "3 node(s), 4 CPUs" in note
        assert_same_index(local, s)
    assert "2 model actor(s)" in next(n for n in summary.notes if n.startswith("cluster"))
    again = index(on_actors, photos)  # a re-run on the cluster finds nothing to do, as on a laptop
    assert again.embedded == 0 and again.new_or_changed == 0


@pytest.mark.slow  # minutes of a 3-node Ray cluster: `scripts/test.sh -m slow`
@pytest.mark.parametrize("victim", [0, 1])  # one of the two holds the model actor: both cases are run
def test_a_node_killed_mid_run_loses_and_duplicates_nothing(
    settings: Settings, photos: Path, cluster: Cluster, victim: int
) -> None:
    local = with_data_dir(settings, "local")
    remote = with_data_dir(
        settings,
        "cluster",
        cluster=cluster.address,
        cluster_embed="actors",
        cluster_embed_actors=1,
        cluster_chunk_mb=0.5,
        batch_size=4,
    )
    killed: list[int] = []

    def kill_a_node(_n: int) -> None:
        if not killed:
            killed.append(1)
            # the node with the model actor, if the actor is on a worker node: the hardest case
            cluster.remove_node(cluster.workers[victim], allow_graceful=False)

    summary = index(remote, photos, hook=kill_a_node)
    assert killed
    first = index(local, photos)
    assert summary.status == "completed"
    assert (summary.embedded, summary.failed) == (first.embedded, first.failed)
    assert_same_index(local, remote)
    with Engine.open(remote) as engine:
        assert engine.store().count() == first.embedded  # nothing twice


@pytest.mark.slow  # minutes of a 3-node Ray cluster: `scripts/test.sh -m slow`
def test_the_head_killed_and_restarted_resumes(settings: Settings, photos: Path, cluster: Cluster) -> None:
    local = with_data_dir(settings, "local")
    remote = with_data_dir(settings, "cluster", batch_size=4, cluster_chunk_mb=0.5)
    env = {
        **os.environ,
        "PIXEL_DETECTIVE_DATA_DIR": str(remote.data_dir),
        "PIXEL_DETECTIVE_MODEL": settings.model,
        "PIXEL_DETECTIVE_BATCH_SIZE": "4",
        "PIXEL_DETECTIVE_CLUSTER_CHUNK_MB": "0.5",
    }
    cmd = [
        sys.executable,
        "-m",
        "bridge",
        "index",
        str(photos),
        "--cluster",
        cluster.address,
        "--no-captions",
    ]
    head = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ledger = remote.data_dir / "ledger.sqlite"
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline and head.poll() is None:
        time.sleep(0.2)
        try:
            db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1)
            committed = db.execute("SELECT COUNT(*) FROM stages WHERE stage LIKE 'embed%'").fetchone()[0]
            db.close()
        except sqlite3.Error:
            continue
        if committed >= 4:
            break
    assert head.poll() is None, "the head finished before it could be killed"
    head.send_signal(signal.SIGKILL)
    head.wait(30)
    first = index(local, photos)
    assert committed < first.embedded
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode in (0, 3), resumed.stdout + resumed.stderr  # 3: some files failed (the broken)
    assert_same_index(local, remote)
    with Engine.open(remote) as engine:
        assert engine.store().count() == first.embedded


@pytest.mark.slow  # minutes of a 3-node Ray cluster: `scripts/test.sh -m slow`
def test_a_slow_nodes_last_chunk_is_redispatched(settings: Settings, photos: Path) -> None:
    if ray.is_initialized():
        ray.shutdown()
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        c.add_node(num_cpus=2)
        c.add_node(num_cpus=1, env_vars={SLOW_NODE_ENV: "60"})  # every task there takes a minute
        c.wait_for_nodes()
        local = with_data_dir(settings, "local")
        remote = with_data_dir(settings, "cluster", cluster=c.address, cluster_chunk_mb=0.5)
        t = time.monotonic()
        summary = index(remote, photos)
        took = time.monotonic() - t
        first = index(local, photos)
        assert summary.status == "completed" and summary.embedded == first.embedded
        note = next(n for n in summary.notes if n.startswith("cluster"))
        assert "re-dispatched from a slow node" in note
        assert took < 60, "the run waited for the slow node"
        assert_same_index(local, remote)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()


@pytest.mark.slow  # minutes of a 3-node Ray cluster: `scripts/test.sh -m slow`
def test_a_file_that_kills_its_worker_is_recorded_never_retried_forever(
    settings: Settings, photos: Path
) -> None:
    if ray.is_initialized():
        ray.shutdown()
    victim = sorted((photos / "jpeg").glob("*.jpg"))[3]
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        c.add_node(num_cpus=2, env_vars={CRASH_ON_ENV: victim.name})
        c.wait_for_nodes()
        remote = with_data_dir(settings, "cluster", cluster=c.address, cluster_chunk_mb=2.0)
        summary = index(remote, photos)
        assert summary.status == "completed"
        assert summary.failures_by_reason.get("decoder_crashed") == 1
        _, ledger = snapshot(remote)
        assert (str(victim), "decode", "decoder_crashed") in ledger["failures"]
        note = next(n for n in summary.notes if n.startswith("cluster"))
        assert "1 file(s) crashed a worker" in note
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()


def test_an_unreachable_cluster_is_one_clear_error(settings: Settings, photos: Path) -> None:
    if ray.is_initialized():
        ray.shutdown()
    s = with_data_dir(settings, "nowhere", cluster="127.0.0.1:9")
    with pytest.raises(Exception) as e:
        index(s, photos)
    assert "cannot join the Ray cluster at '127.0.0.1:9'" in str(e.value)
    assert "Traceback" not in str(e.value)


def test_the_laptop_path_never_imports_ray(settings: Settings, photos: Path) -> None:
    code = (
        "import sys\n"
        "from bridge.engine import Engine\nfrom bridge.settings import Settings\n"
        f"s = Settings(data_dir={str(settings.data_dir)!r}, model={settings.model!r}, workers=2, batch_size=8)\n"
        f"with Engine.open(s) as e: r = e.index([{str(photos / 'jpeg')!r}])\n"
        "assert r.embedded > 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 's3fs', 'gcsfs')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_ctrl_c_stops_the_cluster_run_and_the_next_run_resumes(
    settings: Settings, photos: Path, cluster: Cluster
) -> None:
    remote = with_data_dir(settings, "cluster", cluster=cluster.address, cluster_chunk_mb=0.5, batch_size=4)
    stop = threading.Event()
    with Engine.open(remote) as engine:
        idx = engine.indexer(stop=stop)
        idx.on_batch_committed = lambda _n: stop.set()
        first = idx.run([str(photos)])
    assert first.status == "stopped" and first.embedded > 0
    second = index(remote, photos)
    assert second.status == "completed"
    local = with_data_dir(settings, "local")
    ref = index(local, photos)
    assert first.embedded + second.embedded == ref.embedded  # nothing twice, nothing lost
    assert_same_index(local, remote)
