"""What the results area says when there is nothing to show: no folders yet, no results, a filter that is
not understood, an engine that could not start. Each says what happened, in full (wrapped, never clipped),
and what to do, with a button for the remedy when there is one."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyState(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        self.heading = QLabel()
        self.heading.setObjectName("heading")
        self.heading.setWordWrap(True)
        self.heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setMaximumWidth(560)
        self.body.setAccessibleName("Message")
        self.remedy = QLabel()
        self.remedy.setObjectName("dim")
        self.remedy.setWordWrap(True)
        self.remedy.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.remedy.setMaximumWidth(560)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self.buttons.addStretch(1)
        for w in (self.heading, self.body, self.remedy):
            lay.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addSpacing(8)
        lay.addLayout(self.buttons)
        lay.addStretch(2)
        self.kind = ""
        self._buttons: list[QPushButton] = []

    def show_state(
        self,
        kind: str,
        heading: str,
        body: str,
        remedy: str = "",
        actions: tuple[tuple[str, Callable[[], object]], ...] = (),
    ) -> None:
        """`kind` names the state for tests ("no_photos", "no_results", "bad_filter", "error" …)."""
        self.kind = kind
        self.heading.setText(heading)
        self.body.setText(body)
        self.body.setVisible(bool(body))
        self.remedy.setText(remedy)
        self.remedy.setVisible(bool(remedy))
        for b in self._buttons:
            self.buttons.removeWidget(b)
            b.deleteLater()
        self._buttons = []
        for i, (text, slot) in enumerate(actions):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, s=slot: s())
            b.setDefault(i == 0)
            self.buttons.insertWidget(1 + i, b)
            self._buttons.append(b)

    def button_texts(self) -> list[str]:
        return [b.text() for b in self._buttons]
