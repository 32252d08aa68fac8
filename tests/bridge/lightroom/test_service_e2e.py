"""End to end through real sockets: plugin simulator ⇄ Service ⇄ EngineHost (tiny real CLIP model)."""

from __future__ import annotations

import shutil
import time

import pytest

from bridge.lightroom import NotConnected, PluginError, Service
from bridge.lightroom.changes import changes_from_index, score_rules
from bridge.search.query import search, text_vector
from tests.bridge.conftest import make_photos
from tests.bridge.lightroom.conftest import FAST
from tests.bridge.lightroom.plugin_sim import PluginSim


def test_status_and_search_match_the_engine(sim, service, indexed, photos):
    st = sim.request("status")
    assert st["type"] == "status.result", st
    assert st["body"]["indexed"] == 12 and st["body"]["vectors"] == 12 and st["body"]["weights_ok"]
    assert st["body"]["running"] is None
    for query in ("a red photo", "blue sky over water", "dog"):
        got = sim.request("search", {"query": query, "limit": 7})
        assert got["type"] == "search.result", got
        vec = text_vector(indexed.engine, query)
        direct = search(indexed.engine, vec, limit=7, text=query, ledger=indexed.reader())
        assert [r["path"] for r in got["body"]["results"]] == [h.path for h in direct]
        assert [r["rank"] for r in got["body"]["results"]] == list(range(1, 8))
    like = sim.request("similar", {"paths": [str(photos / "gen_00003.jpg")], "limit": 4})
    assert like["type"] == "similar.result"
    paths = [r["path"] for r in like["body"]["results"]]
    assert len(paths) == 4 and str(photos / "gen_00003.jpg") not in paths
    status = service.status()
    assert status["lightroom_connected"] and status["requests_served"] >= 5
    assert status["plugin"]["catalog"] == "/tmp/sim.lrcat"


def test_request_errors_get_one_error_reply_each(sim):
    assert sim.request("search", {"query": "x", "where": "nonsense ~~ 3"})["body"]["code"] == "bad_request"
    assert sim.request("search", {"query": 3})["body"]["code"] == "bad_request"
    assert sim.request("erase_catalog")["body"]["code"] == "unknown_type"
    assert sim.request("apply", {"photos": [{"path": "/a"}]})["body"]["code"] == "unknown_type"
    assert sim.request("similar", {"paths": ["/no/such.jpg"]})["body"]["code"] == "refused"
    assert sim.request("metadata", {"paths": ["/a"], "rules": ["blah"]})["body"]["code"] == "bad_request"
    assert sim.request("status")["type"] == "status.result"


def test_analyze_streams_progress_then_done(sim, indexed, tmp_path):
    new = make_photos(tmp_path / "new", 6, seed=7)
    frames = sim.stream("analyze", {"paths": [str(x) for x in new]}, final=("analyze.done",))
    types = [f["type"] for f in frames]
    assert types[0] == "analyze.accepted" and types[-1] == "analyze.done", types
    assert frames[0]["body"]["total"] == 6
    job = frames[0]["body"]["job"]
    progress = [f["body"] for f in frames if f["type"] == "progress"]
    assert progress and all(pr["job"] == job for pr in progress)
    assert frames[-1]["body"]["status"] == "completed" and frames[-1]["body"]["summary"]["embedded"] == 6
    assert sim.request("status")["body"]["indexed"] == 18
    assert sim.request("cancel", {"job": job})["body"] == {"job": job, "cancelled": False}


def test_metadata_and_duplicates(sim, indexed, photos, tmp_path):
    photos = tmp_path / "dups"  # a folder of our own: the session's photos are shared
    make_photos(photos, 4, seed=11)
    shutil.copy(photos / "gen_00001.jpg", photos / "copy_of_1.jpg")
    job = indexed.submit([photos])
    assert job.finished.wait(120) and job.status == "completed"
    paths = sorted(str(x) for x in photos.iterdir())
    rules = ["quality >= 0 -> rating 3", "sharpness < 2 -> pick -1", "quality < -1 -> label Red"]
    got = sim.request("metadata", {"paths": [*paths, "/not/indexed.jpg"], "rules": rules})
    assert got["type"] == "metadata.result", got
    photos_out = {ph["path"]: ph for ph in got["body"]["photos"]}
    assert set(photos_out) == set(paths)  # only indexed photos
    direct = changes_from_index(
        indexed.reader(), paths, keyword_rules=None, score_rules=score_rules(rules, indexed.settings)
    )
    for path, ph in photos_out.items():
        s = direct.get(path)
        assert ph["keywords"] == (list(s.keywords) if s else [])
        assert ph["caption"] == (s.caption if s else None)
        assert ph["scores"] == (s.scores if s else {})
        assert ph["analyzed_at"] and ph["analyzed_at"].endswith("+00:00")
        assert {k: ph[k] for k in ("rating", "label", "pick") if k in ph} == (s.decided if s else {})
        if "quality" in ph["scores"]:
            assert ph["rating"] == 3 and ph["pick"] == -1 and "label" not in ph
    assert any(ph["scores"] for ph in photos_out.values())
    a, b = photos_out[str(photos / "gen_00001.jpg")], photos_out[str(photos / "copy_of_1.jpg")]
    assert a["duplicate_group"] and a["duplicate_group"] == b["duplicate_group"]
    assert photos_out[str(photos / "gen_00002.jpg")]["duplicate_group"] is None
    # restricted to the paths asked about: one half of the pair is no group
    one = sim.request("metadata", {"paths": [str(photos / "gen_00001.jpg")]})
    assert one["body"]["photos"][0]["duplicate_group"] is None

    dups = sim.request("duplicates", {"paths": paths, "kinds": ["exact"]})
    assert dups["type"] == "duplicates.result"
    assert {
        "kind": "exact",
        "paths": sorted([str(photos / "copy_of_1.jpg"), str(photos / "gen_00001.jpg")]),
    } in [{"kind": g["kind"], "paths": sorted(g["paths"])} for g in dups["body"]["groups"]]
    assert sim.request("duplicates", {"paths": paths[:1], "kinds": ["exact"]})["body"]["groups"] == []


