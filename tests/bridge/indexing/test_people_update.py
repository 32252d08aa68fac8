"""Two placement passes at once (the indexer's after a run and the tray's People view) make each new person
once: `update` runs one pass at a time. Real ledger with stored `faces` analyses; the real clustering step is
slowed down to widen the window in which two passes would both see the same faces unplaced."""

from __future__ import annotations

import threading
import time

from bridge.indexing import people as placement
from bridge.records import ScannedFile, Stage
from bridge.state.ledger import Ledger
from bridge.state.rows import AnalysisResult


def test_concurrent_passes_make_each_person_once(tmp_path, monkeypatch) -> None:
    real_assign = placement.assign

    def slow_assign(*a, **kw):
        time.sleep(0.3)  # both passes would be here at once without the lock
        return real_assign(*a, **kw)

    monkeypatch.setattr(placement, "assign", slow_assign)
    led = Ledger(tmp_path / "ledger.sqlite")
    two_people = [[1.0, 0.0, 0.0]] * 3 + [[0.0, 1.0, 0.0]] * 3  # three faces of each, one face a photo
    led.record_scanned([ScannedFile(f"/p/{i}.jpg", 1, 1, "/p", f"fp{i}") for i in range(6)], scan_id=1)
    led.commit_batch(
        analyses=[
            AnalysisResult(f"fp{i}", Stage.FACES, "faces-test", {"faces": [{"embedding": emb}]})
            for i, emb in enumerate(two_people)
        ]
    )
    try:
        reports = []
        threads = [
            threading.Thread(target=lambda: reports.append(placement.update(led, None, 0.6)))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        people = led.db.conn.execute("SELECT count(*) FROM people").fetchone()[0]
        placed = led.db.conn.execute("SELECT count(DISTINCT person_id) FROM person_faces").fetchone()[0]
    finally:
        led.close()
    assert sorted(r.new_people for r in reports) == [0, 2]  # the second pass found them placed
    assert people == 2 and placed == 2
