"""The Qt side of `EngineHost`: started off the UI thread, host events re-emitted as Qt signals, queries
run on a thread pool with a generation number so only the latest query's results reach the window.

Why a separate object: the tray, the search window and the indexing view all need the host, and none of
them may block on it (opening the engine loads a model; a query encodes text; `close` waits for a batch).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, cast

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from bridge.settings import Settings

log = logging.getLogger("pixel_detective.desktop")


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], None]) -> None:
        super().__init__()
        self.fn = fn
        self.setAutoDelete(True)

    def run(self) -> None:
        self.fn()


class Backend(QObject):
    """Owns the EngineHost (and the Lightroom service when it can be imported)."""

    ready = Signal()  # the host is open: searches and jobs can start
    failed = Signal(str)  # the host could not be opened (index busy, damaged ledger …)
    host_event = Signal(str, dict)  # HostEvent(kind, data), delivered on the UI thread
    results = Signal(int, list, str)  # generation, results, error ("" when none)
    closed = Signal()

    def __init__(
        self,
        settings: Settings,
        *,
        with_service: bool = True,
        engine_process: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        # The host runs in a child process by default: Qdrant Edge holds the GIL while it writes, which
        # would stall this (UI) process for up to ~0.6 s at a time (desktop/engine_process.py).
        self.engine_process = engine_process
        self.settings = settings
        self.host: Any = None
        self.service: Any = None
        self.service_problem: str | None = "starting…"
        self.with_service = with_service
        self._generation = 0
        self._pool = QThreadPool(self)
        # Two query threads: a new query need not wait for a slow stale one, and the UI thread stays free.
        self._pool.setMaxThreadCount(2)
        self._close_lock = threading.Lock()
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the engine on a plain thread; `ready` or `failed` arrives on the UI thread."""
        threading.Thread(target=self._open, name="pd-desktop-open", daemon=True).start()

    @property
    def remote(self) -> bool:
        """Whether this app uses an engine on another machine (`settings.remote_url`, bridge/api/remote_host.py)."""
        return bool(self.settings.remote_url)

    @property
    def engine_name(self) -> str:
        """`remote engine HOST:PORT`, or "" for the engine on this computer (what the tray and status say)."""
        if not self.remote:
            return ""
        host = self.host
        return f"remote engine {host.display_name if host is not None else self.settings.remote_url}"

    def _open(self) -> None:
        if self.remote:
            self._open_remote()
            return
        try:
            if self.engine_process:
                from desktop.engine_process import RemoteHost, RemoteService

                host: Any = RemoteHost(self.settings, with_service=self.with_service)
                if host.service_available:
                    self.service, self.service_problem = RemoteService(host), None
                else:
                    self.service_problem = host.service_problem or "Lightroom bridge unavailable"
            else:
                from bridge.host import EngineHost

                host = EngineHost(self.settings, purpose="pixel-detective tray")
        except Exception as e:  # OwnerBusy, LedgerError …: shown in the tray, not raised
            log.exception("engine host failed to start")
            self.failed.emit(f"{type(e).__name__}: {e}")
            return
        # The callback runs on a worker thread; emitting a signal queues it to the UI thread.
        host.subscribe(lambda ev: self.host_event.emit(ev.kind, dict(ev.data)))
        self.host = host
        if self.with_service and not self.engine_process:
            self._start_service(host)
        self.ready.emit()

    def _open_remote(self) -> None:
        """No local index is opened; the Lightroom plug-in's requests are answered by the remote engine (the
        service runs here, in the tray's process, over the same client: bridge/api/plugin_remote.py)."""
        from bridge.api.client import ClientError
        from bridge.api.remote_host import ApiHost

        try:
            host = ApiHost(self.settings)
        except ClientError as e:  # a sentence already: wrong key, wrong certificate, not answering
            self.failed.emit(str(e))
            return
        except Exception:
            log.exception("remote engine failed to open")
            self.failed.emit(
                f"could not use the remote engine at {self.settings.remote_url}; the log says why"
            )
            return
        host.subscribe(lambda ev: self.host_event.emit(ev.kind, dict(ev.data)))
        self.host = host
        if self.with_service:
            from bridge.api.plugin_remote import PluginRemote

            self._start_service(PluginRemote(host))
        else:
            self.service_problem = "the Lightroom bridge is off in this app"
        self.ready.emit()

    def _start_service(self, host: Any) -> None:
        try:
            from bridge.lightroom import Service  # written separately; optional here
        except ImportError:
            self.service_problem = "Lightroom bridge unavailable"
            return
        try:
            svc = Service(self.settings, host=host)
            svc.start()
            self.service, self.service_problem = svc, None
        except Exception:  # the reason goes to the log; the tray says a sentence
            self.service_problem = "the Lightroom bridge did not start; the log says why"
            log.exception("service failed to start")

    def lightroom_connected(self) -> bool:
        if self.service is None:
            return False
        try:
            return bool(self.service.status().get("lightroom_connected"))
        except Exception:
            return False

    def close(self) -> None:
        """Stop the service and the host (after the current batch: the ledger stays consistent).
        Safe from any thread and more than once; a second caller waits until the first is done."""
        with self._close_lock:
            if self._closed:
                return
            self._generation += 1  # results of queries still running are dropped
            if self.service is not None:
                try:
                    self.service.stop()
                except Exception:
                    log.exception("service stop failed")
            if self.host is not None:
                self.host.close()
            with contextlib.suppress(RuntimeError):  # the Qt side may already be torn down at exit
                self._pool.waitForDone(5000)
            self._closed = True

    def close_async(self, done: Callable[[], None] | None = None) -> None:
        """`close` on a thread, then `closed` on the UI thread (Quit must not freeze the tray)."""

        def run() -> None:
            self.close()
            with contextlib.suppress(RuntimeError):
                self.closed.emit()

        if done is not None:
            self.closed.connect(done)
        threading.Thread(target=run, name="pd-desktop-close", daemon=True).start()

    @property
    def state(self) -> str:
        if self.host is None:
            return "starting"
        return str(self.host.state)

    # -- queries ---------------------------------------------------------------------------------------
    def search(
        self,
        *,
        text: str | None = None,
        like: Sequence[str] | None = None,
        where: str = "",
        limit: int = 500,
    ) -> int:
        """Start a query off the UI thread; returns its generation (results carry it back)."""
        self._generation += 1
        gen = self._generation
        host = self.host

        def run() -> None:
            if gen != self._generation:
                return  # superseded before it started
            try:
                if host is None:
                    raise RuntimeError("the index is still starting")
                from bridge.search.where import parse_where

                flt: Any = parse_where(where) if where.strip() else None  # checked here, remote or not
                if getattr(host, "remote", False):
                    flt = where.strip() or None  # the remote engine takes the --where text itself
                if not like and not (text or "").strip():
                    hits = self._metadata_search(host, flt, limit)  # filters alone: no model needed
                elif like:
                    hits = host.search_like(list(like), limit=limit, where=flt)
                else:
                    hits = host.search_text(text or "", limit=limit, where=flt)
                if gen == self._generation:
                    self.results.emit(gen, hits, "")
            except Exception as e:
                if gen == self._generation:
                    self.results.emit(gen, [], str(e) or type(e).__name__)

        self._pool.start(_Task(run))
        return gen

    def _metadata_search(self, host: Any, flt: Any, limit: int) -> list[Any]:
        """Photos whose metadata pass the filters, newest first (`bridge.search.query.metadata_search`, what
        `search --where` runs without a query), with no model weights: the host's `search_metadata` when it
        has one, else read from this process's read-only ledger (the engine process does not offer it)."""
        if callable(getattr(host, "search_metadata", None)):  # the host's own (in-process EngineHost)
            return list(host.search_metadata(limit=limit, where=flt))
        from types import SimpleNamespace

        from bridge.search.query import metadata_search

        led = host.reader()
        engine = SimpleNamespace(model_id=self.settings.model, ledger=led)  # all metadata_search reads
        return metadata_search(cast(Any, engine), flt, limit=limit, ledger=led)

    @property
    def generation(self) -> int:
        return self._generation
