"""Points missing from the store while the ledger records them as embedded: `doctor` says so, the next
open forgets exactly those files' embed stage, and the next `index` re-embeds exactly them."""

from __future__ import annotations

import json

import pytest

from bridge.engine import Engine
from bridge.indexing.payload import point_id
from bridge.store import open_store
from tests.bridge.conftest import make_photos

pytestmark = pytest.mark.reliability


@pytest.mark.slow  # CI time: the default run keeps the doctor's other checks in test_cli.py; `scripts/test.sh -m slow` runs this
def test_missing_points_reported_by_doctor_and_reembedded(cli, settings, tmp_path):
    folder = tmp_path / "photos"
    make_photos(folder, 30)
    with Engine.open(settings) as engine:
        engine.index([str(folder)])
        fps = sorted(engine.ledger.done_fingerprints("embed", settings.model))
        name, dim = engine.store().name, engine.store().dim
    lost = fps[3:10]
    # Delete the points behind the engine's back (as a half-done import or an old store copy would).
    store = open_store("edge", collection=name, dim=dim, path=settings.store_dir)
    store.delete([point_id(fp, settings.model) for fp in lost])
    store.close()

    r = cli("doctor", "--json")
    checks = {c["check"]: c for c in json.loads(r.stdout)["checks"]}
    store_check = checks[f"store {settings.model}"]
    assert not store_check["ok"] and "missing 7 of the 30" in store_check["detail"], store_check
    with Engine.open(settings) as engine:  # doctor only looked: the ledger still claims all 30
        assert len(engine.ledger.done_fingerprints("embed", settings.model)) == 30

    r = cli("index", str(folder), "--model", settings.model, "--json")
    assert r.returncode == 0, r.stderr
    assert "missing 7 of the 30" in r.stderr  # the user is told why these are embedded again
    assert json.loads(r.stdout)["embedded"] == 7  # exactly the lost ones, nothing else
    with Engine.open(settings) as engine:
        assert set(engine.store().ids()) == {point_id(fp, settings.model) for fp in fps}
        assert engine.notices == []  # repaired: no longer said
    r = cli("doctor", "--json")
    checks = {c["check"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks[f"store {settings.model}"]["ok"], checks
    assert "repair pending" not in checks


def test_store_with_a_batch_more_than_the_ledger_is_consistent(settings, tmp_path):
    """After a crash the store may hold up to one batch the ledger has not recorded: that is no loss."""
    folder = tmp_path / "photos"
    make_photos(folder, 10)
    with Engine.open(settings) as engine:
        engine.index([str(folder)])
        fps = sorted(engine.ledger.done_fingerprints("embed", settings.model))
        engine.ledger.clear_stage_for("embed", settings.model, fps[:2])  # as if not yet recorded
    with Engine.open(settings) as engine:
        assert engine.store().count() == 10
        assert engine.notices == []
        assert len(engine.ledger.done_fingerprints("embed", settings.model)) == 8
