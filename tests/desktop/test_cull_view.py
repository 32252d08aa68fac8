"""The culling view on a real ledger: one row per group with the pick highlighted, reasons on hover, P/X/U
override and the overrides kept by the next cull run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from bridge.analyses.culling import CullOptions
from bridge.search.cull import cull_ledger, under
from bridge.state.ledger import Ledger
from desktop.cull_view import PICK_BG, CullView, LedgerCullSource
from tests.bridge.state.test_culling_state import _fill


def test_groups_pick_highlight_and_keyboard_overrides(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    led = Ledger(path)
    paths = _fill(led, "/shoot", [0.6, 0.9, 0.7])
    cull_ledger(led, under("/shoot"), CullOptions())
    led.close()

    view = CullView(LedgerCullSource(path))
    qtbot.addWidget(view)
    assert view.tree.topLevelItemCount() == 1  # one burst, one row
    top = view.tree.topLevelItem(0)
    assert top.text(0) == "burst of 3" and "IMG_1.jpg" in top.text(1)
    best = top.child(0)
    assert best.text(0) == "IMG_1.jpg" and best.text(1) == "pick"
    assert best.background(0).color() == PICK_BG
    assert "sharpest in burst" in best.toolTip(3)

    # X on the pick, P on the last frame: stored as the user's, shown as such
    view.tree.setCurrentItem(best)
    best.setSelected(True)
    qtbot.keyClick(view, Qt.Key.Key_X)
    view.tree.clearSelection()
    item = next(view.tree.topLevelItem(0).child(j) for j in range(3) if view.tree.topLevelItem(0).child(j).text(0) == "IMG_2.jpg")
    item.setSelected(True)
    qtbot.keyClick(view, Qt.Key.Key_P)
    texts = {view.tree.topLevelItem(0).child(j).text(0): view.tree.topLevelItem(0).child(j).text(1) for j in range(3)}
    assert texts["IMG_1.jpg"] == "reject (yours)" and texts["IMG_2.jpg"] == "pick (yours)"

    # a new cull run keeps them
    led = Ledger(path)
    again = {r.path: r.decision for r in cull_ledger(led, under("/shoot"), CullOptions()).results}
    led.close()
    assert again[paths[1]] == "reject" and again[paths[2]] == "pick"


def test_empty_index_says_what_to_do(qtbot, tmp_path: Path) -> None:
    view = CullView(LedgerCullSource(tmp_path / "none.sqlite"))
    qtbot.addWidget(view)
    assert view.tree.topLevelItemCount() == 0 and not view.empty.isHidden()


def test_send_to_lightroom_pushes_decisions_and_collections(qtbot, tmp_path: Path) -> None:
    from bridge.settings import Settings

    path = tmp_path / "ledger.sqlite"
    led = Ledger(path)
    paths = _fill(led, "/shoot", [0.6, 0.9])
    cull_ledger(led, under("/shoot"), CullOptions())
    led.close()
    sent: list[tuple[list[dict[str, object]], dict[str, list[str]]]] = []
    settings = Settings(data_dir=tmp_path / "d", cull_write_as=["flag", "label"])
    view = CullView(LedgerCullSource(path), settings=settings, send=lambda p, c: sent.append((p, c)))
    qtbot.addWidget(view)
    assert view.send_button.isEnabled()
    qtbot.mouseClick(view.send_button, Qt.MouseButton.LeftButton)
    (photos, collections) = sent[0]
    assert {p["path"]: (p["pick"], p["label"]) for p in photos} == {paths[1]: (1, "Green"), paths[0]: (-1, "Red")}
    assert collections == {"Pixel Detective: picks": [paths[1]], "Pixel Detective: rejects": [paths[0]]}
    # without the plug-in service the button says why it is off
    off = CullView(LedgerCullSource(path), send_problem="Lightroom is not connected")
    qtbot.addWidget(off)
    assert not off.send_button.isEnabled() and "not connected" in off.send_button.toolTip()
