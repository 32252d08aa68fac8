"""The culling view: one row per group (burst, near-duplicates, copies, a bracket …) with its pick highlighted,
the photos of the group under it, each photo's reasons on hover, and the keyboard to override:
P = pick, X = reject, U = undecided, 0 = forget my choice. Overrides are stored at once in the index's `cull`
table (`bridge.state.culling`) and no later `pixel-detective cull` run changes them.

The rows are the last cull run's (`pixel-detective cull FOLDER` or `--catalog`); the view reads them and
writes only the user's decisions, through a `CullSource` (`LedgerCullSource`: short SQLite connections to the
data dir's ledger, WAL, so the engine process that owns the index keeps running).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bridge.state.culling import CullRow

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
KEYS = {Qt.Key.Key_P: "pick", Qt.Key.Key_X: "reject", Qt.Key.Key_U: "undecided", Qt.Key.Key_0: None}
PICK_BG = QColor(46, 110, 64)
REJECT_FG = QColor(150, 150, 150)


class CullSource(Protocol):
    def rows(self) -> list[CullRow]: ...

    def set_override(self, paths: Sequence[str], decision: str | None) -> None: ...


class LedgerCullSource:
    """The cull table of one ledger file, opened per call (the engine process owns the index)."""

    def __init__(self, ledger_path: Path) -> None:
        self.ledger_path = Path(ledger_path)

    def rows(self) -> list[CullRow]:
        from bridge.state import culling
        from bridge.state.ledger import Ledger, LedgerError

        try:
            led = Ledger(self.ledger_path, readonly=True)
        except LedgerError:
            return []
        try:
            return culling.rows(led)
        finally:
            led.close()

    def set_override(self, paths: Sequence[str], decision: str | None) -> None:
        from bridge.state import culling
        from bridge.state.ledger import Ledger

        led = Ledger(self.ledger_path)
        try:
            culling.set_override(led, paths, decision)
        finally:
            led.close()


# Sends the decisions through the plug-in: (apply photos, {collection name: paths}); the window's service call.
Send = Callable[[list[dict[str, Any]], dict[str, list[str]]], None]


class CullView(QDialog):
    def __init__(
        self,
        source: CullSource,
        parent: QWidget | None = None,
        *,
        settings: Any = None,
        send: Send | None = None,
        send_problem: str = "",
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.settings = settings
        self.send = send
        self.setWindowTitle("Culling — Pixel Detective")
        self.resize(900, 600)
        self.hint = QLabel("P pick · X reject · U undecided · 0 forget my choice — your choices are never re-decided")
        self.hint.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["photo", "decision", "rank", "why"])
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tree.setAccessibleName("Cull groups")
        self.empty = QLabel("Nothing culled yet: run `pixel-detective cull FOLDER` (or --catalog CATALOG).")
        self.empty.setWordWrap(True)
        self.send_button = QPushButton("Send to Lightroom")
        self.send_button.setToolTip(
            send_problem
            or "Flags, stars or labels as the settings map them (cull_write_as), and the collections "
            "Pixel Detective: picks / rejects / eyes closed, through the plug-in"
        )
        self.send_button.setEnabled(send is not None and settings is not None)
        self.send_button.clicked.connect(self.send_to_lightroom)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.hint)
        lay.addWidget(self.empty)
        lay.addWidget(self.tree)
        lay.addLayout(buttons)
        self.refresh()

    def send_to_lightroom(self) -> None:
        """Every stored decision as the plug-in's `apply` photos, plus the three collections."""
        from bridge.lightroom.cullwrite import apply_photos, collections

        if self.send is None or self.settings is None:
            return
        rows = [{"path": r.path, "decision": r.decision, "reasons": list(r.reasons)} for r in self.source.rows()]
        photos = apply_photos(rows, self.settings)
        if photos or rows:
            self.send(photos, {k: v for k, v in collections(rows).items() if v})

    def refresh(self) -> None:
        expanded = {top.data(0, PATH_ROLE) for top in self._tops() if top.isExpanded()}
        self.tree.clear()
        groups: dict[str, list[CullRow]] = {}
        for row in self.source.rows():
            groups.setdefault(row.group_id, []).append(row)
        self.empty.setVisible(not groups)
        bold = QFont()
        bold.setBold(True)
        for gid, members in groups.items():
            members.sort(key=lambda r: (r.rank, r.path))
            picks = [r for r in members if r.decision == "pick"]
            kind = members[0].group_kind
            title = f"{kind} of {len(members)}" if len(members) > 1 else Path(members[0].path).name
            top = QTreeWidgetItem([title, f"{len(picks)} pick(s)", "", members[0].sentence if len(members) == 1 else ""])
            top.setData(0, PATH_ROLE, gid)
            if len(members) == 1:
                self._decorate(top, members[0], bold)
                top.setData(0, PATH_ROLE + 1, members[0].path)
            else:
                shown = ", ".join(Path(r.path).name for r in picks) or "none"
                top.setText(1, f"pick: {shown}")
                for r in members:
                    child = QTreeWidgetItem([Path(r.path).name, "", str(r.rank), r.sentence])
                    child.setData(0, PATH_ROLE + 1, r.path)
                    self._decorate(child, r, bold)
                    top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(gid in expanded or len(members) > 1)
        self.tree.resizeColumnToContents(0)

    @staticmethod
    def _decorate(item: QTreeWidgetItem, row: CullRow, bold: QFont) -> None:
        mark = row.decision + (" (yours)" if row.override else "")
        item.setText(1, mark)
        tip = row.sentence + ("\n" + ", ".join(row.reasons) if row.reasons else "")
        for col in range(4):
            item.setToolTip(col, tip)
        if row.decision == "pick":
            for col in range(4):
                item.setBackground(col, QBrush(PICK_BG))
                item.setFont(col, bold)
        elif row.decision == "reject":
            for col in range(4):
                item.setForeground(col, QBrush(REJECT_FG))

    def selected_paths(self) -> list[str]:
        out = []
        for item in self.tree.selectedItems():
            path = item.data(0, PATH_ROLE + 1)
            if path:
                out.append(str(path))
        return out

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        key = Qt.Key(event.key())
        if key in KEYS:
            paths = self.selected_paths()
            if paths:
                self.source.set_override(paths, KEYS[key])
                self.refresh()
                self._select(paths)
            event.accept()
            return
        super().keyPressEvent(event)

    def _select(self, paths: Sequence[str]) -> None:
        wanted = set(paths)
        for top in self._tops():
            for item in [top, *(top.child(j) for j in range(top.childCount()))]:
                if item is not None and item.data(0, PATH_ROLE + 1) in wanted:
                    item.setSelected(True)
                    self.tree.setCurrentItem(item)

    def _tops(self) -> list[QTreeWidgetItem]:
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item for item in items if item is not None]
