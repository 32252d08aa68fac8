"""The search window's query field: a text query, or a dropped or pasted photo to search by example."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QLineEdit, QWidget

from desktop.search.drops import image_paths


class QueryField(QLineEdit):
    """Text query; a dropped or pasted photo (file or bitmap) becomes a search by example."""

    photos_given = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setClearButtonEnabled(True)
        self.setPlaceholderText("Describe a photo… or drop one here to find similar shots")
        self.setAccessibleName("Search query")

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if image_paths(e.mimeData()):
            e.acceptProposedAction()
        else:
            super().dragEnterEvent(e)

    def dropEvent(self, e: QDropEvent) -> None:
        paths = image_paths(e.mimeData())
        if paths:
            e.acceptProposedAction()
            self.photos_given.emit(paths)
        else:
            super().dropEvent(e)

    def keyPressEvent(self, e: Any) -> None:
        if e.matches(QKeySequence.StandardKey.Paste):
            mime = QGuiApplication.clipboard().mimeData()
            paths = image_paths(mime)
            if not paths and mime.hasImage():
                # A copied bitmap (screenshot, browser image): saved to a temp file, searched by example.
                img = QGuiApplication.clipboard().image()
                tmp = Path(tempfile.gettempdir()) / f"pixel-detective-paste-{os.getpid()}.png"
                if not img.isNull() and img.save(str(tmp)):
                    paths = [str(tmp)]
            if paths:
                self.photos_given.emit(paths)
                return
        super().keyPressEvent(e)
