"""The engine host in a child process, so nothing it does can stall the window.

Why: Qdrant Edge 0.9 holds the GIL through every upsert, query and optimize (bridge/store/edge.py), so
an in-process EngineHost stalls the Qt thread for 50-600 ms at a time while indexing. In a child process
the UI thread only ever waits for its own work.

`RemoteHost` offers the part of `EngineHost`'s API the app uses (submit / pause / resume / cancel / people /
search_text / search_like / jobs / state / reader / close / subscribe). Commands travel over a
multiprocessing pipe; host events come back the same way and are handed to subscribers on a receiver
thread (like EngineHost, which calls them on its worker thread). `reader()` opens the ledger read-only in
this process: SQLite readers need no owner. This module imports no Qt: the child is a plain engine.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bridge.settings import Settings

SERVICE_POLL_S = 2.0
BACKGROUND_NICENESS = 10


# -- child ---------------------------------------------------------------------------------------------
def _child(conn: Any, settings_values: dict[str, Any], with_service: bool) -> None:
    send_lock = threading.Lock()
    if hasattr(os, "nice"):
        # Indexing is background work: below the window in the scheduler (decode workers inherit it), so
        # on a machine with few cores the UI still gets the CPU the moment it needs it.
        with contextlib.suppress(OSError):
            os.nice(BACKGROUND_NICENESS)

    def send(msg: tuple[Any, ...]) -> None:
        with send_lock, contextlib.suppress(Exception):
            conn.send(msg)

    try:
        from bridge.host import EngineHost

        host = EngineHost(Settings(**settings_values), purpose="pixel-detective tray")
    except Exception as e:
        send(("failed", f"{type(e).__name__}: {e}"))
        return
    host.subscribe(lambda ev: send(("event", ev.kind, ev.data)))
    # `pixel-detective search/index/…` started while the tray runs are served here (bridge/api/routes/local.py)
    from bridge.api.server import serve_local_clients

    clients = serve_local_clients(host, "the tray app")
    service, problem = None, None
    if with_service:
        try:
            from bridge.lightroom import Service  # written separately; optional here

            service = Service(host.settings, host=host)
            service.start()
            if clients is not None:
                clients.attach_lightroom(service)  # `cull --write catalog` while Lightroom is open
        except ImportError:
            problem = "Lightroom bridge unavailable"
        except Exception as e:
            service, problem = None, f"Lightroom bridge failed: {e}"
    send(("ready", {"service": service is not None, "service_problem": problem,
                    "clients_url": clients.url if clients is not None else None}))  # fmt: skip
    stop = threading.Event()

    def poll_service() -> None:
        while not stop.wait(SERVICE_POLL_S):
            try:
                st = dict(service.status()) if service is not None else {}
            except Exception as e:
                st = {"error": str(e)}
            send(("service", {k: v for k, v in st.items() if isinstance(v, str | int | float | bool | None)}))

    if service is not None:
        threading.Thread(target=poll_service, daemon=True).start()

    def handle(call_id: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            if method == "submit":
                value: Any = host.submit(*args, **kwargs).as_dict()
            elif method in ("pause", "resume"):
                getattr(host, method)()
                value = host.state
            elif method in ("cancel", "search_text", "search_like", "wait_idle", "people"):
                value = getattr(host, method)(*args, **kwargs)
            elif method == "state":
                value = {"state": host.state, "last_error": host.last_error}
            elif method == "service":
                if service is None:
                    raise RuntimeError(problem or "Lightroom bridge unavailable")
                value = getattr(service, args[0])(*args[1:], **kwargs)
            else:
                raise AttributeError(method)
            send(("reply", call_id, True, value))
        except Exception as e:
            send(("reply", call_id, False, f"{type(e).__name__}: {e}"))

    pool = ThreadPoolExecutor(4, thread_name_prefix="pd-child-call")  # a slow query never blocks pause
    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                msg = ("close", 0)  # the app died: stop cleanly anyway (after the current batch)
            if msg[0] == "close":
                stop.set()
                if clients is not None:
                    with contextlib.suppress(Exception):
                        clients.close()
                if service is not None:
                    with contextlib.suppress(Exception):
                        service.stop()
                host.close()
                pool.shutdown(wait=True, cancel_futures=True)
                send(("reply", msg[1], True, "closed"))
                return
            _, call_id, method, args, kwargs = msg
            pool.submit(handle, call_id, method, args, kwargs)
    finally:
        with contextlib.suppress(Exception):
            conn.close()


# -- parent --------------------------------------------------------------------------------------------
@dataclass
class JobView:
    """This process's picture of a job in the child, kept current by host events."""

    id: str
    label: str = ""
    roots: list[str] = field(default_factory=list)
    status: str = "queued"
    phase: str = ""
    done: int = 0
    failed: int = 0
    total: int | None = None
    error: str | None = None
    summary: dict[str, Any] | None = None
    started_at: float | None = None
    finished_at: float | None = None
    finished: threading.Event = field(default_factory=threading.Event, repr=False)
    _last: dict[str, Any] = field(default_factory=dict, repr=False)

    def update(self, d: dict[str, Any]) -> None:
        self._last = dict(d)
        for k in ("label", "roots", "status", "phase", "done", "failed", "total", "error"):
            if k in d:
                setattr(self, k, d[k])

    def as_dict(self) -> dict[str, Any]:
        return {**self._last, "job": self.id, "status": self.status, "done": self.done, "phase": self.phase}


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict[str, Any]


