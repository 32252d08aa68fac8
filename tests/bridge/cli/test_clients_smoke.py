"""The quick check of CLI commands beside a running owner (the full set is `test_clients.py`, slow): with
`pixel-detective serve` running, `index` and `search` run in it (they would exit 75 otherwise), `watch` still
exits 75 saying why, and the endpoint file is gone once it stops."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

from bridge.api import endpoint
from tests.bridge.cli.test_clients import Lib, _start_serve
from tests.bridge.conftest import make_photos

pytestmark = pytest.mark.timeout(240)


def test_index_and_search_beside_serve(tmp_path: Path, tiny_models_dir: Path) -> None:
    lib = Lib(tmp_path)
    lib.data.mkdir(mode=0o700)
    shutil.copytree(tiny_models_dir, lib.data / "models")
    make_photos(lib.more, 4, seed=3)
    lib.serve = _start_serve(lib)
    try:
        r = lib.pd("index", str(lib.more), "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["embedded"] == 4 and "indexing in `pixel-detective serve`" in r.stderr
        r = lib.pd("search", "--where", "width>=10", "--json")
        assert r.returncode == 0, r.stderr
        assert len(json.loads(r.stdout)["results"]) == 4
        r = lib.pd("watch", str(lib.more))  # not run for others: 75, and the line says why
        assert r.returncode == 75 and "this one needs the index to itself" in r.stderr, r.stderr
        lib.serve.send_signal(signal.SIGINT)
        _, err = lib.serve.communicate(timeout=60)
        assert lib.serve.returncode == 0, err
        assert not endpoint.path(lib.data).exists()
    finally:
        if lib.serve.poll() is None:
            lib.serve.kill()
            lib.serve.communicate()
