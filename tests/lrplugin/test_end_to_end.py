"""The plugin (under the SDK stand-in) against the real service and the real engine with the tiny model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.engine import Engine
from bridge.search.query import search, text_vector
from tests.bridge.conftest import make_photos, settings, tiny_models_dir  # noqa: F401  (fixtures)
from tests.lrplugin.conftest import bridge_dir, start_bridge
from tests.lrplugin.harness import Harness

try:
    from bridge.lightroom import Service

    AVAILABLE = True
except ImportError:  # the service is built alongside the plugin
    AVAILABLE = False

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="bridge.lightroom.Service is not available yet")


@pytest.fixture
def photos(settings: Any, tmp_path: Path) -> list[Path]:  # noqa: F811
    paths = make_photos(tmp_path / "photos", 12)
    with Engine.open(settings) as engine:
        engine.index([str(tmp_path / "photos")])
    return paths


@pytest.fixture
def live(harness: Harness, home: Path, settings: Any, photos: list[Path]) -> Iterator[tuple[Harness, Any]]:  # noqa: F811
    harness.add_photos(photos)
    start_bridge(harness)
    service = Service(settings, directory=bridge_dir(home)).start()
    try:
        harness.run_until(
            lambda: harness.lua.globals().require("Bridge").isConnected(), 20, "service connected"
        )
        yield harness, service
    finally:
        service.stop()


def call_service(h: Harness, fn: Any, *args: Any, **kw: Any) -> Any:
    """Run a blocking service call on a thread while this thread drives the plugin (lupa is single-threaded)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kw)
        except BaseException as e:  # handed back to the test
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    h.run_until(lambda: not t.is_alive(), 30, what=getattr(fn, "__name__", "service call"))
    if "error" in box:
        raise box["error"]
    return box["value"]


def run_menu(h: Harness, name: str, done: Any, timeout: float = 30.0) -> None:
    h.run_file(name)
    h.run_until(done, timeout, what=name)
    h.run_for(0.1)


def test_search_makes_ordered_collection(live: tuple[Harness, Any], settings: Any) -> None:  # noqa: F811
    h, service = live
    query = "a red photo"
    service.stop()  # read the index directly for the expected ranking, then reconnect
    with Engine.open(settings) as engine:
        expected = [str(r.path) for r in search(engine, text_vector(engine, query), limit=5, text=query)]
    service2 = Service(settings, directory=service.directory).start()
    try:
        h.run_until(lambda: h.lua.globals().require("Bridge").isConnected(), 20, "reconnect")

        def answer(args: Any) -> str:
            props = args.contents.bind_to_object
            props.query, props.limit = query, 5
            return "ok"

        h.answer_dialogs(answer)
        run_menu(h, "SearchDialog.lua", lambda: h.collections())
        name = f"Pixel Detective: {query}"
        assert h.collections()[name] == expected
        assert h.selection() == expected
        assert h.errors() == []
    finally:
        service2.stop()


def test_apply_metadata_twice_no_duplicate_keywords(live: tuple[Harness, Any], photos: list[Path]) -> None:
    h, service = live
    call_service(h, service.wait_connected, 10)
    items = [
        {
            "path": str(photos[0]),
            "keywords": ["Places|Europe|Lisbon", "Places|Europe|Porto"],
            "caption": "A tram",
            "rating": 4,
            "pick": 1,
        },
        {"path": str(photos[1]), "keywords": ["Places|Europe|Lisbon"], "rating": 0},
    ]
    for _ in range(2):
        result = call_service(h, service.push_apply, items, overwrite_caption=False)
        assert result["applied"] == 2 and result["missing"] == []
    assert h.keyword_tree() == {"Places": {"Europe": {"Lisbon": {}, "Porto": {}}}}
    assert sorted(h.photo_keywords(photos[0])) == ["Places|Europe|Lisbon", "Places|Europe|Porto"]
    p0 = h.photo(photos[0]).raw
    assert (p0.caption, p0.rating, p0.pickStatus) == ("A tram", 4, 1)
    assert h.photo(photos[1]).raw.rating is None
    assert h.errors() == []


