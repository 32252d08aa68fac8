"""CLI commands beside a running owner (issue 16, "one engine, many clients"): with `pixel-detective serve`
running (a real subprocess, real HTTP on 127.0.0.1), `search`, `duplicates`, `index`, `status` and `export-db`
run in the served process and print what they print locally, with the same exit codes; without an owner (or
with the stale endpoint file of one that died) they open the engine themselves as before.

One served process is shared by the module's tests; they run in order. About 75 s of CPU with ~20 CLI
processes, so `slow`; `test_clients_smoke.py` keeps a quick check in the default run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.api import endpoint
from tests.bridge.conftest import make_photos
from tests.model_factory import TINY_MODEL_ID

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _env(data_dir: Path, bridge: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PIXEL_DETECTIVE_DATA_DIR": str(data_dir),
        "PIXEL_DETECTIVE_BRIDGE_DIR": str(bridge),
        "PIXEL_DETECTIVE_MODEL": TINY_MODEL_ID,
        "PIXEL_DETECTIVE_WORKERS": "2",
        "PIXEL_DETECTIVE_BATCH_SIZE": "8",
    }


class Lib:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.bridge = root / "lr-bridge"  # not "bridge": the tests run commands from root
        self.photos = root / "photos"
        self.more = root / "more"
        self.serve: subprocess.Popen[str] | None = None

    def pd(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bridge", *args], env={**_env(self.data, self.bridge),
                              **(env or {})}, capture_output=True, text=True, timeout=240)  # fmt: skip


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory, tiny_models_dir: Path) -> Iterator[Lib]:
    lib = Lib(tmp_path_factory.mktemp("clients"))
    lib.data.mkdir(mode=0o700)
    shutil.copytree(tiny_models_dir, lib.data / "models")
    make_photos(lib.photos, 10)
    shutil.copy(lib.photos / "gen_00003.jpg", lib.photos / "copy_of_3.jpg")  # an exact duplicate
    make_photos(lib.more, 4, seed=7)
    yield lib
    if lib.serve is not None and lib.serve.poll() is None:
        lib.serve.kill()
        lib.serve.communicate()


def _start_serve(lib: Lib) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve"], env=_env(lib.data, lib.bridge),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while endpoint.read(lib.data) is None:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "serve published no endpoint"
        time.sleep(0.1)
    return proc


LOCAL: dict[str, subprocess.CompletedProcess[str]] = {}
QUERIES = {
    "search": ("search", "a colourful photo", "-n", "5"),
    "search_json": ("search", "a colourful photo", "-n", "5", "--json"),
    "like": ("search", "--like", "photos/gen_00002.jpg", "-n", "3"),
    "where": ("search", "--where", "width>=10", "-n", "50"),
    "duplicates": ("duplicates", "--kind", "exact"),
    "status": ("status",),
}


def _run(lib: Lib, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    cwd = os.getcwd()
    os.chdir(lib.root)  # `--like photos/…` is relative: the owner must get it absolute
    try:
        return lib.pd(*args)
    finally:
        os.chdir(cwd)


def test_local_first_no_owner_no_endpoint(lib):
    r = lib.pd("index", str(lib.photos), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["files_seen"] == 11
    for name, args in QUERIES.items():
        LOCAL[name] = _run(lib, args)
        assert LOCAL[name].returncode == 0, (name, LOCAL[name].stderr)
    assert not endpoint.path(lib.data).exists()


def test_commands_run_in_the_serving_process_with_the_same_output(lib):
    lib.serve = _start_serve(lib)
    found = endpoint.read(lib.data)
    assert found is not None and found.pid == lib.serve.pid and found.url.startswith("http://127.0.0.1:")
    assert endpoint.path(lib.data).stat().st_mode & 0o777 == 0o600
    for name, args in QUERIES.items():
        r = _run(lib, args)
        assert r.returncode == LOCAL[name].returncode, (name, r.stderr)
        assert r.stdout == LOCAL[name].stdout, name
        assert "another Pixel Detective process" not in r.stderr


def test_index_as_a_client_streams_progress_and_ends_like_a_local_run(lib):
    r = lib.pd("index", str(lib.more), env={"PIXEL_DETECTIVE_PROGRESS": "1"})
    assert r.returncode == 0, r.stderr
    assert "indexing in `pixel-detective serve`" in r.stderr
    assert "completed: 4 files seen, 4 new/changed, 4 embedded" in r.stderr
    assert "4/4" in r.stderr  # the bar, fed by the owner's progress events
    r = lib.pd("index", str(lib.more), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["unchanged"] == 4
    status = json.loads(lib.pd("status", "--json").stdout)
    assert status["files"] == 15
    # what the owner cannot do for us: exit 75 with a line that says why
    r = lib.pd("index", str(lib.more), "--rebuild-embeddings")
    assert r.returncode == 75 and "--rebuild-embeddings needs the index to itself" in r.stderr
    assert "`pixel-detective serve`" in r.stderr
    r = lib.pd("index", "does-not-exist")
    assert r.returncode == 1 and "not found" in r.stderr  # checked before anything is sent


def test_ctrl_c_on_a_client_index_cancels_its_job_in_the_owner(lib, tmp_path):
    import httpx

    found = endpoint.read(lib.data)
    assert found is not None
    api = httpx.Client(base_url=f"{found.url}/api/v1", headers={"Authorization": f"Bearer {found.token}"},
                       trust_env=False)  # fmt: skip
    held = make_photos(tmp_path / "held", 3, seed=11)
    first = api.post("/local/index", json={"roots": [str(held[0].parent)]}).json()["job"]["job"]
    api.post(f"/jobs/{first}/pause")  # the owner's queue is held: the client's job waits behind it
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "index", str(lib.more)], env=_env(lib.data, lib.bridge),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any(j["status"] == "queued" and j["job"] != first for j in api.get("/jobs").json()):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "the job was cancelled before it started" in err
    mine = [j["job"] for j in api.get("/jobs").json() if j["job"] != first][-1]
    api.post(f"/jobs/{first}/resume")
    deadline = time.monotonic() + 120
    while api.get(f"/jobs/{mine}").json()["status"] != "cancelled":  # dropped when the queue reaches it
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert api.get(f"/jobs/{first}").json()["status"] == "completed"
    api.close()


def test_export_db_as_a_client_and_import_refused(lib, tmp_path):
    archive = tmp_path / "index.tar.gz"
    r = lib.pd("export-db", str(archive))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("exported 17 vectors in 1 collection(s) to ")  # 10 + 4 + the 3 held
    assert archive.is_file() and archive.stat().st_size > 0
    r = lib.pd("import-db", str(archive), "--force")
    assert r.returncode == 75 and "import-db needs the index to itself" in r.stderr


def test_stopped_owner_removes_its_endpoint_and_a_stale_one_is_ignored(lib):
    assert lib.serve is not None
    lib.serve.send_signal(signal.SIGINT)
    _, err = lib.serve.communicate(timeout=60)
    assert lib.serve.returncode == 0, err
    assert not endpoint.path(lib.data).exists()
    # a file left by an owner that died: its pid is gone
    endpoint.path(lib.data).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": 2**22 + 12345,
                                                   "token": "x", "purpose": "old"}))  # fmt: skip
    r = _run(lib, QUERIES["search"])  # the index grew since LOCAL: 5 hits, run here (no owner to ask)
    assert r.returncode == 0 and r.stdout.count("\n") == 6, r.stderr
    # a live pid (this test) but nothing of ours answers there: local as well
    endpoint.path(lib.data).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": os.getpid(),
                                                   "token": "x", "purpose": "old"}))  # fmt: skip
    r = _run(lib, QUERIES["where"])
    assert r.returncode == 0 and r.stdout.count("\n") == 18, r.stderr  # header + 17 contents (a copy is one)
