"""The app's look: a neutral dark theme (Fusion + a grey palette, like a photo tool's) by default, a light one
when the system says it prefers light. Photos are judged against neutral grey, never against coloured chrome.

`apply(app)` once at start; `theme_name(app)` says which one is in use (tests, screenshots).
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

# Greys of a photo tool's workspace (Lightroom-like): the grid sits on the darkest, panels a step lighter.
WINDOW = "#2b2b2b"
BASE = "#1f1f1f"
PANEL = "#333333"
TEXT = "#d6d6d6"
DIM_TEXT = "#8c8c8c"
ACCENT = "#4a90d9"

# Lightroom's colour labels (as its filter bar shows them).
LABEL_COLOURS = {
    "red": "#d64541",
    "yellow": "#e6c229",
    "green": "#4caf50",
    "blue": "#3f7fd6",
    "purple": "#9b59b6",
}

_STYLE = f"""
QToolTip {{ color: {TEXT}; background: {PANEL}; border: 1px solid #555; padding: 4px; }}
QGroupBox {{ border: 1px solid #3c3c3c; border-radius: 4px; margin-top: 14px; padding-top: 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {DIM_TEXT}; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox {{ padding: 3px 6px; border: 1px solid #444;
    border-radius: 3px; background: {BASE}; }}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus {{ border-color: {ACCENT}; }}
QPushButton {{ padding: 4px 12px; border: 1px solid #4a4a4a; border-radius: 3px; background: #3a3a3a; }}
QPushButton:hover {{ background: #444; }}
QPushButton:default {{ border-color: {ACCENT}; }}
QPushButton:disabled {{ color: #666; }}
QToolBar {{ border: none; spacing: 4px; padding: 2px; }}
QStatusBar {{ color: {DIM_TEXT}; }}
QSplitter::handle {{ background: #222; }}
QHeaderView::section {{ background: {PANEL}; border: none; border-right: 1px solid #2a2a2a; padding: 4px; }}
QProgressBar {{ border: 1px solid #444; border-radius: 3px; text-align: center; background: {BASE}; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 2px; }}
QLabel#dim {{ color: {DIM_TEXT}; }}
QLabel#heading {{ font-size: 15pt; font-weight: 600; }}
"""


def dark_palette() -> QPalette:
    p = QPalette()
    c = QColor
    roles = QPalette.ColorRole
    for role, colour in (
        (roles.Window, WINDOW),
        (roles.WindowText, TEXT),
        (roles.Base, BASE),
        (roles.AlternateBase, "#303030"),
        (roles.ToolTipBase, PANEL),
        (roles.ToolTipText, TEXT),
        (roles.PlaceholderText, "#777777"),
        (roles.Text, TEXT),
        (roles.Button, "#3a3a3a"),
        (roles.ButtonText, TEXT),
        (roles.BrightText, "#ff6b6b"),
        (roles.Highlight, ACCENT),
        (roles.HighlightedText, "#ffffff"),
        (roles.Link, "#7fb2ea"),
        (roles.Mid, "#4a4a4a"),
        (roles.Dark, "#1a1a1a"),
        (roles.Light, "#505050"),
        (roles.Shadow, "#111111"),
    ):
        p.setColor(role, c(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        p.setColor(disabled, role, c("#6a6a6a"))
    return p


def system_prefers_light() -> bool:
    """True only when the platform says so (Qt 6.5+ colour scheme); unknown means dark, the photo-tool default.
    PIXEL_DETECTIVE_THEME=light|dark overrides it."""
    forced = os.environ.get("PIXEL_DETECTIVE_THEME", "").strip().lower()
    if forced in ("light", "dark"):
        return forced == "light"
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return bool(scheme is not None and scheme() == Qt.ColorScheme.Light)


def apply(app: QApplication) -> str:
    """Fusion everywhere (the same look on every OS); dark unless the system prefers light. Returns the name."""
    app.setStyle("Fusion")
    if system_prefers_light():
        app.setPalette(app.style().standardPalette())
        app.setStyleSheet("")
        app.setProperty("pd_theme", "light")
        return "light"
    app.setPalette(dark_palette())
    app.setStyleSheet(_STYLE)
    app.setProperty("pd_theme", "dark")
    return "dark"


def theme_name(app: QApplication) -> str:
    return str(app.property("pd_theme") or "system")
