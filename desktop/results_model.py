"""The result grid's model and delegate: a flat QAbstractListModel over `bridge.search.query.Result`s.

QListView with uniform item sizes asks only for visible rows, so 100k results scroll smoothly and only
visible thumbnails are ever requested.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.formatting import readable_date
from desktop.theme import LABEL_COLOURS
from desktop.thumbnails import ThumbnailCache

ResultRole = Qt.ItemDataRole.UserRole + 1
ICON = 144  # default thumbnail side; the window's size slider changes it (MIN_ICON..MAX_ICON)
MIN_ICON, MAX_ICON = 96, 320
CELL = QSize(ICON + 24, ICON + 24)


def cell_for(icon: int) -> QSize:
    """Grid cell for a thumbnail side: the image, a line for the name, a margin."""
    return QSize(icon + 24, icon + 24)


def badges_of(fields: dict[str, Any]) -> dict[str, Any]:
    """What the thumbnail shows over the photo, from the payload's Lightroom/XMP fields; nothing is
    shown for a field the photo does not have. rating 1-5 (stars), -1 (rejected); label text (its colour
    when it is one of Lightroom's five, grey otherwise); pick 1 (flagged) or -1 (rejected)."""
    out: dict[str, Any] = {}
    try:
        rating = int(fields.get("rating") or 0)
    except (TypeError, ValueError):
        rating = 0
    if 1 <= rating <= 5:
        out["stars"] = rating
    elif rating < 0:
        out["rejected"] = True
    label = str(fields.get("label") or "").strip()
    if label:
        out["label"] = label
        out["label_colour"] = LABEL_COLOURS.get(label.casefold(), "#9e9e9e")
    try:
        pick = int(fields.get("pick") or 0)
    except (TypeError, ValueError):
        pick = 0
    if pick == 1:
        out["flag"] = True
    elif pick == -1:
        out["rejected"] = True
    return out


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
    if f.get("captured_at"):
        lines.insert(1, readable_date(f["captured_at"]))
    b = badges_of(f)
    if b.get("stars"):
        lines.append("★" * int(b["stars"]))
    if b.get("label"):
        lines.append(f"label {b['label']}")
    if b.get("flag"):
        lines.append("flagged (pick)")
    if b.get("rejected"):
        lines.append("rejected")
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
    """Letterboxed thumbnail with the file name under it and its rating / flag / colour-label badges; a
    placeholder while it loads."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = ICON

    def set_icon_size(self, icon: int) -> None:
        self.icon = max(MIN_ICON, min(MAX_ICON, int(icon)))

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        return cell_for(self.icon)

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
        img_rect = QRect(rect.x() + 4, rect.y() + 4, rect.width() - 8, self.icon - 8)
        pm = index.data(Qt.ItemDataRole.DecorationRole)
        if pm is not None and not pm.isNull():
            scaled = pm.size().scaled(img_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(img_rect.center())
            painter.drawPixmap(target, pm)
            r = index.data(ResultRole)
            if r is not None:
                paint_badges(painter, target, badges_of(r.fields))
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


def paint_badges(painter: QPainter, photo: QRect, badges: dict[str, Any]) -> None:
    """Badges over the photo's corners, legible on any picture: colour label as a corner tab (top right),
    pick flag (top left), stars on a dark pill (bottom left), a rejected cross (top left)."""
    if not badges:
        return
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    size = max(10, min(16, photo.height() // 8))
    if badges.get("label_colour"):
        tab = QRectF(photo.right() - size - 3, photo.top() + 3, size, size)
        painter.setPen(QColor(0, 0, 0, 160))
        painter.setBrush(QColor(badges["label_colour"]))
        painter.drawRoundedRect(tab, 3, 3)
    font = QFont(painter.font())
    font.setPixelSize(size)
    painter.setFont(font)
    if badges.get("flag") or badges.get("rejected"):
        box = QRectF(photo.left() + 3, photo.top() + 3, size + 6, size + 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 3, 3)
        painter.setPen(QColor("#ffffff") if badges.get("flag") else QColor("#ff6b6b"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "⚑" if badges.get("flag") else "✕")
    if badges.get("stars"):
        text = "★" * int(badges["stars"])
        w = painter.fontMetrics().horizontalAdvance(text) + 8
        pill = QRectF(photo.left() + 3, photo.bottom() - size - 6, w, size + 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(pill, 3, 3)
        painter.setPen(QColor("#f5c518"))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def make_delegate(parent: QWidget) -> ThumbDelegate:
    return ThumbDelegate(parent)