def test_apply_puts_new_keyword_trees_under_the_keyword_parent(
    live: tuple[Harness, Any], photos: list[Path]
) -> None:
    """As `catalog write` does: a tree the catalog already has is reused in place, a new one goes under the
    user's keyword parent."""
    h, service = live
    call_service(h, service.wait_connected, 10)
    first = [{"path": str(photos[0]), "keywords": ["Places|Europe|Lisbon"]}]
    call_service(h, service.push_apply, first)
    items = [{"path": str(photos[1]), "keywords": ["Places|Europe|Porto", "Subjects|Animals|Dog"]}]
    for _ in range(2):
        result = call_service(h, service.push_apply, items, keyword_parent="Pixel Detective")
        assert result["applied"] == 1
    assert h.keyword_tree() == {
        "Places": {"Europe": {"Lisbon": {}, "Porto": {}}},
        "Pixel Detective": {"Subjects": {"Animals": {"Dog": {}}}},
    }
    assert h.errors() == []


def test_apply_menu_uses_metadata_reply(live: tuple[Harness, Any], photos: list[Path]) -> None:
    h, _ = live
    h.select(photos[:3])
    run_menu(h, "ApplyMetadata.lua", lambda: any(s["kind"] in ("bezel", "message") for s in h.shown()), 60)
    shown = h.shown()
    assert shown and shown[-1]["kind"] == "bezel", shown
    assert h.photo(photos[0]).pluginProps.pd_analyzedAt
    tree = h.keyword_tree()
    assert not any("#" in k for k in _all_keys(tree)), tree
    assert h.errors() == []


def _all_keys(tree: dict[str, Any]) -> list[str]:
    return [k for name, sub in tree.items() for k in [name, *_all_keys(sub)]]


def test_analyze_reports_progress(live: tuple[Harness, Any], photos: list[Path]) -> None:
    h, _ = live
    h.select(photos[:4])
    run_menu(h, "AnalyzeSelected.lua", lambda: any(s["kind"] == "bezel" for s in h.shown()), 60)
    scope = h.sdk.progress[1]
    assert scope.finished
    assert "completed" in h.shown()[-1]["title"]
    assert h.errors() == []


def test_find_similar(live: tuple[Harness, Any], photos: list[Path]) -> None:
    h, _ = live
    h.select(photos[:1])
    run_menu(h, "FindSimilar.lua", lambda: h.collections())
    ((name, paths),) = h.collections().items()
    assert name.startswith("Pixel Detective: similar to")
    assert paths and str(photos[0]) not in paths
    assert h.errors() == []


def test_apply_fills_the_culling_fields_of_the_metadata_provider(
    live: tuple[Harness, Any], photos: list[Path], settings: Any  # noqa: F811
) -> None:
    """A photo `pixel-detective cull` decided gets pd_cullRank, pd_cullReason, pd_eyesOpen, pd_faceCount in
    Lightroom (smart collections are built on them); one never culled gets none."""
    from bridge.state import culling
    from bridge.state.ledger import Ledger

    h, _ = live
    led = Ledger(settings.ledger_path)
    try:
        culling.store(led, [{"path": str(photos[0]), "group_id": "g", "group_kind": "burst", "group_size": 2,
                             "rank": 1, "score": 0.9, "decision": "pick", "reasons": ["sharpest_in_burst"],
                             "sentence": "Pick: sharpest in burst.", "eyes_open": 0.97, "face_count": 2}],
                      "test")  # fmt: skip
    finally:
        led.close()
    h.select(photos[:2])
    run_menu(h, "ApplyMetadata.lua", lambda: any(s["kind"] in ("bezel", "message") for s in h.shown()), 60)
    props = h.photo(photos[0]).pluginProps
    assert (props.pd_cullRank, props.pd_cullReason) == ("1", "Pick: sharpest in burst.")
    assert (props.pd_eyesOpen, props.pd_faceCount) == ("0.970", "2")
    assert h.photo(photos[1]).pluginProps.pd_cullRank is None
    assert h.errors() == []
