"""`pixel-detective tray`: the tray app that hosts the engine all day, with the search window.

One instance per user and data dir (desktop/single_instance.py). The engine host (and the Lightroom
service, when that module is present) opens on a thread, so the tray and the window appear at once and
say "starting…". Quit stops the host after its current batch: nothing is lost and the ledger stays
consistent. Without a system tray, the search window is the main window (closing it quits).
"""

from __future__ import annotations

import gc
import logging
import logging.handlers
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMenu, QSystemTrayIcon

from bridge.api.client import ClientError
from bridge.settings import Settings
from desktop import settings_file
from desktop.backend import Backend
from desktop.icons import state_icon
from desktop.power import PowerPolicy
from desktop.search.window import SearchWindow
from desktop.single_instance import SingleInstance, hand_over, server_name

log = logging.getLogger("pixel_detective.desktop")
LONG_RUN_SECONDS = 30.0  # runs shorter than this finish without a notification


def log_dir(settings: Settings) -> Path:
    return settings.data_dir / "logs"


def setup_logging(settings: Settings) -> None:
    d = log_dir(settings)
    d.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(d / "tray.log", maxBytes=2_000_000, backupCount=3)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("pixel_detective")
    root.addHandler(handler)
    root.setLevel(logging.INFO)


class TrayApp(QObject):
    notified = Signal(str, str)  # title, message: every notification (tests, no-tray fallback)

    def __init__(
        self,
        settings: Settings,
        *,
        use_tray: bool | None = None,
        with_service: bool = True,
        instance_name: str | None = None,
        engine_process: bool = True,
        welcome: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.welcome_on_first_run = welcome
        self.welcome: Any = None
        self.backend = Backend(
            settings, with_service=with_service, engine_process=engine_process, parent=self
        )
        self.window = SearchWindow(self.backend)
        self.indexing: Any = None
        self._percent: int | None = None
        self._quitting = False
        self.instance = SingleInstance(instance_name or server_name(settings.data_dir), self)
        self.instance.message.connect(self.on_second_launch)
        if use_tray is None:
            use_tray = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray: QSystemTrayIcon | None = None
        if use_tray:
            self.tray = QSystemTrayIcon(state_icon("starting"), self)
            self.tray.setToolTip("Pixel Detective — starting…")
            self.tray.setContextMenu(self._menu())
            self.tray.activated.connect(self._tray_activated)
        else:
            # No tray: the window carries the menu and closing it quits.
            self.window.menuBar().addMenu(self._menu("&Pixel Detective"))
        self.window.setWindowIcon(state_icon("idle"))
        self.window.add_folder_requested.connect(self.add_folder)
        self.window.setup_requested.connect(self.show_welcome)
        self.backend.host_event.connect(self.on_host_event)
        self.backend.ready.connect(self.on_ready)
        self.backend.failed.connect(self.on_failed)
        self._lr_timer = QTimer(self)
        self._lr_timer.setInterval(5000)
        self._lr_timer.timeout.connect(self.refresh_icon)
        self._power = PowerPolicy(self._policy_pause, self._policy_resume)
        self._power_timer = QTimer(self)
        self._power_timer.setInterval(30_000)
        self._power_timer.timeout.connect(self.check_power)
        self._rescan = QTimer(self)
        if settings.watch_rescan_minutes > 0:
            self._rescan.setInterval(int(settings.watch_rescan_minutes * 60_000))
            self._rescan.timeout.connect(self.index_configured_folders)

    # -- menu ------------------------------------------------------------------------------------------
    def _menu(self, title: str = "") -> QMenu:
        m = QMenu(title)
        self._menu_ref = m  # the tray does not own its menu: keep it alive

        def add(text: str, slot: Any) -> QAction:
            a = m.addAction(text)
            a.triggered.connect(slot)
            return a

        add("Search…", self.show_search)
        add("Set up…", self.show_welcome)
        add("Add folder…", self.add_folder)
        add("Add Lightroom catalog…", self.add_catalog)
        m.addSeparator()
        self.act_pause = add("Pause indexing", self.toggle_pause)
        self.act_sync = add("Sync to Lightroom now", self.sync_lightroom)
        self.act_sync.setEnabled(False)
        add("Recent activity", self.show_indexing)
        add("Culling…", self.show_cull)
        add("People…", self.show_people)
        add("Settings…", self.show_settings)
        add("Open log folder", self.open_logs)
        m.addSeparator()
        add("Quit", self.quit)
        return m

    def _tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_search()

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self, *, show_window: bool | None = None) -> None:
        # Everything imported so far lives as long as the app: moved out of the collector's sight, a full
        # garbage collection no longer walks it on the UI thread (tens of ms with Qt + numpy loaded).
        gc.freeze()
        self.instance.listen()
        if show_window or (show_window is None and self.tray is None):
            self.window.present()
        if self.tray is not None:
            self.tray.show()
        self.backend.start()
        if self.welcome_on_first_run and not self.backend.remote:  # no local library to set up
            from desktop.welcome import welcome_needed

            try:
                first = welcome_needed(settings_file.desktop_section())
            except Exception:
                first = False
            if first:
                self.show_welcome()  # the first launch opens a window, not only a tray icon

    def on_ready(self) -> None:
        if self.backend.remote:  # said at all times, beside the size slider: whose index this window searches
            self.engine_label = QLabel(f"  {self.backend.engine_name}")
            self.engine_label.setAccessibleName("Engine in use")
            self.engine_label.setToolTip(f"Searching the index of the engine at {self.settings.remote_url}")
            self.window.statusBar().insertPermanentWidget(0, self.engine_label)
            self.window.setWindowTitle(f"Pixel Detective — {self.backend.engine_name}")
        self._lr_timer.start()
        if self.settings.only_on_ac_power:
            self._power_timer.start()
            self.check_power()
        self.act_sync.setEnabled(self.backend.service is not None)
        if self.backend.service is None:
            self.act_sync.setToolTip(self.backend.service_problem or "")
        self.refresh_icon()
        if self._rescan.interval() > 0:
            self._rescan.start()
        self.index_configured_folders()

    def on_failed(self, message: str) -> None:
        self.refresh_icon(error=message)
        what = "reach the remote engine" if self.backend.remote else "open the index"
        self.notify(f"Pixel Detective could not {what}", message, error=True)

    def _needs_local(self, what: str) -> bool:
        """With a remote engine, say that `what` needs the engine on this computer; True when it did."""
        if not self.backend.remote:
            return False
        self.notify(
            "Pixel Detective",
            f"{what} needs the engine on this computer; this app uses the {self.backend.engine_name} "
            "(Settings…, Engine: This computer).",
        )
        return True

    def on_second_launch(self, args: list[str]) -> None:
        self.show_search()
        query = " ".join(a for a in args if not a.startswith("-")).strip()
        if query:
            self.window.query.setText(query)
            self.window.run_search()

    def shutdown(self) -> None:
        """Synchronous stop (tests, aboutToQuit): host closed after its batch, socket released."""
        self._lr_timer.stop()
        self._rescan.stop()
        self.instance.close()
        self.backend.close()
        if self.tray is not None:
            self.tray.hide()

    def quit(self) -> None:
        """Menu Quit: stop off the UI thread (the current batch may take a moment), then leave."""
        if self._quitting:
            return
        self._quitting = True
        self.window.hide()
        if self.indexing is not None:
            self.indexing.hide()
        if self.tray is not None:
            self.tray.setToolTip("Pixel Detective — stopping after the current batch…")
        self.instance.close()
        self.backend.close_async(done=_quit_event_loop)

    # -- state display ---------------------------------------------------------------------------------
    def on_host_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind in ("progress", "phase") and data.get("total"):
            self._percent = int(100 * (data.get("done") or 0) / max(1, data["total"]))
        if kind == "job_finished":
            self._percent = None
            self._job_finished(data)
        self.refresh_icon()

    def _job_finished(self, d: dict[str, Any]) -> None:
        job = self.backend.host.job(d["job"]) if self.backend.host else None
        took = (job.finished_at - job.started_at) if job and job.started_at and job.finished_at else 0.0
        summ = d.get("summary") or {}
        if d.get("status") == "failed":
            self.notify("Indexing failed", f"{d.get('label')}: {d.get('error')}", error=True)
        elif took >= LONG_RUN_SECONDS:
            done = summ.get("embedded", d.get("done"))
            failed = summ.get("failed", d.get("failed") or 0)
            self.notify("Indexing finished", f"{d.get('label')}: {done} photos indexed, {failed} failed")

    def notify(self, title: str, message: str, *, error: bool = False) -> None:
        log.log(logging.ERROR if error else logging.INFO, "%s: %s", title, message)
        self.notified.emit(title, message)
        if self.tray is not None and self.tray.supportsMessages():
            icon = QSystemTrayIcon.MessageIcon.Critical if error else QSystemTrayIcon.MessageIcon.Information
            self.tray.showMessage(title, message, icon, 8000)
        else:
            self.window.set_status(f"{title}: {message}")

    def refresh_icon(self, error: str | None = None) -> None:
        state = "error" if error else self.backend.state
        lr = self.backend.lightroom_connected()
        host = self.backend.host
        tip = {
            "starting": "starting…",
            "idle": "idle — up to date",
            "indexing": f"indexing {self._percent}%" if self._percent is not None else "indexing…",
            "paused": "indexing paused",
            "error": f"error: {error or (host.last_error if host else '')}",
            "closed": "stopped",
        }.get(state, state)
        if lr:
            tip += " · Lightroom connected"
        if self.backend.remote:
            tip = f"{self.backend.engine_name} · {tip}"
        self.act_pause.setText("Resume indexing" if state == "paused" else "Pause indexing")
        icon = state_icon(state, self._percent if state == "indexing" else None, lr)
        self.window.setWindowIcon(icon)
        if self.tray is not None:
            self.tray.setIcon(icon)
            self.tray.setToolTip(f"Pixel Detective — {tip}")
        self.current_tooltip = tip

    # -- menu actions ----------------------------------------------------------------------------------
    def show_search(self) -> None:
        self.window.present()

    def show_indexing(self) -> None:
        if self.indexing is None:
            from desktop.indexing_view import IndexingView

            self.indexing = IndexingView(self.backend)
            self.indexing.refresh_lists()
        self.indexing.show()
        self.indexing.raise_()

    def show_cull(self) -> None:
        """The last cull run's groups, picks and reasons; P / X / U override (desktop/cull_view.py)."""
        if self._needs_local("Culling (it reads the index's ledger)"):
            return
        from desktop.cull_view import CullView, LedgerCullSource

        def send(photos: list[dict[str, Any]], collections: dict[str, list[str]]) -> None:
            if photos:
                self.window._service_call("push_apply", photos)
            for name, paths in collections.items():
                self.window._service_call("show_collection", name, paths)

        self.cull_view = CullView(
            LedgerCullSource(self.settings.ledger_path),
            settings=self.settings,
            send=send if self.backend.service is not None else None,
            send_problem="" if self.backend.service is not None else (self.backend.service_problem or ""),
        )
        self.cull_view.show()
        self.cull_view.raise_()

    def show_people(self) -> None:
        """People found by the faces stage: name, merge, show their photos (desktop/people_view.py)."""
        if self._needs_local("People (it reads the index's ledger)"):
            return
        from desktop.people_view import LedgerPeopleSource, PeopleView, search_person

        self.people_view = PeopleView(
            LedgerPeopleSource(self.settings.ledger_path), self.backend.host, settings=self.settings
        )
        self.people_view.show_photos.connect(lambda name: search_person(self.window, name))
        self.people_view.show()
        self.people_view.raise_()

    def show_welcome(self) -> None:
        """The set-up window: folders or a catalog, the model's weights, what indexing will take."""
        if self.welcome is None:
            from desktop.welcome import WelcomeWindow

            self.welcome = WelcomeWindow(self.settings)
            self.welcome.start_requested.connect(self._welcome_start)
            self.welcome.finished.connect(self._welcome_closed)
        self.welcome.show()
        self.welcome.raise_()
        self.welcome.activateWindow()

    def _welcome_start(self, folders: list[str], catalogs: list[str]) -> None:
        for f in folders:
            self.add_folder(f)
        for c in catalogs:
            self.add_catalog(c)
        self.show_indexing()

    def _welcome_closed(self, _result: int) -> None:
        try:
            settings_file.write({settings_file.DESKTOP: {"welcomed": True}})
        except Exception:
            log.exception("could not remember the welcome")
        # The window is kept (Set up… shows it again): dropping it here would delete it inside its own
        # `finished` signal.
        if self.backend.host is not None and self.window.empty.kind in ("no_photos", "starting"):
            self.window.show_library_state()

    def show_settings(self) -> None:
        from desktop.settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.settings, parent=self.window)
        dlg.exec()

    def open_logs(self) -> None:
        d = log_dir(self.settings)
        d.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(d)))

    def toggle_pause(self) -> None:
        host = self.backend.host
        if host is None:
            return
        try:
            if host.state == "paused":
                host.resume()
                self._power.user_resumed()
            else:
                host.pause()
        except ClientError as e:  # a remote engine that refused or stopped answering: said, not raised
            self.notify("Pixel Detective", str(e), error=True)
        self.refresh_icon()

    # -- power -----------------------------------------------------------------------------------------
    def check_power(self) -> None:
        if self.backend.remote:
            return  # this computer's battery is no reason to pause another machine's engine
        acted = self._power.check()
        if acted:
            self.notify(
                "Pixel Detective", f"Indexing {acted}: " + ("on battery" if acted == "paused" else "on power")
            )

    def _policy_pause(self) -> None:
        if self.backend.host is not None and self.backend.host.state != "paused":
            self.backend.host.pause()
        self.refresh_icon()

    def _policy_resume(self) -> None:
        if self.backend.host is not None and self.backend.host.state == "paused":
            self.backend.host.resume()
        self.refresh_icon()

    def configured(self, key: str) -> list[str]:
        try:
            return [str(p) for p in settings_file.desktop_section().get(key, [])]
        except Exception:
            return []

    def index_configured_folders(self) -> None:
        if self.backend.remote:
            return  # this computer's folders are not on the remote engine's machine
        host = self.backend.host
        folders = [f for f in self.configured("folders") if os.path.isdir(f)]
        if host is not None and folders and not any(j.status in ("queued", "running") for j in host.jobs()):
            host.submit(folders, label="Library folders")

    def add_folder(self, folder: str | None = None) -> None:
        if self._needs_local("Adding a folder from this computer"):
            return
        folder = folder or QFileDialog.getExistingDirectory(self.window, "Add a folder to index")
        if not folder:
            return
        folders = self.configured("folders")
        if folder not in folders:
            settings_file.write({settings_file.DESKTOP: {"folders": [*folders, folder]}})
        if self.backend.host is not None:
            self.backend.host.submit([folder])
            self.refresh_icon()

    def add_catalog(self, catalog: str | None = None) -> None:
        """Index the folders a Lightroom catalog's photos live in (read from a verified copy, off the UI)."""
        if self._needs_local("Adding a Lightroom catalog from this computer"):
            return
        catalog = (
            catalog
            or QFileDialog.getOpenFileName(
                self.window, "Add a Lightroom catalog", "", "Lightroom catalogs (*.lrcat)"
            )[0]
        )
        if not catalog:
            return
        cats = self.configured("catalogs")
        if catalog not in cats:
            settings_file.write({settings_file.DESKTOP: {"catalogs": [*cats, catalog]}})

        def run() -> None:
            try:
                from catalog.reader import open_catalog

                with open_catalog(catalog) as cat:
                    folders = sorted({os.path.dirname(p.path) for p in cat.photos() if p.path})
                folders = [f for f in folders if os.path.isdir(f)]
                if folders and self.backend.host is not None:
                    self.backend.host.submit(folders, label=f"Catalog {Path(catalog).name}")
            except Exception as e:
                log.exception("catalog %s", catalog)
                self.notified.emit("Catalog not added", str(e))

        threading.Thread(target=run, name="pd-desktop-catalog", daemon=True).start()

    def sync_lightroom(self) -> None:
        """Push what the index suggests for every indexed photo to Lightroom (through the plug-in): AI and
        rules keywords, AI captions where empty, rating/label/pick from the write-back rules."""
        if self.backend.service is None:
            self.notify("Lightroom", self.backend.service_problem or "Lightroom bridge unavailable")
            return
        self.window._service_call("sync_to_lightroom")


