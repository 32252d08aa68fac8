"""The search window's filter panel: date, camera, lens, rating, label, keyword, quality, folder and free
`--where` terms, turned into one `--where` expression (desktop/filters.py) shown under the panel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from desktop.filters import FilterValues, where_expression


class FilterPanel(QGroupBox):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Filters", parent)
        form = QFormLayout(self)
        self.date_from = self._line("YYYY or YYYY-MM-DD", "Taken from")
        self.date_to = self._line("YYYY or YYYY-MM-DD", "Taken until")
        self.camera = self._line("e.g. canon", "Camera")
        self.lens = self._line("e.g. 50mm", "Lens")
        self.rating = QComboBox()
        self.rating.addItems(["Any", "★ 1+", "★ 2+", "★ 3+", "★ 4+", "★ 5"])
        self.rating.setAccessibleName("Minimum rating")
        self.label = QComboBox()
        self.label.addItems(["Any", "Red", "Yellow", "Green", "Blue", "Purple"])
        self.label.setAccessibleName("Colour label")
        self.keyword = self._line("keyword (a,b = either)", "Keyword")
        self.quality = QDoubleSpinBox()
        self.quality.setRange(0.0, 1.0)
        self.quality.setSingleStep(0.1)
        self.quality.setSpecialValueText("Any")
        self.quality.setAccessibleName("Minimum quality")
        self.folder = self._line("/photos/2024", "Folder")
        self.extra = self._line("more --where terms, e.g. iso<=800", "More conditions")
        for name, w in (
            ("From", self.date_from),
            ("Until", self.date_to),
            ("Camera", self.camera),
            ("Lens", self.lens),
            ("Rating", self.rating),
            ("Label", self.label),
            ("Keyword", self.keyword),
            ("Quality ≥", self.quality),
            ("Folder", self.folder),
            ("More", self.extra),
        ):
            form.addRow(name, w)
        self.rating.currentIndexChanged.connect(self.changed)
        self.label.currentIndexChanged.connect(self.changed)
        self.quality.editingFinished.connect(self.changed)
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview.setAccessibleName("Filter expression")
        form.addRow(self.preview)

    def _line(self, placeholder: str, accessible: str) -> QLineEdit:
        w = QLineEdit()
        w.setPlaceholderText(placeholder)
        w.setAccessibleName(accessible)
        w.setClearButtonEnabled(True)
        w.returnPressed.connect(self.changed)
        return w

    def clear(self) -> None:
        """Every filter back to "any" (the empty states' "Clear filters")."""
        self.blockSignals(True)
        for w in (
            self.date_from,
            self.date_to,
            self.camera,
            self.lens,
            self.keyword,
            self.folder,
            self.extra,
        ):
            w.clear()
        self.rating.setCurrentIndex(0)
        self.label.setCurrentIndex(0)
        self.quality.setValue(0.0)
        self.blockSignals(False)
        self.expression()

    def values(self) -> FilterValues:
        return FilterValues(
            date_from=self.date_from.text(),
            date_to=self.date_to.text(),
            camera=self.camera.text(),
            lens=self.lens.text(),
            min_rating=self.rating.currentIndex(),
            label="" if self.label.currentIndex() == 0 else self.label.currentText(),
            keyword=self.keyword.text(),
            min_quality=self.quality.value(),
            folder=self.folder.text(),
            extra=self.extra.text(),
        )

    def expression(self) -> str:
        expr = where_expression(self.values())
        self.preview.setText(f"--where {expr}" if expr else "")
        return expr
