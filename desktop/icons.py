"""Tray and window icons drawn with QPainter at several sizes (crisp on high-DPI screens, no binary assets).

A magnifying glass whose lens colour tells the state; indexing adds a progress arc and a percentage badge.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap

STATE_COLORS = {
    "starting": "#9e9e9e",
    "idle": "#2e7d32",
    "indexing": "#1565c0",
    "paused": "#ef6c00",
    "error": "#c62828",
    "closed": "#616161",
}
SIZES = (16, 20, 24, 32, 48, 64, 128, 256)


def _draw(size: int, state: str, percent: int | None, lightroom: bool) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    color = QColor(STATE_COLORS.get(state, STATE_COLORS["idle"]))
    lens = QRectF(s * 0.08, s * 0.08, s * 0.58, s * 0.58)
    # Handle first, so the lens ring covers its end.
    p.setPen(QPen(QColor("#424242"), max(2.0, s * 0.12), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.drawLine(int(s * 0.58), int(s * 0.58), int(s * 0.9), int(s * 0.9))
    p.setPen(QPen(QColor("#424242"), max(1.0, s * 0.07)))
    p.setBrush(color)
    p.drawEllipse(lens)
    if state == "indexing" and percent is not None:
        # Progress arc inside the lens: readable even at 16 px where the badge text is not.
        p.setPen(QPen(QColor("white"), max(1.0, s * 0.08)))
        inner = lens.adjusted(s * 0.1, s * 0.1, -s * 0.1, -s * 0.1)
        p.drawArc(inner, 90 * 16, -int(360 * 16 * max(0, min(100, percent)) / 100))
    elif state == "paused":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("white"))
        w, h = s * 0.07, s * 0.24
        cx, cy = lens.center().x(), lens.center().y()
        p.drawRect(QRectF(cx - 2.2 * w, cy - h / 2, w * 1.5, h))
        p.drawRect(QRectF(cx + 0.7 * w, cy - h / 2, w * 1.5, h))
    elif state == "error":
        p.setPen(QPen(QColor("white"), max(1.5, s * 0.08)))
        cx, cy = lens.center().x(), lens.center().y()
        p.drawLine(int(cx), int(cy - s * 0.14), int(cx), int(cy + s * 0.04))
        p.drawPoint(int(cx), int(cy + s * 0.12))
    if lightroom:  # a small "Lr" dot, bottom-left
        r = QRectF(0, s * 0.62, s * 0.38, s * 0.38)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#31a8ff"))
        p.drawEllipse(r)
    if state == "indexing" and percent is not None and size >= 32:
        badge = QRectF(s * 0.42, 0, s * 0.58, s * 0.34)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#d32f2f"))
        p.drawRoundedRect(badge, s * 0.12, s * 0.12)
        f = QFont()
        f.setPixelSize(max(8, int(s * 0.22)))
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor("white"))
        p.drawText(badge, Qt.AlignmentFlag.AlignCenter, f"{percent}%")
    p.end()
    return pm


def state_icon(state: str, percent: int | None = None, lightroom: bool = False) -> QIcon:
    icon = QIcon()
    for size in SIZES:
        icon.addPixmap(_draw(size, state, percent, lightroom))
    return icon