def _quit_event_loop() -> None:
    app = QApplication.instance()
    if app is not None:
        app.quit()


def run(settings: Settings, *, no_tray: bool = False, query: Sequence[str] = ()) -> int:
    """Start the app (the `pixel-detective tray` command's options are declared in bridge/cli/tray_cmd.py);
    a second launch hands `query` (or "show yourself") to the running one. Returns the exit code."""
    query = list(query)
    existing = QApplication.instance()
    app = (
        existing
        if isinstance(existing, QApplication)
        else QApplication([sys.argv[0] if sys.argv else "pixel-detective"])
    )
    app.setApplicationName("Pixel Detective")
    app.setQuitOnLastWindowClosed(False)
    from desktop import theme

    theme.apply(app)  # dark like a photo tool unless the system prefers light
    name = server_name(settings.data_dir)
    if hand_over(name, query or ["--show"]):
        return 0  # the running instance shows its window
    setup_logging(settings)
    use_tray = False if no_tray else None
    tray = TrayApp(settings, use_tray=use_tray, instance_name=name)
    if tray.tray is None:
        # No tray: closing the window is Quit (stop the host first, then leave the event loop).
        app.lastWindowClosed.connect(tray.quit)
    app.aboutToQuit.connect(tray.shutdown)  # idempotent: Ctrl-C or logout still closes the host
    started = time.perf_counter()
    tray.start(show_window=bool(query) or None)
    log.info("window up in %.0f ms", (time.perf_counter() - started) * 1000)
    if query:
        QTimer.singleShot(0, lambda: tray.on_second_launch(query))
    return int(app.exec())
