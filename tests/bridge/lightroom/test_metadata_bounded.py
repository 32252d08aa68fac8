"""The `metadata` request does work bounded by the request, not by the index (it once ran a kNN search
per indexed photo and hashed every duplicate candidate in the library: 55 s on a large index).

Counted, not timed: the SQL statements the handler runs and the vector store calls it makes (none), for the same
three photos, on the index as built and on the same index grown by 40 more photos."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bridge.lightroom import protocol as p
from bridge.lightroom.handlers import Handlers
from tests.bridge.conftest import make_photos
from tests.bridge.lightroom.plugin_sim import Frames


def _counting(store: Any, calls: Counter, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("search", "retrieve", "scroll", "count"):
        real: Callable[..., Any] = getattr(store, name)

        def spy(*a: Any, _real: Callable[..., Any] = real, _name: str = name, **kw: Any) -> Any:
            calls[_name] += 1
            return _real(*a, **kw)

        monkeypatch.setattr(store, name, spy)


def _work(
    handlers: Handlers, paths: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[Counter, list[str], dict]:
    host = handlers.host
    led = host.reader()  # this thread's connection: the one the handler uses when called here
    sql: list[str] = []
    calls: Counter = Counter()
    with monkeypatch.context() as m:
        _counting(host.engine.store(), calls, m)
        led.db.conn.set_trace_callback(sql.append)
        try:
            body = p.validate_body("metadata", {"paths": paths})
            out = Frames()
            handlers.metadata(body, p.Frame("metadata", {}), out)()  # type: ignore[arg-type]
        finally:
            led.db.conn.set_trace_callback(None)
    ((reply,),) = [[f.body for f in out.sent]]
    return calls, sql, reply


def test_metadata_work_does_not_grow_with_the_index(indexed, tmp_path: Path, monkeypatch) -> None:
    lib = tmp_path / "lib"
    make_photos(lib, 3, seed=21)
    shutil.copy(lib / "gen_00000.jpg", lib / "copy.jpg")  # an exact pair inside the request
    assert indexed.submit([lib]).finished.wait(120)
    paths = sorted(str(x) for x in lib.iterdir())
    pool = ThreadPoolExecutor(1)
    handlers = Handlers(indexed, pool)
    try:
        small_calls, small_sql, small = _work(handlers, paths, monkeypatch)
        more = make_photos(tmp_path / "more", 40, size=(64, 48), seed=22)
        job = indexed.submit([tmp_path / "more"])
        assert job.finished.wait(180) and job.status == "completed" and len(more) == 40
        big_calls, big_sql, big = _work(handlers, paths, monkeypatch)
    finally:
        handlers.close()
        pool.shutdown()
    assert small == big  # same answer
    groups = {ph["path"]: ph["duplicate_group"] for ph in big["photos"]}
    assert groups[str(lib / "copy.jpg")] == groups[str(lib / "gen_00000.jpg")] is not None
    assert len(big_sql) == len(small_sql) <= 12, big_sql  # a few batched IN (...) queries
    assert big_calls == small_calls == Counter(), big_calls  # no store call at all (no kNN, no crop search)
    assert not any("FROM files WHERE fingerprint IS NOT NULL" in q for q in big_sql)  # no whole-index read


def test_metadata_carries_the_cull_decision_for_the_metadata_provider(indexed, tmp_path: Path, monkeypatch) -> None:
    """What `pixel-detective cull` stored reaches the plugin as eyes_open, face_count, cull_rank and
    cull_reason (the metadata provider's fields); a photo never culled gets none of them."""
    from bridge.state import culling
    from bridge.state.ledger import Ledger

    lib = tmp_path / "lib"
    make_photos(lib, 2, seed=31)
    assert indexed.submit([lib]).finished.wait(120)
    culled, other = sorted(str(x) for x in lib.iterdir())
    led = Ledger(indexed.settings.ledger_path)
    try:
        culling.store(led, [{"path": culled, "group_id": "g1", "group_kind": "burst", "group_size": 3,
                             "rank": 2, "score": 0.4, "decision": "reject", "reasons": ["eyes_closed"],
                             "sentence": "Rejected: eyes closed.", "eyes_open": 0.12, "face_count": 1}],
                      "test")  # fmt: skip
    finally:
        led.close()
    handlers = Handlers(indexed, ThreadPoolExecutor(1))
    try:
        _, _, reply = _work(handlers, [culled, other], monkeypatch)
    finally:
        handlers.close()
    photos = {ph["path"]: ph for ph in reply["photos"]}
    assert photos[culled]["cull_rank"] == 2 and photos[culled]["cull_reason"] == "Rejected: eyes closed."
    assert photos[culled]["eyes_open"] == 0.12 and photos[culled]["face_count"] == 1
    assert "cull_rank" not in photos[other]
