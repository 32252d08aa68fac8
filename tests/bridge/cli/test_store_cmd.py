"""`pixel-detective store migrate`: a real index (tiny model, generated photos) moved edge → Qdrant → edge
without re-embedding: identical ids, vectors and payloads, the same search results, the settings switched.

The Qdrant side is qdrant-client's local mode (`--to qdrant-local`): no Qdrant server binary can be installed
on these machines. Server-only behaviour (refusing a non-empty collection, unreachable servers) is tested
against small real HTTP servers on 127.0.0.1 (tests/bridge/store/httpfakes.py)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bridge.cli.app import app
from bridge.engine import Engine
from bridge.settings import DATA_DIR_STORE_FILE, Settings, load_settings
from bridge.store import Point
from bridge.store.edge import EdgeStore
from tests.bridge.conftest import make_photos
from tests.bridge.store.httpfakes import error, fake_qdrant, ok, refused_url


@pytest.fixture
def indexed(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PIXEL_DETECTIVE_MODEL", settings.model)
    make_photos(tmp_path / "photos", 10)
    with Engine.open(settings) as engine:
        assert engine.index([str(tmp_path / "photos")]).embedded == 10
    return settings


def snapshot(settings: Settings) -> tuple[dict, list]:
    """Every point (payload, vector) and the top-5 of three searches, through the engine's own store."""
    with Engine.open(settings, own=False) as engine:
        store = engine.store()
        points = {pid: (payload, vec) for pid, payload, vec in store.scroll(with_vectors=True)}
        queries = [points[pid][1] for pid in sorted(points)[:3]]
        results = [[(h.id, round(h.score, 5)) for h in store.search(q, limit=5)] for q in queries]
        kind = type(store).__name__
    return {"kind": kind, "points": points}, results


def same_points(a: dict, b: dict) -> None:
    assert a["points"].keys() == b["points"].keys()
    for pid, (payload, vec) in a["points"].items():
        assert b["points"][pid][0] == payload
        np.testing.assert_allclose(b["points"][pid][1], vec, atol=1e-6)


def migrate(*args: str, code: int = 0) -> str:
    r = CliRunner().invoke(app, ["store", "migrate", *args])
    assert r.exit_code == code, r.output
    return r.output


def test_round_trip_edge_qdrant_edge_keeps_everything(indexed: Settings):
    before, found_before = snapshot(indexed)
    assert before["kind"] == "EdgeStore"

    report = json.loads(migrate("--to", "qdrant-local", "--json"))
    assert report["switched"] and [c["copied"] for c in report["collections"]] == [10]
    assert json.loads((indexed.data_dir / DATA_DIR_STORE_FILE).read_text())["store"] == "qdrant"
    assert load_settings().store == "qdrant"  # what every command now opens
    middle, found_middle = snapshot(indexed)
    assert middle["kind"] == "RemoteStore"
    same_points(before, middle)
    assert found_middle == found_before

    # The user removes the embedded source after the first move; the way back rebuilds it from the server.
    shutil.rmtree(indexed.store_dir / report["collections"][0]["name"])
    out = migrate("--to", "edge")
    assert "10 points copied and verified" in out and "was left as it was" in out
    after, found_after = snapshot(indexed)
    assert after["kind"] == "EdgeStore"
    same_points(before, after)
    assert found_after == found_before


def test_an_older_copy_in_the_target_is_brought_up_to_date(indexed: Settings):
    """Move to Qdrant, then back onto the embedded source that is still there, which meanwhile got a stray
    point and lost one: the move upserts every point and deletes the stray one."""
    before, _ = snapshot(indexed)
    migrate("--to", "qdrant-local")
    name = collection = next(p.name for p in indexed.store_dir.iterdir() if p.name.startswith("pd_v"))
    stray = str(uuid.uuid4())
    with EdgeStore.open(
        indexed.store_dir, collection=collection, dim=len(next(iter(before["points"].values()))[1])
    ) as old:
        old.upsert([Point(stray, np.ones(old.dim), {"path": "/gone.jpg"})])
        old.delete([sorted(before["points"])[0]])
    report = json.loads(migrate("--to", "edge", "--json"))
    (c,) = report["collections"]
    assert (c["name"], c["already_there"], c["copied"], c["removed"]) == (name, 10, 10, 1)
    after, _ = snapshot(indexed)
    same_points(before, after)


def test_dry_run_writes_nothing(indexed: Settings):
    out = migrate("--to", "qdrant-local", "--dry-run")
    assert "10 points would be copied (new)" in out and "nothing written" in out
    assert not (indexed.data_dir / DATA_DIR_STORE_FILE).exists()
    assert not (indexed.store_dir / "collection").exists()  # local mode's collections folder


def test_moving_to_the_store_in_use_is_refused(indexed: Settings):
    assert "already uses the embedded store" in migrate("--to", "edge", code=1)


def test_an_unreachable_server_fails_before_anything_switches(indexed: Settings, monkeypatch):
    monkeypatch.setenv("PIXEL_DETECTIVE_QDRANT_RETRIES", "0")
    url = refused_url()
    out = migrate("--to", url.replace("http://", "qdrant://"), code=1)
    assert f"cannot reach the Qdrant server at {url}" in " ".join(out.split())
    assert not (indexed.data_dir / DATA_DIR_STORE_FILE).exists()


def test_a_server_collection_with_points_is_not_overwritten_without_replace(indexed: Settings, monkeypatch):
    monkeypatch.setenv("PIXEL_DETECTIVE_QDRANT_RETRIES", "0")

    def script(method, path, body):  # a server where another index already lives
        if path.endswith("/exists"):
            return ok({"exists": True})
        if path.endswith("/points/count"):
            return ok({"count": 42})
        return error(500, "not expected in this test")

    with fake_qdrant(script) as (url, rec):
        out = " ".join(migrate("--to", url, code=1).split())
    assert "already holds 42 points" in out and "--replace" in out
    assert all(method != "PUT" for method, _, _ in rec.requests)  # nothing created or written


def test_bad_target():
    assert "is not a store" in migrate("--to", "ftp://x", code=1)


def test_the_environment_still_wins_and_the_command_says_so(indexed: Settings, monkeypatch):
    monkeypatch.setenv("PIXEL_DETECTIVE_STORE", "edge")
    out = migrate("--to", "qdrant-local")
    assert "PIXEL_DETECTIVE_STORE" in out and "still points the index at another store" in out
    assert load_settings().store == "edge"
