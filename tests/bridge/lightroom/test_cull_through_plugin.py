"""`cull --write lightroom`: the decisions go into the catalog Lightroom has open, through the plug-in — the
running owner's link (its local API, `routes/local_cull.py`) or, with no owner, a link the command opens for
the moment — and long collections go in pieces under the frame cap. Real service, real sockets, the plug-in
simulator on the Lightroom side, the CLI as a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.api.server import ClientEndpoint
from bridge.lightroom import Service
from bridge.lightroom.cullwrite import COLLECTION_PICKS, send_decisions
from bridge.lightroom.protocol import MAX_FRAME
from tests.bridge.cli.test_cli import pd
from tests.bridge.lightroom.conftest import FAST
from tests.bridge.lightroom.plugin_sim import PluginSim


def _by_type(sim: PluginSim) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for frame in sim.seen.pushes:
        out.setdefault(frame["type"], []).append(frame["body"])
    return out


def test_cull_write_lightroom_runs_in_the_owner_and_sends_through_its_link(
    settings, indexed, service, sim, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients = ClientEndpoint(indexed, "the test owner")
    clients.attach_lightroom(service)
    monkeypatch.setenv("PIXEL_DETECTIVE_MODEL", settings.model)
    mine, pick = photos / "gen_00003.jpg", photos / "gen_00005.jpg"
    try:
        args = (
            "cull",
            str(photos),
            "--reject",
            str(mine),
            "--pick",
            str(pick),
            "--write",
            "lightroom",
            "--json",
        )
        r = pd(settings.data_dir, *args)
    finally:
        clients.close()
    out = json.loads(r.stdout)
    assert out["written"]["through"] == "lightroom" and out["written"]["applied"] == 12
    by_path = {p["path"]: p for p in out["photos"]}
    assert (
        by_path[str(mine)]["decision"] == "reject" and by_path[str(mine)]["overridden"]
    )  # kept by the owner
    assert by_path[str(pick)]["decision"] == "pick"
    pushes = _by_type(sim)
    applied = {ph["path"]: ph for body in pushes["apply"] for ph in body["photos"]}
    assert (
        len(applied) == 12 and applied[str(mine)]["pick"] == -1 and applied[str(pick)]["pick"] == 1
    )  # flags
    shown = {b["name"]: b for b in pushes["show_collection"]}
    rejects = [p for p, r in by_path.items() if r["decision"] == "reject"]
    assert shown["Pixel Detective: rejects"]["paths"] == rejects and str(pick) not in rejects
    assert str(pick) in shown[COLLECTION_PICKS]["paths"]
    assert shown[COLLECTION_PICKS]["show"] is True  # the picks collection is the one left on screen
    assert all(not b["show"] for n, b in shown.items() if n != COLLECTION_PICKS)


def test_cull_write_lightroom_without_an_owner_opens_its_own_link(
    settings, indexed, bridge_dir: Path, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexed.close()  # no owner: the command opens the engine, then a link of its own
    monkeypatch.setenv("PIXEL_DETECTIVE_MODEL", settings.model)
    with PluginSim(bridge_dir) as sim:
        r = pd(settings.data_dir, "cull", str(photos), "--write", "lightroom")
        assert "sent to Lightroom through the plug-in: 12 photo(s) set" in r.stdout
        assert len({ph["path"] for b in _by_type(sim)["apply"] for ph in b["photos"]}) == 12
    # Lightroom not running (no plug-in listening): a clear error, exit 1, the decisions kept
    r = pd(settings.data_dir, "cull", str(photos), "--write", "lightroom", check=False)
    assert r.returncode == 1 and "plug-in did not connect" in r.stderr and "Traceback" not in r.stderr


def test_long_collections_go_in_pieces_under_the_frame_cap(settings, indexed, bridge_dir: Path) -> None:
    svc = Service(settings, indexed, directory=bridge_dir, timeouts=FAST).start()
    try:
        with PluginSim(bridge_dir, features=("chunks",)) as sim:
            assert sim.wait_connected(20) and svc.wait_connected(10)
            rejects = [
                f"/Volumes/Shoot 2024/{'very long folder name ' * 3}/IMG_{i:06d}.CR3" for i in range(12_000)
            ]
            photos = [{"path": p, "pick": -1} for p in rejects]
            result = send_decisions(svc, photos, {"Pixel Detective: rejects": rejects, COLLECTION_PICKS: []})
            pushes = _by_type(sim)
    finally:
        svc.stop()
    assert len(pushes["apply"]) > 1 and result["applied"] == 0  # the sim's files do not exist: all missing
    assert len(result["missing"]) == 12_000
    pieces = pushes["show_collection"]
    assert len(pieces) > 1 and [b["append"] for b in pieces] == [False] + [True] * (len(pieces) - 1)
    assert [p for b in pieces for p in b["paths"]] == rejects  # every path once, in order
    assert all(len(json.dumps(b).encode()) < MAX_FRAME for b in pieces + pushes["apply"])
    assert result["collections"] == {
        "Pixel Detective: rejects": 12_000
    }  # the empty picks collection is not sent
