"""The ledger's cull table: results stored, overrides never overwritten by a re-run (real SQLite ledger, the
production `cull_ledger` path over rows an index would hold)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bridge.analyses.culling import CullOptions
from bridge.search.cull import cull_ledger, under
from bridge.state import culling as state
from bridge.state.ledger import Ledger


def _fill(ledger: Ledger, folder: str, sharpness: list[float]) -> list[str]:
    now = time.time()
    paths = []
    with ledger.write() as conn:
        for i, sharp in enumerate(sharpness):
            fp, path = f"fp{i}", f"{folder}/IMG_{i}.jpg"
            ts = 1_700_000_000.0 + 0.2 * i
            md = {"camera_make": "Nikon", "camera_model": "Z 8", "captured_ts": ts,
                  "captured_at": f"2023-11-14T22:13:20.{2 * i}0", "subsec_time_original": f"{2 * i}0"}  # fmt: skip
            conn.execute(
                "INSERT INTO files (path, root, size, mtime_ns, fingerprint, seen_scan, added_at, updated_at) "
                "VALUES (?, ?, 1, 1, ?, 1, ?, ?)",
                (path, folder, fp, now, now),
            )
            conn.execute("INSERT INTO content VALUES (?, ?, 'x', ?)", (fp, json.dumps(md), now))
            q = {"q_sharpness": sharp, "q_motion_blur": 0.0, "q_exposure": 0.5}
            conn.execute("INSERT INTO analyses VALUES (?, 'quality', 'q1', ?, ?)", (fp, json.dumps(q), now))
            paths.append(path)
    return paths


def test_overrides_survive_re_runs(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    assert state.rows(ledger) == [] and state.overrides(ledger) == {}
    paths = _fill(ledger, "/shoot", [0.6, 0.9, 0.7, 0.5])
    first = {r.path: r for r in cull_ledger(ledger, under("/shoot"), CullOptions()).results}
    assert first[paths[1]].decision == "pick" and first[paths[1]].group_kind == "burst"
    stored = {r.path: r for r in state.rows(ledger)}
    assert stored[paths[1]].decision == "pick" and "sharpest_in_group" in stored[paths[1]].reasons
    assert stored[paths[1]].rank == 1 and stored[paths[3]].rank == 4

    state.set_override(ledger, [paths[1]], "reject")
    state.set_override(ledger, [paths[3]], "pick")
    for _ in range(2):
        again = {r.path: r for r in cull_ledger(ledger, under("/shoot"), CullOptions(target_share=0.5)).results}
        assert again[paths[1]].decision == "reject" and again[paths[1]].overridden
        assert again[paths[3]].decision == "pick"
        stored = {r.path: r for r in state.rows(ledger)}
        assert stored[paths[1]].decision == "reject" and stored[paths[1]].override == "reject"
        assert stored[paths[3]].decision == "pick" and stored[paths[3]].override == "pick"
    # forgetting hands the photo back to the ranking; the user's pick still fills the group's one slot
    state.set_override(ledger, [paths[1]], None)
    last = {r.path: r for r in cull_ledger(ledger, under("/shoot"), CullOptions()).results}
    assert last[paths[1]].decision == "reject" and not last[paths[1]].overridden
    state.set_override(ledger, [paths[3]], None)
    last = {r.path: r for r in cull_ledger(ledger, under("/shoot"), CullOptions()).results}
    assert last[paths[1]].decision == "pick" and last[paths[3]].decision == "reject"
    with pytest.raises(ValueError):
        state.set_override(ledger, [paths[0]], "maybe")
    ledger.close()
