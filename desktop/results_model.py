"""The result grid's model and delegate: a flat QAbstractListModel over `bridge.search.query.Result`s.

QListView with uniform item sizes asks only for visible rows, so 100k results scroll smoothly and only
visible thumbnails are ever requested.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.thumbnails import ThumbnailCache

ResultRole = Qt.ItemDataRole.UserRole + 1
CELL = QSize(168, 168)
ICON = 144

_Index = QModelIndex | QPersistentModelIndex


def tooltip_for(r: Any) -> str:
    f = r.fields
    lines = [os.path.basename(r.path), f"score {r.score:.3f}  (rank {r.rank})"]
    for key, name in (
        ("q_overall", "quality"),
        ("q_sharpness", "sharpness"),
        ("q_exposure", "exposure"),
        ("q_noise", "noise"),
    ):
        if f.get(key) is not None:
            lines.append(f"{name} {float(f[key]):.2f}")
    if f.get("rating"):
        lines.append("★" * int(f["rating"]))
    return "\n".join(lines)


def date_key(r: Any) -> str:
    return str(r.fields.get("captured_at") or "")


class ResultsModel(QAbstractListModel):
    def __init__(self, thumbs: ThumbnailCache, parent: Any = None) -> None:
        super().__init__(parent)
        self.thumbs = thumbs
        self._relevance: list[Any] = []
        self._rows: list[Any] = []
        self._row_of: dict[str, list[int]] = {}
        self.sort_by = "relevance"
        thumbs.ready.connect(self._thumb_ready)

    # -- content ---------------------------------------------------------------------------------------
    def set_results(self, results: list[Any]) -> None:
        self._relevance = list(results)
        self._apply_sort()

    def set_sort(self, sort_by: str) -> None:
        self.sort_by = sort_by
        self._apply_sort()

    def _apply_sort(self) -> None:
        self.beginResetModel()
        if self.sort_by == "date":
            # Newest first; photos without a capture date last (still in relevance order).
            dated = [r for r in self._relevance if date_key(r)]
            undated = [r for r in self._relevance if not date_key(r)]
            self._rows = sorted(dated, key=date_key, reverse=True) + undated
        else:
            self._rows = list(self._relevance)
        self._row_of = {}
        for i, r in enumerate(self._rows):
            self._row_of.setdefault(r.fingerprint, []).append(i)
        self.endResetModel()

    def results(self) -> list[Any]:
        return list(self._rows)

    def result(self, row: int) -> Any:
        return self._rows[row]

    def _thumb_ready(self, fingerprint: str) -> None:
        for row in self._row_of.get(fingerprint, ()):
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    # -- Qt model API ----------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        r = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return os.path.basename(r.path)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.get(r.fingerprint, r.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_for(r)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{os.path.basename(r.path)}, score {r.score:.2f}"
        if role == ResultRole:
            return r
        return None


class ThumbDelegate(QStyledItemDelegate):
    """Letterboxed thumbnail with the file name under it; a placeholder while it loads."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        pal: QPalette = option.palette  # the system palette: light and dark themes both fit
        rect = option.rect.adjusted(4, 4, -4, -4)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, pal.color(QPalette.ColorRole.Highlight))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, pal.color(QPalette.ColorRole.AlternateBase))
        img_rect = QRect(rect.x() + 4, rect.y() + 4, rect.width() - 8, ICON - 8)
        pm = index.data(Qt.ItemDataRole.DecorationRole)
        if pm is not None and not pm.isNull():
            scaled = pm.size().scaled(img_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(img_rect.center())
            painter.drawPixmap(target, pm)
        else:
            ph = pal.color(QPalette.ColorRole.Mid)
            ph.setAlpha(70)
            painter.fillRect(img_rect.adjusted(12, 12, -12, -12), ph)
        text_rect = QRect(
            rect.x() + 2, img_rect.bottom() + 2, rect.width() - 4, rect.bottom() - img_rect.bottom()
        )
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(QColor(pal.color(role)))
        name = painter.fontMetrics().elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole)), Qt.TextElideMode.ElideMiddle, text_rect.width()
        )
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, name)
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(pal.color(QPalette.ColorRole.Highlight).darker(130))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.restore()


def make_delegate(parent: QWidget) -> ThumbDelegate:
    return ThumbDelegate(parent)
