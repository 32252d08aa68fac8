"""kill -9 during the final optimize (Qdrant Edge 0.9.0): the next open cleans the half-built segment
Edge leaves in temp_segments/ and runs the optimize again, so search does not brute-force for good."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bridge.store.edge import OPTIMIZE_PENDING, TEMP_SEGMENTS, EdgeStore

pytestmark = pytest.mark.reliability
# Above Edge's indexing threshold (32,000 KB of 512-d vectors, ~16k): smaller collections are never
# indexed, so optimize() would have nothing to build.
N, DIM = 20_000, 512

FILL_AND_OPTIMIZE = textwrap.dedent(
    """
    import sys, uuid
    import numpy as np
    from pathlib import Path
    from bridge.store.base import Point
    from bridge.store.edge import EdgeStore
    root, n, dim = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    st = EdgeStore.open(root, collection="c", dim=dim)
    rng = np.random.default_rng(0)
    for s in range(0, n, 2000):
        v = rng.standard_normal((2000, dim)).astype(np.float32)
        st.upsert([Point(str(uuid.uuid5(uuid.NAMESPACE_URL, str(s + i))), v[i], {"path": f"/p/{s + i}.jpg"})
                   for i in range(2000)])
    st.flush()
    print("optimizing", flush=True)
    st.optimize()
    print("done", flush=True)
    """
)


def test_optimize_killed_midway_is_resumed_and_cleaned(tmp_path: Path):
    proc = subprocess.Popen(
        [sys.executable, "-c", FILL_AND_OPTIMIZE, str(tmp_path), str(N), str(DIM)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    shard = tmp_path / "c"
    deadline = time.monotonic() + 120
    # Kill once Edge is writing the new segment: the state a killed final optimize leaves.
    while not (shard / TEMP_SEGMENTS).is_dir() or not any((shard / TEMP_SEGMENTS).iterdir()):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "optimize never started"
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert "done" not in proc.stdout.read()
    assert (shard / OPTIMIZE_PENDING).exists()
    assert any((shard / TEMP_SEGMENTS).iterdir())  # what Edge leaves behind on its own

    with EdgeStore.open(tmp_path, collection="c", dim=DIM) as store:
        info = store.info()
        assert info["points"] == N
        assert info["indexed_vectors"] == N  # optimized after all
        assert not store.optimize_pending
    assert not list((shard / TEMP_SEGMENTS).iterdir())
    with EdgeStore.open(tmp_path, collection="c", dim=DIM) as store:  # the next open has nothing owed
        assert not store.optimize_pending and store.info()["indexed_vectors"] == N
