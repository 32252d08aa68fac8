"""Watch folders (watchdog): index new and changed files once they are stable, drop deleted ones, and
rescan periodically as a safety net for events the OS did not deliver (network shares, sleep).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from bridge.formats import is_supported
from bridge.scan import PathFilter, normalize_root


@dataclass
class _Pending:
    first_seen: float
    last_event: float
    last_stat: tuple[int, int] | None = None


@dataclass(eq=False)  # handlers must stay hashable: watchdog keeps them in sets
class ChangeCollector(FileSystemEventHandler):
    """Collects changed and deleted paths; `ready()` hands out files whose size+mtime stopped changing."""

    roots: list[str]
    flt: PathFilter
    stable_seconds: float = 2.0
    pending: dict[str, _Pending] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _wanted(self, path: str) -> bool:
        if not is_supported(path):
            return False
        for root in self.roots:
            if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                parts = rel.split("/")
                return all(
                    not self.flt.dir_excluded("/".join(parts[: i + 1])) for i in range(len(parts) - 1)
                ) and self.flt.file_wanted(rel)
        return False

    def _touch(self, path: str) -> None:
        if not self._wanted(path):
            return  # temp names (.part, ~$x, ._x, .tmp) and unsupported files are ignored
        now = time.monotonic()
        with self.lock:
            self.deleted.discard(path)
            p = self.pending.get(path)
            if p is None:
                self.pending[path] = _Pending(now, now)
            else:
                p.last_event = now

    def _gone(self, path: str) -> None:
        with self.lock:
            self.pending.pop(path, None)
            if is_supported(path):
                self.deleted.add(path)

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._touch(os.fsdecode(event.src_path))

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._touch(os.fsdecode(event.src_path))

    def on_closed(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._touch(os.fsdecode(event.src_path))

    def on_deleted(self, event: FileSystemEvent) -> None:
        self._gone(os.fsdecode(event.src_path))

    def on_moved(self, event: FileSystemEvent) -> None:
        # Editors save by writing a temp file and renaming it over the photo: the destination is what counts.
        self._gone(os.fsdecode(event.src_path))
        if not event.is_directory:
            self._touch(os.fsdecode(event.dest_path))

    def ready(self) -> tuple[list[str], list[str]]:
        """(stable changed files, deleted files) taken out of the queue."""
        now = time.monotonic()
        out: list[str] = []
        with self.lock:
            for path, p in list(self.pending.items()):
                if now - p.last_event < self.stable_seconds:
                    continue
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    del self.pending[path]
                    continue
                sig = (st.st_size, st.st_mtime_ns)
                if p.last_stat == sig:
                    out.append(path)
                    del self.pending[path]
                else:  # still growing (a slow copy): look again after another quiet period
                    p.last_stat = sig
                    p.last_event = now
            gone, self.deleted = sorted(self.deleted), set()
        return sorted(out), gone


def watch_forever(
    engine: Any,
    roots: list[str],
    *,
    rules: Any = None,
    stop: threading.Event | None = None,
    poll: float = 0.5,
    on_run: Any = None,
    catch_up: bool = True,
) -> None:
    """Run until `stop` is set (or Ctrl-C). Each batch of ready files becomes one indexing run."""
    from bridge.cli.common import console

    s = engine.settings
    stop = stop or threading.Event()
    roots = [normalize_root(r) for r in roots]
    collector = ChangeCollector(roots, PathFilter(s.include, s.exclude), s.watch_stable_seconds)
    observer = Observer()
    for root in roots:
        observer.schedule(collector, root, recursive=True)
    observer.start()
    # Catch up with what changed while nobody watched, then follow events.
    if catch_up:
        summary = engine.indexer(rules=rules, stop=stop).run(roots)
        if on_run:
            on_run(summary)
    last_rescan = time.monotonic()
    console.print(f"watching {', '.join(roots)} (Ctrl-C to stop)")
    try:
        while not stop.is_set():
            stop.wait(poll)
            changed, gone = collector.ready()
            if gone:
                engine.indexer(rules=rules, stop=stop).forget(gone)
            if changed:
                summary = engine.indexer(rules=rules, stop=stop).run(changed)
                if on_run:
                    on_run(summary)
            if s.watch_rescan_minutes and time.monotonic() - last_rescan > s.watch_rescan_minutes * 60:
                summary = engine.indexer(rules=rules, stop=stop).run(roots)
                last_rescan = time.monotonic()
                if on_run:
                    on_run(summary)
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join()
