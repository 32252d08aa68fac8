"""Settings dialog: library (folders, catalogs), model and device (which weights are present), captions,
keyword vocabulary and parent, write-back rules, sidecar naming, performance, and the Lightroom plug-in
install helper, and the engine (this computer's or a remote one found with zeroconf). Saved to the TOML settings
file (merged, atomic); the engine re-reads it on next start.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
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
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bridge.files.settings_file import read_settings_file, write_settings_file
from bridge.lightroom.plugin_install import PluginInstallError, install_plugin, modules_dir
from bridge.models.registry import REGISTRY, imported_models
from bridge.settings import Settings, default_config_file
from desktop import settings_file
from desktop.formatting import home_path

log = logging.getLogger("pixel_detective.desktop")

REMOTE_KEYS = ("remote_url", "remote_api_key", "remote_tls_fingerprint")
RESTART = "Quit the tray app and start it again to switch."
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


class EngineSection(QWidget):
    """Which engine this app uses: this computer's, or one found on the local network (zeroconf) with an API
    key it issued. Use / Stop using write `remote_url`, `remote_api_key`, `remote_tls_fingerprint` with the
    writer `pixel-detective remote use` uses; the tray app switches at its next start."""

    found = Signal(list)  # RemoteEngines, from the browsing thread
    done = Signal(bool, str)  # Use / Stop using finished: ok, the sentence to show

    def __init__(
        self,
        settings: Settings,
        config_file: Path,
        *,
        interfaces: list[str] | None = None,
        browse_seconds: float = 3.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings, self.config_file = settings, config_file
        self.interfaces, self.browse_seconds = interfaces, browse_seconds
        self.current = QLabel()
        self.current.setWordWrap(True)
        self.current.setAccessibleName("Engine in use")
        self.find_button = QPushButton("Find engines…")
        self.find_button.clicked.connect(self.browse)
        self.engines = QTreeWidget()
        self.engines.setHeaderLabels(["Name", "Address", "Certificate (SHA-256)"])
        self.engines.setRootIsDecorated(False)
        self.engines.setAccessibleName("Engines on the local network")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText(
            "pd_… (from `pixel-detective keys create NAME --scope index` on that machine)"
        )
        self.key.setAccessibleName("API key")
        self.use = QPushButton("Use")
        self.use.clicked.connect(self.use_selected)
        self.stop = QPushButton("Stop using (this computer)")
        self.stop.clicked.connect(self.use_local)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setAccessibleName("Engine result")
        buttons = QHBoxLayout()
        buttons.addWidget(self.find_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use)
        buttons.addWidget(self.stop)
        form = QFormLayout()
        form.addRow("API key", self.key)
        v = QVBoxLayout(self)
        v.addWidget(self.current)
        v.addWidget(self.engines, 1)
        v.addLayout(form)
        v.addLayout(buttons)
        v.addWidget(self.result)
        self.found.connect(self._show_found)
        self.done.connect(self._finished)
        self._show_current(read_settings_file_or_empty(config_file))

    def _show_current(self, data: dict[str, Any]) -> None:
        url = data.get("remote_url")
        self.current.setText(
            f"This app uses the remote engine at {url} (certificate {str(data.get('remote_tls_fingerprint') or '')[:23]}…)."
            if url
            else "This app uses the engine on this computer. Find engines on the local network (a GPU box with "
            "network mode on) to search its index from here."
        )
        self.stop.setEnabled(bool(url))

    def browse(self) -> None:
        """Listen for engines on a thread (zeroconf answers take seconds); the list fills when they are in."""
        self.find_button.setEnabled(False)
        self.result.setText(f"Looking for engines on the local network ({self.browse_seconds:g} s)…")

        def run() -> None:
            from bridge.discovery import browse

            got: list[Any] | None
            try:
                got = list(browse(self.browse_seconds, interfaces=self.interfaces))
            except Exception:  # no multicast here (VPN, container): said, not raised
                log.exception("browsing for engines failed")
                got = None
            with contextlib.suppress(RuntimeError):  # the dialog closed meanwhile
                self.found.emit(got if got is not None else [None])

        threading.Thread(target=run, name="pd-desktop-browse", daemon=True).start()

    def _show_found(self, engines: list[Any]) -> None:
        self.find_button.setEnabled(True)
        self.engines.clear()
        if engines == [None]:
            self.result.setText("Could not look on the local network (no multicast here?); `pixel-detective "
                                "remote use` takes a name, or ask the engine's owner for its address.")  # fmt: skip
            return
        for e in engines:
            it = QTreeWidgetItem([e.display_name, f"{', '.join(e.addresses) or '?'} : {e.port}",
                                  e.tls_fingerprint or "no TLS"])  # fmt: skip
            it.setData(0, Qt.ItemDataRole.UserRole, e)
            it.setToolTip(0, e.url)
            self.engines.addTopLevelItem(it)
        first = self.engines.topLevelItem(0)
        if first is not None:
            self.engines.setCurrentItem(first)
        self.result.setText(
            f"{len(engines)} engine{'s' if len(engines) != 1 else ''} found: choose one and give an API key it issued."
            if engines
            else f"No engine answered within {self.browse_seconds:g} s (network mode on there? same network?)."
        )

    def use_selected(self) -> None:
        item = self.engines.currentItem()
        engine = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        key = self.key.text().strip()
        if engine is None:
            self.result.setText("Choose an engine first (Find engines…).")
            return
        if not key:
            self.result.setText("Give an API key that engine issued (`pixel-detective keys create` there).")
            return
        self.use.setEnabled(False)
        self.result.setText(f"Checking {engine.display_name}…")
        values = {
            "remote_url": engine.url,
            "remote_api_key": key,
            "remote_tls_fingerprint": engine.tls_fingerprint,
        }

        def run() -> None:
            # The same checks the tray makes when it opens: certificate pinned before the key goes, key accepted.
            from bridge.api.client import ClientError
            from bridge.api.remote_host import ApiHost

            try:
                ApiHost(self.settings.model_copy(update=values), hello_wait=0).close()
                self._write(values)
                ok, msg = True, (f"Using {engine.display_name} at {engine.url}. {RESTART}")
            except ClientError as e:
                ok, msg = False, f"Not used: {e}."
            except (OSError, ValueError) as e:
                ok, msg = False, f"Not saved: {e}"
            with contextlib.suppress(RuntimeError):
                self.done.emit(ok, msg)

        threading.Thread(target=run, name="pd-desktop-engine-check", daemon=True).start()

    def use_local(self) -> None:
        try:
            self._write(dict.fromkeys(REMOTE_KEYS))
        except (OSError, ValueError) as e:
            self._finished(False, f"Not saved: {e}")
            return
        self._finished(True, f"The engine on this computer will be used. {RESTART}")

    def _write(self, values: dict[str, Any]) -> None:
        """Merge into the settings file (None removes a key) with the CLI's writer (atomic, 0600)."""
        data = read_settings_file(self.config_file)
        for k, v in values.items():
            if v is None:
                data.pop(k, None)
            else:
                data[k] = v
        write_settings_file(self.config_file, data)

    def _finished(self, ok: bool, message: str) -> None:
        self.use.setEnabled(True)
        self.result.setText(message)
        if ok:
            self.key.clear()
            self._show_current(read_settings_file_or_empty(self.config_file))


def read_settings_file_or_empty(path: Path) -> dict[str, Any]:
    try:
        return read_settings_file(path)
    except ValueError:
        return {}


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        config_file: Path | None = None,
        parent: QWidget | None = None,
        *,
        discovery_interfaces: list[str] | None = None,
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

        # Engine: this computer's, or a remote one (a GPU box) with an API key
        self.engine = EngineSection(settings, self.config_file, interfaces=discovery_interfaces)
        tabs.addTab(self.engine, "Engine")

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
        said = (
            "Already installed, unchanged" if done.outcome == "unchanged" else f"Installed ({done.outcome})"
        )
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