def test_push_apply_and_show_collection_round_trip(sim, service, photos):
    photo = str(photos / "gen_00000.jpg")
    res = service.push_apply(
        [
            {"path": photo, "keywords": ["Places|Europe|Lisbon"], "rating": 4, "pick": 1},
            {"path": "/gone.jpg"},
        ],
        overwrite_caption=True,
    )
    assert res == {"applied": 1, "missing": ["/gone.jpg"], "errors": []}
    pushed = sim.seen.pushes[-1]
    assert pushed["type"] == "apply" and pushed["body"]["overwrite_caption"] is True
    assert pushed["body"]["photos"][0]["keywords"] == ["Places|Europe|Lisbon"]
    assert service.show_collection("Pixel Detective: dogs", [photo]) == {
        "collection": "Pixel Detective: dogs",
        "added": 1,
        "missing": [],
    }
    with pytest.raises(Exception) as e:
        service.push_apply([{"path": photo, "rating": 9}])
    assert "rating" in str(e.value)


def test_push_errors(settings, indexed, bridge_dir):
    def broken(body):
        raise RuntimeError("catalog is read-only")

    with Service(settings, indexed, directory=bridge_dir, timeouts=FAST) as svc:
        with pytest.raises(NotConnected):
            svc.push_apply([{"path": "/a.jpg"}])
        with PluginSim(bridge_dir, apply=broken) as sim:
            assert sim.wait_connected(20) and svc.wait_connected(10)
            with pytest.raises(PluginError) as e:
                svc.push_apply([{"path": "/a.jpg"}], timeout=10)
            assert e.value.code == "internal" and "read-only" in e.value.message


def test_a_frame_over_1_mib_is_refused_before_sending(sim, service):
    from bridge.lightroom.protocol import ProtocolError

    photos = [{"path": f"/{i:04d}/" + "x" * 4000} for i in range(400)]  # ~1.6 MB as one apply frame
    with pytest.raises(ProtocolError) as e:
        service.push_apply(photos)
    assert e.value.code == "too_large"
    assert sim.request("status")["type"] == "status.result"  # the session is fine


def test_advertised_status_port_says_little(settings, indexed, bridge_dir):
    import json
    import socket

    with Service(settings, indexed, directory=bridge_dir, timeouts=FAST, advertise=True) as svc:
        assert svc.status_port
        with socket.create_connection(("127.0.0.1", svc.status_port), timeout=5) as s:
            line = s.makefile("rb").readline()
        data = json.loads(line)
        assert data["service"] == "pixel-detective" and data["protocol"] == 2
        assert data["lightroom_connected"] is False
        assert not {"token_file", "port_file", "plugin"} & set(data)
    assert svc.status_port is None


def test_a_big_request_does_not_hold_up_pings(sim, settings):
    # ~60k paths in one metadata request (near the 1 MiB frame cap): handled on the pool, while pings
    # sent after it are answered at once by the reading thread's dispatch.
    paths = [f"/n/{i:06d}.jpg" for i in range(60_000)]
    big = sim.send_request("metadata", {"paths": paths})
    pings = [sim.send_request("ping") for _ in range(3)]
    for rid in pings:
        t = time.monotonic()
        assert sim.wait_reply(rid, 10)[0]["type"] == "pong"
        assert time.monotonic() - t < 5
    assert sim.wait_reply(big, 120)[0]["body"] == {"photos": [], "keyword_parent": settings.keyword_parent}


def test_sync_to_lightroom_pushes_every_indexed_photo_in_batches(sim, service, indexed, photos):
    indexed.settings = indexed.settings.with_overrides(writeback_rules=["quality >= 0 -> label Green"])
    before = len(sim.seen.pushes)
    res = service.sync_to_lightroom(batch=5)
    assert res["photos"] == 12 and res["applied"] == 12 and not res["missing"] and not res["errors"]
    pushes = sim.seen.pushes[before:]
    assert [len(p["body"]["photos"]) for p in pushes] == [5, 5, 2]  # one frame per batch
    sent = {ph["path"]: ph for p in pushes for ph in p["body"]["photos"]}
    assert set(sent) == {str(p) for p in photos.glob("*.jpg")}
    assert all(ph["label"] == "Green" for ph in sent.values())
    # The same conversion as the plugin's Apply and the CLI's --from-index (bridge.lightroom.changes).
    direct = changes_from_index(
        indexed.reader(), sorted(sent), keyword_rules=None, score_rules=score_rules(None, indexed.settings)
    )
    assert sent == {path: ch.apply_photo() for path, ch in direct.items()}
