"""Settings dialog: library (folders, catalogs), model and device (which weights are present), captions,
keyword vocabulary and parent, write-back rules, sidecar naming, performance, and the Lightroom plug-in
install helper. Saved to the TOML settings file (merged, atomic); the engine re-reads it on next start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from bridge.lightroom.plugin_install import PluginInstallError, install_plugin, modules_dir
from bridge.models.registry import REGISTRY, imported_models
from bridge.settings import Settings, default_config_file
from desktop import settings_file
from desktop.formatting import home_path

SIDECAR_STYLES = ("name", "name.ext")  # IMG_1.xmp / IMG_1.CR2.xmp (Settings.sidecar_naming)
PLUGIN_STEPS = (
    "In Lightroom Classic: File ▸ Plug-in Manager… ▸ Add… ▸ choose the copied PixelDetective.lrplugin "
    "folder ▸ Done. Then Library ▸ Plug-in Extras ▸ Pixel Detective."
)


def weights_status(model_id: str, models_dir: Path) -> str:
    if model_id in imported_models(models_dir):
        return "weights present (imported)"
    spec = REGISTRY.get(model_id)
    if spec is not None:
        try:
            from bridge.models.registry import hub_cached

            if hub_cached(spec):
                return "weights present (hub cache)"
        except Exception:
            pass
    return "weights missing — run `pixel-detective models download` or import them"


class _PathList(QWidget):
    """A list of folders or files with Add / Remove buttons."""

    def __init__(self, what: str, pick_files: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what, self.pick_files = what, pick_files
        self.list = QListWidget()
        self.list.setAccessibleName(what)
        add, remove = QPushButton(f"Add {what.rstrip('s').lower()}…"), QPushButton("Remove")
        add.clicked.connect(self._add)
        remove.clicked.connect(
            lambda: [self.list.takeItem(self.list.row(i)) for i in self.list.selectedItems()]
        )
        buttons = QVBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.list, 1)
        lay.addLayout(buttons)

    def _add(self) -> None:
        if self.pick_files:
            path, _ = QFileDialog.getOpenFileName(self, f"Add {self.what}", "", self.pick_files)
        else:
            path = QFileDialog.getExistingDirectory(self, f"Add {self.what}")
        if path:
            self.add(path)

    def add(self, path: str) -> None:
        if path not in self.values():
            self.list.addItem(path)

    def values(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]


class SettingsDialog(QDialog):
    def __init__(
        self, settings: Settings, config_file: Path | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.config_file = config_file or default_config_file()
        self.setWindowTitle("Pixel Detective — Settings")
        self.resize(720, 520)
        raw = settings_file.read(self.config_file)
        desk = raw.get(settings_file.DESKTOP, {}) if isinstance(raw.get(settings_file.DESKTOP), dict) else {}
        tabs = QTabWidget()
        tabs.setAccessibleName("Settings sections")

        # Library
        lib = QWidget()
        f = QFormLayout(lib)
        self.folders = _PathList("Folders")
        for p in desk.get("folders", []):
            self.folders.add(str(p))
        self.catalogs = _PathList("Catalogs", "Lightroom catalogs (*.lrcat)")
        for p in desk.get("catalogs", []):
            self.catalogs.add(str(p))
        f.addRow("Folders to index", self.folders)
        f.addRow("Lightroom catalogs", self.catalogs)
        tabs.addTab(lib, "Library")

        # Model
        model = QWidget()
        f = QFormLayout(model)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setAccessibleName("Embedding model")
        ids = list(dict.fromkeys([*REGISTRY, *imported_models(settings.models_dir), settings.model]))
        self.model.addItems(ids)
        self.model.setCurrentText(settings.model)
        self.weights = QLabel()
        self.weights.setWordWrap(True)
        self.weights.setAccessibleName("Model weights status")
        self.model.currentTextChanged.connect(self._show_weights)
        self.device = QComboBox()
        self.device.setEditable(True)
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.device.setCurrentText(settings.device)
        self.device.setAccessibleName("Device")
        self.captions = QCheckBox("Write AI captions (BLIP; about 25× an embedding on CPU)")
        self.captions.setChecked(settings.captions)
        f.addRow("Model", self.model)
        f.addRow("", self.weights)
        f.addRow("Device", self.device)
        f.addRow("Captions", self.captions)
        tabs.addTab(model, "Model")

        # Keywords and write-back
        kw = QWidget()
        f = QFormLayout(kw)
        self.vocabulary = QLineEdit(str(settings.vocabulary_catalog or ""))
        self.vocabulary.setPlaceholderText("a .lrcat whose keyword tree is the vocabulary (optional)")
        self.vocabulary.setAccessibleName("Keyword vocabulary catalog")
        self.keyword_parent = QLineEdit(
            str(raw.get("keyword_parent", desk.get("keyword_parent", "Pixel Detective")))
        )
        self.keyword_parent.setAccessibleName("Keyword parent")
        self.rules = QPlainTextEdit("\n".join(raw.get("writeback_rules", desk.get("writeback_rules", []))))
        self.rules.setPlaceholderText(
            "One rule a line, e.g.\nsharpness < 0.2 -> pick -1\nquality >= 0.8 -> rating 4"
        )
        self.rules.setAccessibleName("Write-back rules")
        self.sidecar = QComboBox()
        self.sidecar.addItems(SIDECAR_STYLES)
        self.sidecar.setCurrentText(
            str(raw.get("sidecar_naming", desk.get("sidecar_naming", SIDECAR_STYLES[0])))
        )
        self.sidecar.setAccessibleName("Sidecar naming")
        f.addRow("Vocabulary catalog", self.vocabulary)
        f.addRow("Keyword parent", self.keyword_parent)
        f.addRow("Write-back rules", self.rules)
        f.addRow("Sidecar naming (IMG_1.xmp / IMG_1.CR2.xmp)", self.sidecar)
        tabs.addTab(kw, "Keywords && write-back")

        # Performance
        perf = QWidget()
        f = QFormLayout(perf)
        self.workers = QSpinBox()
        self.workers.setRange(0, 256)
        self.workers.setSpecialValueText("auto (CPU cores)")
        self.workers.setValue(settings.workers)
        self.workers.setAccessibleName("Decode workers")
        self.batch = QSpinBox()
        self.batch.setRange(0, 4096)
        self.batch.setSpecialValueText("auto (from device memory)")
        self.batch.setValue(settings.batch_size)
        self.batch.setAccessibleName("Batch size")
        f.addRow("Decode workers", self.workers)
        f.addRow("Batch size", self.batch)
        self.ac_only = QCheckBox("Pause indexing while on battery")
        self.ac_only.setChecked(settings.only_on_ac_power)
        self.ac_only.setAccessibleName("Index only on AC power")
        f.addRow("Power", self.ac_only)
        tabs.addTab(perf, "Performance")

        # Lightroom plug-in
        plug = QWidget()
        v = QVBoxLayout(plug)
        self.plugin_dest = QLineEdit(str(modules_dir() or Path.home()))  # Lightroom's Modules folder
        self.plugin_dest.setAccessibleName("Plug-in destination folder")
        browse = QPushButton("Choose folder…")
        browse.clicked.connect(self._choose_plugin_dest)
        install = QPushButton("Install plug-in")
        install.clicked.connect(self._install_plugin)
        row = QHBoxLayout()
        row.addWidget(self.plugin_dest, 1)
        row.addWidget(browse)
        row.addWidget(install)
        steps = QLabel(PLUGIN_STEPS)
        steps.setWordWrap(True)
        self.plugin_result = QLabel()
        self.plugin_result.setWordWrap(True)
        v.addLayout(row)
        v.addWidget(steps)
        v.addWidget(self.plugin_result)
        v.addStretch(1)
        tabs.addTab(plug, "Lightroom plug-in")

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save_and_close)
        buttons.rejected.connect(self.reject)
        note = QLabel(
            f"Saved to {home_path(str(self.config_file))}; the engine uses model and performance changes on next start."
        )
        note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(tabs, 1)
        lay.addWidget(note)
        lay.addWidget(buttons)
        self.tabs = tabs
        self._show_weights(self.model.currentText())

    def _show_weights(self, model_id: str) -> None:
        self.weights.setText(weights_status(model_id, self.settings.models_dir))

    def _choose_plugin_dest(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Install the Lightroom plug-in into")
        if d:
            self.plugin_dest.setText(d)

    def _install_plugin(self) -> None:
        """The same install as `pixel-detective plugin install`: staged copy, atomic swap, one backup."""
        dest = Path(self.plugin_dest.text()).expanduser()
        if not dest.is_dir():
            self.plugin_result.setText(f"Could not install: {home_path(str(dest))} is not a folder.")
            return
        try:
            done = install_plugin(dest)
        except PluginInstallError as e:
            self.plugin_result.setText(f"Could not install: {e.message}")
            return
        where = home_path(str(done.target))
        said = "Already installed, unchanged" if done.outcome == "unchanged" else f"Installed ({done.outcome})"
        self.plugin_result.setText(f"{said}: {where}. {PLUGIN_STEPS}")

    def values(self) -> dict[str, Any]:
        """What goes into the settings file: engine settings at the top, the app's own in [desktop]."""
        return {
            "model": self.model.currentText().strip() or self.settings.model,
            "device": self.device.currentText().strip() or "auto",
            "captions": self.captions.isChecked(),
            "vocabulary_catalog": self.vocabulary.text().strip() or None,
            "workers": self.workers.value(),
            "batch_size": self.batch.value(),
            "only_on_ac_power": self.ac_only.isChecked(),
            # read by the engine side too: catalog/XMP write-back, the plugin's Apply, Sync to Lightroom
            "keyword_parent": self.keyword_parent.text().strip(),
            "writeback_rules": [ln.strip() for ln in self.rules.toPlainText().splitlines() if ln.strip()],
            "sidecar_naming": self.sidecar.currentText(),
            settings_file.DESKTOP: {
                "folders": self.folders.values(),
                "catalogs": self.catalogs.values(),
            },
        }

    def save(self) -> Path:
        return settings_file.write(self.values(), self.config_file)

    def save_and_close(self) -> None:
        try:
            self.save()
        except Exception as e:
            QMessageBox.warning(self, "Settings not saved", str(e))
            return
        self.accept()
