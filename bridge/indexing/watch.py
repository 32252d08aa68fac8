"""Watch folders (watchdog): index new and changed files once they are stable, drop deleted ones, and
rescan periodically as a safety net for events the OS did not deliver (network shares, sleep).

Moves and renames go through the same code path as `index` (`Indexer.run(changed, gone=...)`): the new
paths are scanned first, so content that only moved is found by its fingerprint and re-pathed, and the old
paths are dropped after that. Deletions are therefore held back while files are still settling (a move's
destination waits `stable_seconds`), up to `max_hold` seconds. A folder deleted or moved out of the tree
drops every file under it at once (the OS reports the folder, not its files).

Object-storage roots (`s3://bucket/prefix`) send no events: `ListingPoller` lists them every
`object_poll_seconds` and diffs the listing with the last one (new or changed stamp → changed, absent →
gone). A listing that fails, or comes back empty, is never taken as "everything deleted": it is skipped.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from bridge.files.formats import is_supported
from bridge.files.objects import ObjectStoreError, StorageOptions, is_url
from bridge.indexing.context import Rules
from bridge.indexing.pipeline import Indexer, RunSummary
from bridge.indexing.scan import PathFilter, normalize_root, walk_objects
from bridge.metadata.sidecar import is_sidecar_name, photos_of_sidecar
from bridge.records import SourceOutage
from bridge.settings import Settings

log = logging.getLogger(__name__)
HOLD_FACTOR = 5  # deletions wait at most this many quiet periods for pending files (moves) to settle
MANY_CHANGED = 200  # more new or changed objects than this under a root: rescan the root (one listing)


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
    deleted: dict[str, float] = field(default_factory=dict)  # path (file or folder) -> when it went
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _inside(self, path: str) -> bool:
        return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in self.roots)

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
        if is_sidecar_name(path):
            self._sidecar(path)
            return
        if not self._wanted(path):
            return  # temp names (.part, ~$x, ._x, .tmp) and unsupported files are ignored
        self._pend(path)

    def _touch_dir(self, path: str) -> None:
        """A folder moved into (or within) the tree: scan it whole, like `index` would."""
        for root in self.roots:
            if path.startswith(root.rstrip(os.sep) + os.sep):
                parts = os.path.relpath(path, root).replace(os.sep, "/").split("/")
                if not any(self.flt.dir_excluded("/".join(parts[: i + 1])) for i in range(len(parts))):
                    self._pend(path)
                return

    def _pend(self, path: str) -> None:
        now = time.monotonic()
        with self.lock:
            self.deleted.pop(path, None)
            p = self.pending.get(path)
            if p is None:
                self.pending[path] = _Pending(now, now)
            else:
                p.last_event = now

    def _sidecar(self, path: str) -> None:
        """An XMP sidecar created, edited, deleted or renamed: its photos changed (their metadata). One
        listing of its folder finds them; the run re-reads their sidecars, not their pixels."""
        if not self._inside(path):
            return
        folder, name = os.path.split(path)
        try:
            names = os.listdir(folder)
        except OSError:
            return  # the folder went: its photos' own events (or the rescan) decide
        for photo in photos_of_sidecar(name, names):
            self._touch(os.path.join(folder, photo))

    def _gone(self, path: str, *, is_directory: bool = False) -> None:
        if not is_directory and is_sidecar_name(path):
            self._sidecar(path)  # a sidecar deleted: its photos fall back to their embedded metadata
            return
        if not (is_directory or is_supported(path)) or not self._inside(path):
            return
        with self.lock:
            self.pending.pop(path, None)
            self.deleted.setdefault(path, time.monotonic())

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
        self._gone(os.fsdecode(event.src_path), is_directory=event.is_directory)

    def on_moved(self, event: FileSystemEvent) -> None:
        # Editors save by writing a temp file and renaming it over the photo: the destination is what counts.
        # A move out of the tree arrives as a deletion (or with a destination outside the roots).
        self._gone(os.fsdecode(event.src_path), is_directory=event.is_directory)
        dest = os.fsdecode(event.dest_path) if event.dest_path else ""
        if not dest:
            return
        if event.is_directory:
            self._touch_dir(dest)
        else:
            self._touch(dest)

    def ready(self) -> tuple[list[str], list[str]]:
        """(stable changed files or folders, deleted files or folders) taken out of the queue. Deletions
        wait while other changes settle (a move's destination), so moved content is re-pathed."""
        now = time.monotonic()
        out: list[str] = []
        with self.lock:
            for path, p in list(self.pending.items()):
                if now - p.last_event < self.stable_seconds:
                    continue
                try:
                    st = os.stat(path)
                except OSError:  # gone again, or unreadable: the next event or rescan decides
                    del self.pending[path]
                    continue
                sig = (st.st_size, st.st_mtime_ns)
                if p.last_stat == sig:
                    out.append(path)
                    del self.pending[path]
                else:  # still growing (a slow copy): look again after another quiet period
                    p.last_stat = sig
                    p.last_event = now
            hold = max(10.0, HOLD_FACTOR * self.stable_seconds)
            oldest = min(self.deleted.values(), default=now)
            if self.deleted and (not self.pending or now - oldest > hold):
                gone, self.deleted = sorted(self.deleted), {}
            else:
                gone = []
        return _outermost(out), gone


def _outermost(paths: list[str]) -> list[str]:
    """Sorted paths without those under another one in the list (a moved folder and its files' events)."""
    out: list[str] = []
    for p in sorted(paths):
        if not out or not p.startswith(out[-1].rstrip(os.sep) + os.sep):
            out.append(p)
    return out


@dataclass
class ListingPoller:
    """Object-storage roots, polled: `poll()` lists each root when `interval` seconds have passed and returns
    (changed objects, gone objects) against the previous listing. Objects appear whole (an upload is
    atomic), so nothing waits to settle."""

    roots: list[str]
    flt: PathFilter
    options: StorageOptions
    interval: float
    listings: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    due: float = 0.0

    def baseline(self) -> None:
        """The listing the first poll is compared with (taken before the catch-up run, so nothing that
        changes during it is missed)."""
        for root in self.roots:
            listing = self._list(root)
            if listing is not None:
                self.listings[root] = listing
        self.due = time.monotonic() + self.interval

    def poll(self) -> tuple[list[str], list[str]]:
        now = time.monotonic()
        if now < self.due:
            return [], []
        self.due = now + self.interval
        changed: list[str] = []
        gone: list[str] = []
        for root in self.roots:
            new = self._list(root)
            if new is None:
                continue  # failed or empty: not a deletion; the next poll looks again
            old = self.listings.get(root)
            self.listings[root] = new
            if old is None:  # no listing to compare with (the baseline failed): scan the whole root
                changed.append(root)
                continue
            fresh = [u for u, sig in new.items() if old.get(u) != sig]
            changed.extend([root] if len(fresh) > MANY_CHANGED else fresh)
            gone.extend(u for u in old if u not in new)
        return changed, gone

    def _list(self, root: str) -> dict[str, tuple[int, int]] | None:
        try:
            listing = {u: (size, stamp) for u, size, stamp in walk_objects(root, self.flt, self.options)}
        except ObjectStoreError as e:
            log.warning("watch: %s", e)
            return None
        return listing or None


class IndexerSource(Protocol):
    """What the watcher needs of its owner (`bridge.engine.Engine` is one): settings, and a fresh `Indexer`
    per batch of changes."""

    settings: Settings

    def indexer(self, *, stop: threading.Event | None = None, rules: Rules | None = None) -> Indexer: ...


def watch_forever(
    engine: IndexerSource,
    roots: list[str],
    *,
    rules: Rules | None = None,
    stop: threading.Event | None = None,
    poll: float = 0.5,
    on_run: Callable[[RunSummary], None] | None = None,
    catch_up: bool = True,
    on_start: Callable[[list[str]], None] | None = None,
) -> None:
    """Run until `stop` is set (or Ctrl-C). Each batch of ready files becomes one indexing run.
    `on_start(roots)` is called once the folders are watched (the CLI says so; the engine prints nothing)."""
    from bridge.indexing.upkeep import ensure_space

    s = engine.settings
    stop = stop or threading.Event()

    def indexer() -> Indexer:
        ensure_space(s, 0, "index the changes")  # a full disk: stop with a message, never SIGBUS (R45)
        return engine.indexer(rules=rules, stop=stop)

    roots = [normalize_root(r) for r in roots]
    folders = [r for r in roots if not is_url(r)]
    flt = PathFilter(s.include, s.exclude)
    collector = ChangeCollector(folders, flt, s.watch_stable_seconds)
    observer = Observer()
    for root in folders:
        observer.schedule(collector, root, recursive=True)
    observer.start()
    urls = [r for r in roots if is_url(r)]
    poller = ListingPoller(urls, flt, s.object_storage_options, s.object_poll_seconds) if urls else None
    if poller is not None:
        poller.baseline()
    # Catch up with what changed while nobody watched, then follow events.
    if catch_up:
        summary = indexer().run(roots)
        if on_run:
            on_run(summary)
    last_rescan = time.monotonic()
    if on_start is not None:
        on_start(roots)
    # Changes whose run stopped because a bucket's store was down: tried again after object_poll_seconds.
    held: tuple[list[str], list[str]] = ([], [])
    retry_at = 0.0

    def attempt(changed: list[str], gone: list[str]) -> None:
        nonlocal held, retry_at
        try:
            summary = indexer().run(changed, gone=gone)
        except SourceOutage as e:  # not the files', not ours: keep watching, try the same changes later
            log.warning("watch: %s; trying again in %.0f s", e, s.object_poll_seconds)
            held = (list(dict.fromkeys(held[0] + changed)), list(dict.fromkeys(held[1] + gone)))
            retry_at = time.monotonic() + s.object_poll_seconds
            return
        if on_run:
            on_run(summary)

    try:
        while not stop.is_set():
            stop.wait(poll)
            changed, gone = collector.ready()
            if poller is not None:
                polled_changed, polled_gone = poller.poll()
                changed, gone = changed + polled_changed, gone + polled_gone
            if (held[0] or held[1]) and time.monotonic() >= retry_at:
                changed, gone = held[0] + changed, held[1] + gone
                held = ([], [])
            if changed or gone:
                # One run for both, new paths first: moved content is re-pathed, not re-embedded.
                attempt(changed, gone)
            if s.watch_rescan_minutes and time.monotonic() - last_rescan > s.watch_rescan_minutes * 60:
                last_rescan = time.monotonic()
                attempt(roots, [])
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join()
