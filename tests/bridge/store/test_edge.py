"""Qdrant Edge specifics: reopening from disk, surviving SIGKILL (the WAL), one owner, damaged shards,
refusing another model's vectors, and optimize()."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest

import bridge.store.edge as edge
from bridge.search.where import parse_where
from bridge.store import Point, StoreDamagedError, StoreError, StoreLockedError, open_store
from bridge.store.edge import EdgeStore, move_aside
from bridge.store.schema import PAYLOAD_FIELDS

PROJECT = Path(__file__).resolve().parents[3]
DIM = 16


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def points(n: int, seed: int = 0, start: int = 0) -> list[Point]:
    vs = unit(np.random.default_rng(seed), n)
    return [
        Point(str(uuid.UUID(int=start + i + 1)), vs[i], {"rating": i % 6, "path": f"/p/{i % 3}/{i}.jpg"})
        for i in range(n)
    ]


def test_creates_shard_dir_with_indexes_and_reopens(tmp_path: Path):
    root = tmp_path / "store"
    with EdgeStore.open(root, collection="pd_v1_x", dim=DIM) as s:
        s.upsert(points(50))
        assert set(s._s.info().payload_schema) == set(PAYLOAD_FIELDS)
    assert (root / "pd_v1_x" / "edge_config.json").is_file()
    with EdgeStore.open(root, collection="pd_v1_x", dim=DIM) as s:
        assert s.count() == 50
        assert s.count(parse_where("rating>=3")) == 24
        assert set(s._s.info().payload_schema) == set(PAYLOAD_FIELDS)
        assert s.info()["points"] == 50


def test_wrong_dim_is_refused(tmp_path: Path):
    open_store("edge", collection="c", dim=DIM, path=tmp_path).close()
    with pytest.raises(StoreError, match=r"holds 16-dimensional .* makes 32-dimensional"):
        open_store("edge", collection="c", dim=32, path=tmp_path)


def test_wrong_dim_is_refused_without_the_config_file(tmp_path: Path):
    with EdgeStore.open(tmp_path, collection="c", dim=DIM) as s:
        s.upsert(points(3))
    (tmp_path / "c" / "edge_config.json").unlink()  # Edge then reads the size from the segments
    with pytest.raises(StoreError, match="different model") as e:
        EdgeStore.open(tmp_path, collection="c", dim=32)
    assert not isinstance(e.value, StoreDamagedError)  # must not be moved aside and rebuilt


def test_second_opener_is_refused(tmp_path: Path):
    with EdgeStore.open(tmp_path, collection="c", dim=DIM) as s:
        s.upsert(points(3))
        with pytest.raises(StoreLockedError, match=str(tmp_path / "c")):
            EdgeStore.open(tmp_path, collection="c", dim=DIM)
        code = (
            "import sys; from pathlib import Path; from bridge.store.edge import EdgeStore\n"
            "from bridge.store import StoreLockedError\n"
            "try:\n    EdgeStore.open(Path(sys.argv[1]), collection='c', dim=16)\n"
            "except StoreLockedError as e:\n    print(e); sys.exit(3)\n"
        )
        r = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], cwd=PROJECT, capture_output=True, text=True
        )
        assert r.returncode == 3, r.stderr
        assert "already open" in r.stdout
        assert s.count() == 3  # the first owner is unharmed


CHILD = textwrap.dedent(
    """
    import sys, uuid
    from pathlib import Path
    import numpy as np
    from bridge.store import Point
    from bridge.store.edge import EdgeStore
    store = EdgeStore.open(Path(sys.argv[1]), collection="c", dim=16)
    rng = np.random.default_rng(1)
    batch = 0
    while True:
        v = rng.standard_normal((100, 16)).astype(np.float32)
        store.upsert([Point(str(uuid.UUID(int=batch * 100 + i + 1)), v[i], {"batch": batch}) for i in range(100)])
        print(batch, flush=True)  # acknowledged: upsert returned
        batch += 1
    """
)


@pytest.mark.reliability
def test_acknowledged_upserts_survive_sigkill(tmp_path: Path):
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], cwd=PROJECT, stdout=subprocess.PIPE, text=True
    )
    acked = -1
    assert proc.stdout is not None
    for line in proc.stdout:
        acked = int(line)
        if acked >= 40:
            break
    os.kill(proc.pid, signal.SIGKILL)  # mid-loop: the next batch may be half written
    proc.wait()
    assert acked >= 40
    with EdgeStore.open(tmp_path, collection="c", dim=DIM) as s:
        n = s.count()
        assert (acked + 1) * 100 <= n <= (acked + 2) * 100
        ids = [str(uuid.UUID(int=i + 1)) for i in range((acked + 1) * 100)]
        assert len(s.retrieve(ids)) == len(ids)  # every acknowledged point is back
        assert s.count(parse_where("")) == n


def test_damaged_wal_is_reported_and_can_be_moved_aside(tmp_path: Path):
    with EdgeStore.open(tmp_path, collection="c", dim=DIM) as s:
        s.upsert(points(10))
    wal = sorted((tmp_path / "c" / "wal").glob("open-*"))[0]
    with wal.open("r+b") as f:
        f.write(os.urandom(4096))
    with pytest.raises(StoreDamagedError, match=f"vector store at {tmp_path / 'c'} is damaged"):
        EdgeStore.open(tmp_path, collection="c", dim=DIM)
    moved = move_aside(tmp_path / "c")
    assert moved.name.startswith("c.damaged-") and moved.is_dir()
    assert not (tmp_path / "c").exists()
    with EdgeStore.open(tmp_path, collection="c", dim=DIM) as s:  # a fresh one to rebuild into
        assert s.count() == 0
    (tmp_path / "c").mkdir(exist_ok=True)
    assert move_aside(tmp_path / "c") != moved  # same second: still a new name


@pytest.mark.parametrize("damage", ["config", "segment"])
def test_damaged_files_are_reported(tmp_path: Path, damage: str):
    with EdgeStore.open(tmp_path, collection="c", dim=DIM) as s:
        s.upsert(points(10))
    if damage == "config":
        (tmp_path / "c" / "edge_config.json").write_text("{garbage")
    else:
        for seg in (tmp_path / "c" / "segments").iterdir():
            (seg / "segment.json").unlink()
    with pytest.raises(StoreDamagedError, match="is damaged"):
        EdgeStore.open(tmp_path, collection="c", dim=DIM)


def test_config_records_wal_and_tuning(tmp_path: Path):
    EdgeStore.open(tmp_path, collection="c", dim=DIM).close()
    cfg = json.loads((tmp_path / "c" / "edge_config.json").read_text())
    assert cfg["vectors"][""] == {"size": DIM, "distance": "Cosine", "memory": "cached"}
    assert cfg["wal_enabled"] is True
    assert cfg["payload_memory"] == "cold"
    assert cfg["hnsw_config"]["m"] == edge.HNSW.m


def test_optimize_builds_the_index_and_search_stays_right(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # A tiny indexing threshold so 2,000 small vectors get an HNSW graph, as 100k real ones would.
    monkeypatch.setattr(edge, "OPTIMIZERS", edge.qe.EdgeOptimizersConfig(indexing_threshold=10))
    pts = points(2000, seed=3)
    with EdgeStore.open(tmp_path, collection="c", dim=DIM) as s:
        s.upsert(pts)
        assert s.optimize() is True
        info = s.info()
        assert info["indexed_vectors"] == 2000 and info["points"] == 2000
        assert s.optimize() is False  # nothing left to do
        probe = pts[1234]
        assert s.search(probe.vector, limit=1)[0].id == probe.id
        hits = s.search(probe.vector, limit=10, where=parse_where("rating=4 folder=/p/1"))
        assert hits[0].id == probe.id  # 1234 % 6 == 4, 1234 % 3 == 1
        assert all(h.payload["rating"] == 4 for h in hits)
        s.upsert(points(10, seed=4, start=5000))  # writes after optimize land in a new segment
        assert s.count() == 2010


def test_open_store_needs_a_path():
    with pytest.raises(StoreError, match="folder"):
        open_store("edge", collection="c", dim=DIM)
