"""Search results carry the cull decision: `cull` (pick / reject / undecided) and the flag a photographer knows
(`pick` 1 / -1, what the desktop's badges draw), for vector and metadata-only searches alike; photos never
culled carry neither. Real engine, real ledger, real Qdrant Edge."""

from __future__ import annotations

from bridge.engine import Engine
from bridge.search.query import metadata_search, search, text_vector
from bridge.state import culling
from tests.bridge.conftest import make_photos


def test_results_carry_the_cull_decision_as_a_flag(settings, tmp_path) -> None:
    photos = [str(p) for p in make_photos(tmp_path / "p", 4)]
    with Engine.open(settings) as engine:
        engine.index([str(tmp_path / "p")])
        culling.set_override(engine.ledger, [photos[0]], "pick")
        culling.set_override(engine.ledger, [photos[1]], "reject")
        culling.set_override(engine.ledger, [photos[2]], "undecided")
        by_vector = {r.path: r.fields for r in search(engine, text_vector(engine, "a photo"), limit=10)}
        by_metadata = {r.path: r.fields for r in metadata_search(engine, None, limit=10)}
    for found in (by_vector, by_metadata):
        assert found[photos[0]]["cull"] == "pick" and found[photos[0]]["pick"] == 1
        assert found[photos[1]]["cull"] == "reject" and found[photos[1]]["pick"] == -1
        assert found[photos[2]]["cull"] == "undecided" and "pick" not in found[photos[2]]
        assert "cull" not in found[photos[3]] and "pick" not in found[photos[3]]