class RemoteError(RuntimeError):
    pass


class RemoteHost:
    def __init__(
        self, settings: Settings, *, with_service: bool = True, start_timeout: float = 180.0
    ) -> None:
        self.settings = settings
        ctx = mp.get_context("spawn")  # never fork a process that runs Qt and threads
        self._conn, child_conn = ctx.Pipe()
        self._proc = ctx.Process(
            target=_child,
            args=(child_conn, settings.model_dump(), with_service),
            name="pixel-detective-engine",
            # Not a daemon: the indexer starts its own decode processes. If this app dies, the child
            # reads EOF on the pipe and closes the host cleanly by itself.
            daemon=False,
        )
        self._proc.start()
        child_conn.close()
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, list[Any]] = {}
        self._cv = threading.Condition()
        self._subs: list[Callable[[Event], None]] = []
        self._jobs: dict[str, JobView] = {}
        self._local = threading.local()
        self._readers: list[Any] = []
        self._state = "idle"
        self.last_error: str | None = None
        self.service_available = False
        self.service_problem: str | None = None
        self.service_status: dict[str, Any] = {}
        if not self._conn.poll(start_timeout):
            self._proc.kill()
            raise RemoteError("the engine process did not start in time")
        first = self._conn.recv()
        if first[0] != "ready":
            self._proc.join(5)
            raise RemoteError(first[1] if len(first) > 1 else "the engine process failed")
        self.service_available = bool(first[1]["service"])
        self.service_problem = first[1]["service_problem"]
        self.clients_url: str | None = first[1].get("clients_url")  # where CLI commands beside the app go
        self._rx = threading.Thread(target=self._receive, name="pd-engine-rx", daemon=True)
        self._rx.start()

    # -- plumbing --------------------------------------------------------------------------------------
    def _receive(self) -> None:
        while True:
            try:
                msg = self._conn.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "reply":
                _, call_id, ok, value = msg
                with self._cv:
                    if call_id in self._waiting:
                        self._waiting[call_id] = [ok, value]
                        self._cv.notify_all()
            elif msg[0] == "event":
                self._on_event(msg[1], msg[2])
            elif msg[0] == "service":
                self.service_status = msg[1]
        if self._state != "closed":  # the child died under us
            self._state, self.last_error = "error", "the engine process stopped unexpectedly"
            self._emit("state", {"state": "error"})
        with self._cv:
            self._cv.notify_all()

    def _call(self, method: str, *args: Any, timeout: float | None = 300.0, **kwargs: Any) -> Any:
        call_id = next(self._ids)
        with self._cv:
            self._waiting[call_id] = []
        with self._send_lock:
            self._conn.send(("call", call_id, method, args, kwargs))
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while not self._waiting[call_id]:
                if not self._rx.is_alive():
                    raise RemoteError("the engine process is not running")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    del self._waiting[call_id]
                    raise RemoteError(f"{method}: no answer from the engine process")
                self._cv.wait(0.5 if left is None else min(0.5, left))
            ok, value = self._waiting.pop(call_id)
        if not ok:
            raise RemoteError(value)
        return value

    def _job(self, d: dict[str, Any]) -> JobView:
        jid = d["job"]
        jv = self._jobs.get(jid)
        if jv is None:
            jv = self._jobs[jid] = JobView(jid)
        jv.update(d)
        return jv

    def _on_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind in ("job_started", "phase", "progress", "job_finished") and "job" in data:
            jv = self._job(data)
            if kind == "job_started":
                jv.started_at = time.time()
                if self._state != "paused":
                    self._state = "indexing"
            elif kind == "job_finished":
                jv.finished_at, jv.summary = time.time(), data.get("summary")
                jv.finished.set()
                if data.get("status") == "failed":
                    self.last_error = data.get("error")
        elif kind == "state" and "state" in data:
            self._state = data["state"]
            held = self._jobs.get(data.get("job", ""))
            if held is not None and data["state"] == "paused":
                held.status = "queued"  # paused mid-run: the host re-queues it for resume
        self._emit(kind, data)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        for cb in list(self._subs):
            with contextlib.suppress(Exception):
                cb(Event(kind, data))

    # -- EngineHost's API ------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self._subs.append(callback)
        return lambda: self._subs.remove(callback) if callback in self._subs else None

    @property
    def state(self) -> str:
        return self._state

    def jobs(self) -> list[JobView]:
        return list(self._jobs.values())

    def job(self, job_id: str) -> JobView | None:
        return self._jobs.get(job_id)

    def submit(self, roots: Sequence[Any], *, captions: bool | None = None, label: str = "") -> JobView:
        d = self._call("submit", [str(r) for r in roots], captions=captions, label=label)
        jv = self._jobs.get(d["job"])
        if jv is None or jv.status == "queued":  # an event may already have moved it on
            jv = self._job(d)
        return jv

    def pause(self) -> None:
        self._state = self._call("pause")

    def resume(self) -> None:
        self._state = self._call("resume")

    def cancel(self, job_id: str) -> bool:
        return bool(self._call("cancel", job_id))

    def wait_idle(self, timeout: float | None = None) -> bool:
        return bool(self._call("wait_idle", timeout, timeout=None))

    def search_text(self, query: str, **kw: Any) -> list[Any]:
        return list(self._call("search_text", query, **kw))

    def search_like(self, paths: Sequence[str], **kw: Any) -> list[Any]:
        return list(self._call("search_like", list(paths), **kw))

    def people(self, action: str, *args: Any) -> dict[str, Any]:
        """EngineHost.people in the child (the People view's update / name / merge)."""
        return dict(self._call("people", action, *args))

    def service_call(self, method: str, *args: Any, **kw: Any) -> Any:
        return self._call("service", method, *args, **kw)

    def reader(self) -> Any:
        """This thread's read-only ledger connection (the child owns the writer)."""
        from bridge.state.ledger import Ledger

        led = getattr(self._local, "ledger", None)
        if led is None:
            led = self._local.ledger = Ledger(self.settings.ledger_path, readonly=True)
            self._readers.append(led)
        return led

    def close(self, timeout: float = 180.0) -> None:
        """The child stops after its current batch, closes the host (ledger consistent), and exits."""
        if self._state == "closed":
            return
        if self._proc.is_alive() and self._rx.is_alive():
            with contextlib.suppress(RemoteError, OSError), self._send_lock:
                self._conn.send(("close", 0))
                deadline = time.monotonic() + timeout
                while self._proc.is_alive() and time.monotonic() < deadline:
                    self._proc.join(0.1)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
        self._state = "closed"
        for led in self._readers:
            with contextlib.suppress(Exception):
                led.close()
        with contextlib.suppress(Exception):
            self._conn.close()
        self._emit("state", {"state": "closed"})


class RemoteService:
    """The Lightroom service in the child, as the window calls it."""

    def __init__(self, host: RemoteHost) -> None:
        self.host = host

    def status(self) -> dict[str, Any]:
        return dict(self.host.service_status)

    def stop(self) -> None:  # stopped by the child when the host closes
        pass

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *a, **kw: self.host.service_call(name, *a, **kw)
