"""Runs the Lightroom plugin's own Lua files under real Lua 5.1 (lupa) with the SDK stand-in in `sdk/`.

One thread drives everything: `step()` accepts/reads the real localhost TCP sockets behind `LrSocket`,
delivers their events to the Lua callbacks, then resumes the due `LrTasks`. lupa runtimes are not
thread-safe, so nothing else ever calls into Lua. The clock is real time plus an offset that `advance()`
moves, so 5 s / 30 s deadlines are tested without waiting.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lupa.lua51 import LuaError, LuaRuntime

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "lrplugin" / "PixelDetective.lrplugin"
SDK_DIR = Path(__file__).resolve().parent / "sdk"


@dataclass
class StandInSocket:
    """One `LrSocket`: a listener that takes one client at a time."""

    id: int
    mode: str
    timeout: float
    listener: socket.socket | None
    port: int
    state: str = "listening"  # listening | connected | timed_out | closed
    conn: socket.socket | None = None
    buf: bytes = b""
    listen_since: float = 0.0
    sent: list[bytes] = field(default_factory=list)


class Host:
    """What the Lua stand-in calls into: clock, files, sockets. Events are queued, never delivered here."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.offset = 0.0
        self.sockets: dict[int, StandInSocket] = {}
        self.events: list[tuple[int, str, Any]] = []
        self._next = 0

    def now(self) -> float:
        return time.time() + self.offset

    def standard_path(self, which: str) -> str:
        path = self.home if which == "home" else self.home / which
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    # files
    def file_exists(self, path: str) -> str | bool:
        p = Path(path)
        return "directory" if p.is_dir() else ("file" if p.exists() else False)

    def read_file(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except OSError:
            return None

    def make_dirs(self, path: str) -> bool:
        Path(path).mkdir(parents=True, exist_ok=True)
        return True

    def delete(self, path: str) -> bool:
        p = Path(path)
        if p.is_dir():
            shutil.rmtree(p)
            return True
        try:
            p.unlink()
            return True
        except FileNotFoundError:
            return False

    def move(self, src: str, dst: str) -> bool:
        if Path(dst).exists():
            return False
        os.rename(src, dst)
        return True

    # sockets
    def sock_bind(self, mode: str, port: int, timeout: float) -> int:
        self._next += 1
        lst = socket.create_server(("127.0.0.1", int(port)), backlog=4)
        lst.setblocking(False)
        s = StandInSocket(
            self._next, mode, float(timeout), lst, lst.getsockname()[1], listen_since=self.now()
        )
        self.sockets[s.id] = s
        self.events.append((s.id, "onConnecting", s.port))
        return s.id

    def sock_send(self, sid: int, msg: bytes | str) -> bool:
        s = self.sockets.get(sid)
        data = msg.encode() if isinstance(msg, str) else bytes(msg)
        if s is None or s.conn is None:
            return False
        s.sent.append(data)
        try:
            # A frame can be up to 1 MiB: wait for the peer to take it, as Lightroom's socket does.
            s.conn.settimeout(10.0)
            s.conn.sendall(data)
            s.conn.setblocking(False)
        except OSError:
            self._drop(s, "onClosed")
            return False
        return True

    def sock_close(self, sid: int) -> None:
        s = self.sockets.get(sid)
        if s is None or s.state == "closed":
            return
        if s.conn is not None:
            s.conn.close()
            s.conn = None
        if s.listener is not None:
            s.listener.close()
            s.listener = None
        s.state = "closed"
        self.events.append((s.id, "onClosed", None))

    def sock_reconnect(self, sid: int) -> None:
        s = self.sockets.get(sid)
        if s is None or s.state == "closed":
            return
        if s.conn is not None:
            s.conn.close()
            s.conn = None
        s.buf = b""
        s.state = "listening"
        s.listen_since = self.now()
        self.events.append((s.id, "onConnecting", s.port))

    def _drop(self, s: StandInSocket, event: str) -> None:
        if s.conn is not None:
            s.conn.close()
            s.conn = None
        s.state = "disconnected"
        s.buf = b""
        self.events.append((s.id, event, None))

    def poll(self) -> None:
        """Accept, read and time out; only queues events."""
        for s in list(self.sockets.values()):
            if s.state == "listening" and s.listener is not None:
                try:
                    conn, _ = s.listener.accept()
                except (BlockingIOError, InterruptedError):
                    if self.now() - s.listen_since > s.timeout:
                        s.state = "timed_out"
                        self.events.append((s.id, "onError", "timeout"))
                    continue
                conn.setblocking(False)
                s.conn, s.state = conn, "connected"
                self.events.append((s.id, "onConnected", s.port))
            elif s.state == "connected" and s.conn is not None:
                while True:
                    try:
                        chunk = s.conn.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        chunk = b""
                    if not chunk:
                        self._drop(s, "onClosed")
                        break
                    if s.mode == "receive":
                        s.buf += chunk
                        while b"\n" in s.buf:
                            line, s.buf = s.buf.split(b"\n", 1)
                            self.events.append((s.id, "onMessage", line.rstrip(b"\r")))

    def wait_io(self, timeout: float) -> None:
        socks = [s.conn or s.listener for s in self.sockets.values() if s.state in ("listening", "connected")]
        socks = [x for x in socks if x is not None]
        if socks and timeout > 0:
            select.select(socks, [], [], timeout)
        elif timeout > 0:
            time.sleep(timeout)


class Harness:
    """A Lua 5.1 state with the SDK stand-in and the plugin folder; tests drive it with `run_until`."""

    def __init__(self, home: Path, plugin_dir: Path = PLUGIN_DIR) -> None:
        self.home = home
        self.host = Host(home)
        self.lua = LuaRuntime(unpack_returned_tuples=True)
        boot = self.lua.execute((SDK_DIR / "boot.lua").read_text())
        boot(str(SDK_DIR), str(plugin_dir), self.host)
        self.sdk = self.lua.globals()._SDK
        self.import_ = self.lua.globals()["import"]
        self.tasks = self.import_("LrTasks")
        self.import_("LrDialogs")  # creates the dialog script queue
        self.sockets = self.import_("LrSocket")
        self.catalog = self.import_("LrApplication").activeCatalog()
        self.plugin_dir = plugin_dir
        self.callback_errors: list[str] = []

    # --- running -------------------------------------------------------------------------------------------
    def require(self, name: str) -> Any:
        return self.lua.globals().require(name)

    def run_file(self, name: str) -> None:
        """Run a plugin file the way Lightroom runs a menu item's script (top level, not in a task)."""
        chunk = self.lua.eval(f"assert(loadfile([[{self.plugin_dir / name}]]))")
        chunk()

    def start_task(self, fn: Callable[..., Any], name: str = "test") -> None:
        self.tasks.startAsyncTask(fn, name)

    def step(self, wait: float = 0.0) -> None:
        self.host.wait_io(wait)
        self.host.poll()
        while self.host.events:
            sid, event, arg = self.host.events.pop(0)
            try:
                self.sockets._deliver(sid, event, arg)
            except (
                LuaError
            ) as e:  # Lightroom logs callback errors and carries on; tests assert there are none
                self.callback_errors.append(f"{event}: {e}")
        self.tasks._tick()

    def run_until(self, pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            self.step(0.005)
            value = pred()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}; errors: {self.errors()}")

    def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.step(0.005)

    def advance(self, seconds: float) -> None:
        """Move the stand-in clock forward (LrDate, LrTasks.sleep, socket timeouts)."""
        self.host.offset += seconds
        self.step()

    def errors(self) -> list[str]:
        return [*self.callback_errors, *(self.sdk.errors[i] for i in range(1, len(self.sdk.errors) + 1))]

    # --- catalog helpers -----------------------------------------------------------------------------------
    def add_photos(self, paths: list[Path]) -> None:
        for p in paths:
            self.catalog._addPhoto(self.catalog, str(p))

    def select(self, paths: list[Path]) -> None:
        photos = [self.photo(p) for p in paths]
        self.catalog.setSelectedPhotos(self.catalog, photos[0], self.lua.table_from(photos[1:]))

    def answer_dialogs(self, *answers: Any) -> None:
        for a in answers:
            self.sdk.dialogAnswers[len(self.sdk.dialogAnswers) + 1] = a

    def shown(self) -> list[dict[str, Any]]:
        return [dict(self.sdk.shown[i]) for i in range(1, len(self.sdk.shown) + 1)]

    def keyword_tree(self) -> dict[str, Any]:
        """{name: subtree} for the whole keyword tree; duplicate sibling names appear as `name#2`."""

        def walk(nodes: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for i in range(1, len(nodes) + 1):
                k = nodes[i]
                key = k.name
                n = 2
                while key in out:
                    key = f"{k.name}#{n}"
                    n += 1
                out[key] = walk(k.children)
            return out

        return walk(self.catalog.rootKeywords)

    def photo(self, path: Path | str) -> Any:
        return self.catalog.findPhotoByPath(self.catalog, str(path))

    def photo_keywords(self, path: Path | str) -> list[str]:
        """Full paths ("A|B|C") of the keywords on a photo."""
        out = []
        kws = self.photo(path).keywordList
        for i in range(1, len(kws) + 1):
            k, names = kws[i], []
            while k is not None:
                names.append(k.name)
                k = k.parent
            out.append("|".join(reversed(names)))
        return out

    def collections(self) -> dict[str, Any]:
        """{name: [paths in order]} for root collections, {set name: {...}} for sets."""

        def walk(nodes: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for i in range(1, len(nodes) + 1):
                c = nodes[i]
                if c.kind == "set":
                    out[c.name] = walk(c.children)
                else:
                    out[c.name] = [c.photos[j].raw.path for j in range(1, len(c.photos) + 1)]
            return out

        return walk(self.catalog.rootCollections)

    def selection(self) -> list[str]:
        sel = self.catalog.selection
        return [sel[i].raw.path for i in range(1, len(sel) + 1)]
