"""One handler per plugin request type. They run on the service's small thread pool (never on the read
loop, so a slow search does not hold up pings) and every request gets exactly one reply: the handler's
result, or an `error` frame — an exception becomes `internal` and the service stays up.

Paths from the wire go through `bridge.lightroom.paths` before anything opens them, and error replies are
fixed texts: never an exception's own message, which can quote a file's bytes or the service's internals.

The host is this computer's `EngineHost`, or an engine on another machine (`remote.RemoteEngine`, recognised by
its `remote` attribute): then `status`, `search`, `similar`, `analyze` and `cancel` go to it, and `metadata` and
`duplicates` answer with a fixed sentence (they read the index's rows, which stay on that machine).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any, cast

from bridge import __version__
from bridge.files.diskspace import DiskFullError, is_disk_full
from bridge.host import EngineHost, HostEvent
from bridge.lightroom import protocol as p
from bridge.lightroom.connection import PluginSession
from bridge.lightroom.dupgroups import group_id, groups_among
from bridge.lightroom.engines import Engines
from bridge.lightroom.paths import PathGate, PathRefused, lexical
from bridge.lightroom.protocol import Frame, ProtocolError
from bridge.lightroom.remote import RemoteEngine, example_photo, is_remote, needs_local
from bridge.lightroom.uploads import Cancelled, PartSender, Uploads
from bridge.state import culling
from bridge.state.ledger import Ledger

log = logging.getLogger(__name__)

_Answer = dict[str, Any] | Callable[[], None] | None


class Handlers:
    def __init__(self, host: EngineHost | RemoteEngine, pool: Executor) -> None:
        # A remote engine takes its own route in the handlers that differ; `host` is then only its job surface
        # (subscribe, cancel), which both have.
        self.remote: RemoteEngine | None = cast(RemoteEngine, host) if is_remote(host) else None
        self.host, self.pool = cast(EngineHost, host), pool
        self.served = 0
        self.failed = 0
        self._count_lock = threading.Lock()
        self._subs: dict[int, list[Callable[[], None]]] = {}
        self._subs_lock = threading.Lock()
        self._uploads: dict[int, Uploads] = {}  # id(session) → its open uploads
        self._streaming: dict[tuple[int, str], threading.Event] = {}  # replies in parts → their cancel flag
        # Job events arrive on the indexing thread; frames for them are sent from this one thread, in
        # order, so a slow plugin socket never holds up indexing.
        self._outbox: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, name="pd-bridge-events", daemon=True)
        self._sender.start()
        self.engines = Engines()  # `engines` / `engine.use`: the remote engine choice in the settings file
        # A handler answers with the reply's body, None (it replies itself), or — a reply in parts — the
        # callable that sends its last frame.
        self.table: dict[str, Callable[[Any, Frame, PluginSession], _Answer]] = {
            "status": self.status,
            "search": self.search,
            "similar": self.similar,
            "analyze": self.analyze,
            "cancel": self.cancel,
            "metadata": self.metadata,
            "duplicates": self.duplicates,
            "upload": self.upload,
            "engines": self.list_engines,
            "engine.use": self.use_engine,
        }

    def _send_loop(self) -> None:
        while (task := self._outbox.get()) is not None:
            with contextlib.suppress(Exception):  # a closed session: its frames have nowhere to go
                task()

    def close(self) -> None:
        self._outbox.put(None)
        with self._subs_lock:
            subs = [u for us in self._subs.values() for u in us]
            self._subs.clear()
        for u in subs:
            u()

    # -- dispatch ------------------------------------------------------------------------------------
    def submit(self, frame: Frame, session: PluginSession) -> None:
        """Called on the read loop: queue the request, return at once."""
        try:
            self.pool.submit(self._run, frame, session)
        except RuntimeError:  # the pool is shut down: the service is stopping
            session.error("internal", "the service is stopping", frame.id)

    def _run(self, frame: Frame, session: PluginSession) -> None:
        handler = self.table.get(frame.type)
        try:
            if handler is None:  # a request type the table knows but the service does not take
                raise ProtocolError("unknown_type", f"the service does not handle {frame.type!r}", frame.id)
            body = p.validate_body(frame.type, frame.body, frame.id)
            result = handler(body, frame, session)
            # Counted before the reply goes out: whoever reads the reply then sees it counted.
            self._count(ok=True)
            if callable(result):  # a reply in parts: its last frame goes out now
                result()
            elif result is not None:
                reply = p.MESSAGES[frame.type].reply
                assert reply is not None
                session.reply(frame, reply, result)
        except Cancelled:
            self._count(ok=False)
            session.error("cancelled", f"{frame.type} cancelled", frame.id)
        except ProtocolError as e:
            self._count(ok=False)
            session.error(e.code, e.message, frame.id)
        except PathRefused as e:
            self._count(ok=False)
            log.info("%s: path refused: %s", frame.type, e.message)
            session.error(e.code, e.message, frame.id)
        except Exception as e:
            self._count(ok=False)
            code, message = _classify(e, frame.type)
            if code == "internal":
                # Where it failed, without the exception's message: that can hold a file's bytes.
                tb = "".join(traceback.format_tb(e.__traceback__))
                log.error("handler %s failed: %s\n%s", frame.type, type(e).__name__, tb)
            session.error(code, message, frame.id)

    def _count(self, *, ok: bool) -> None:
        with self._count_lock:
            if ok:
                self.served += 1
            else:
                self.failed += 1

    # -- requests ------------------------------------------------------------------------------------
    def status(self, body: p.Empty, frame: Frame, session: PluginSession) -> dict[str, Any]:
        if self.remote is not None:  # the engine's own counts; `engine` names the one serving, not the file's
            got = self.remote.plugin_status()
            return {"service_version": __version__, **got, "engine": self.engines.using(self.remote.url)}
        running = self.host.running()
        return {
            "service_version": __version__,
            **self.host.counts(),
            "running": running.as_dict() if running is not None else None,
            "engine": self.engines.using(),
        }

    def search(self, body: p.Search, frame: Frame, session: PluginSession) -> dict[str, Any]:
        where = _where(
            body.where, frame.id
        )  # checked here, remote or not: a bad filter is bad_request at once
        if self.remote is not None:  # the engine takes the filter's text itself
            hits = self.remote.search_text(body.query, limit=body.limit, min_score=body.min_score,
                                            where=body.where or None)  # fmt: skip
            return _results(hits)
        hits = self.host.search_text(body.query, limit=body.limit, min_score=body.min_score, where=where)
        return _results(hits)

    def similar(self, body: p.Similar, frame: Frame, session: PluginSession) -> dict[str, Any]:
        if self.remote is not None:  # the selected photos (files here) are uploaded as examples
            examples = [example_photo(x) for x in body.paths]
            hits = self.remote.search_like(examples, limit=body.limit)
            return _results(hits)
        gate = PathGate(self.host.reader())
        hits = self.host.search_like([gate.photo(x) for x in body.paths], limit=body.limit)
        return _results(hits)

    def analyze(self, body: p.Analyze, frame: Frame, session: PluginSession) -> None:
        """`analyze.accepted` now; `progress` frames and `analyze.done` from the job's events."""
        lock = threading.RLock()  # events can fire before submit() returns: hold them until the id is known
        state: dict[str, Any] = {"job": None, "done": False}

        def on_event(e: HostEvent) -> None:  # on the indexing thread: hand over, never wait here
            if e.kind in ("phase", "progress", "job_finished"):
                self._outbox.put(lambda: deliver(e))

        def deliver(e: HostEvent) -> None:
            with lock:
                if state["done"] or e.data.get("job") != state["job"]:
                    return
                if session.closed.is_set():
                    state["done"] = True
                    unsubscribe()
                    return
                if e.kind in ("phase", "progress"):
                    d = e.data
                    session.send(
                        Frame(
                            "progress",
                            {
                                "job": d["job"],
                                "phase": d.get("phase") or "",
                                "done": int(d.get("done") or 0),
                                "total": d.get("total"),
                                "failed": int(d.get("failed") or 0),
                            },
                            re=frame.id,
                        )
                    )
                elif e.kind == "job_finished":
                    state["done"] = True
                    status = e.data.get("status")
                    status = status if status in ("completed", "failed") else "stopped"
                    session.send(
                        Frame(
                            "analyze.done",
                            {"job": state["job"], "status": status, "summary": e.data.get("summary")},
                            re=frame.id,
                        )
                    )
                    unsubscribe()

        paths = self._paths(body, frame, session)
        label = f"Lightroom: {len(paths)} photos"
        remote = self.remote
        if remote is not None:
            # The engine reads the photos by their paths on its machine (it says which ones it cannot find);
            # nothing is opened here.
            roots = [lexical(x) for x in paths]
            unsubscribe = remote.subscribe(on_event)

            def start() -> Any:
                return remote.submit_photos(roots, captions=body.captions, label=label)
        else:
            gate = PathGate(self.host.reader())
            roots = [gate.photo(x, new_photo_ok=True, folder_ok=True) for x in paths]  # before any job
            unsubscribe = self.host.subscribe(on_event)

            def start() -> Any:
                return self.host.submit(roots, captions=body.captions, label=label)

        self._track(session, unsubscribe)
        with lock:
            try:
                job = start()
            except BaseException:
                state["done"] = True  # no job: nothing to forward
                unsubscribe()
                raise
            state["job"] = job.id
            session.reply(frame, "analyze.accepted", {"job": job.id, "total": len(paths)})
        return None

    def cancel(self, body: p.Cancel, frame: Frame, session: PluginSession) -> dict[str, Any]:
        """A job, or a request of this session whose reply is still being sent in parts (`job` = its id)."""
        with self._subs_lock:
            flag = self._streaming.get((id(session), body.job))
        if flag is not None:
            flag.set()
            return {"job": body.job, "cancelled": True}
        return {"job": body.job, "cancelled": (self.remote or self.host).cancel(body.job)}

    def upload(self, body: p.Upload, frame: Frame, session: PluginSession) -> dict[str, Any]:
        with self._subs_lock:
            uploads = self._uploads.setdefault(id(session), Uploads())
        upload, count = uploads.add(body.upload, list(body.paths), frame.id)
        return {"upload": upload, "count": count}

    def list_engines(self, body: p.Engines, frame: Frame, session: PluginSession) -> dict[str, Any]:
        """Engines advertised on the local network (zeroconf), and which one the settings name."""
        return self.engines.engines(body)

    def use_engine(self, body: p.EngineUse, frame: Frame, session: PluginSession) -> dict[str, Any]:
        """Check the key against the engine (TLS pinned to its fingerprint), then store the choice; the tray app
        (or `serve`) uses it from its next start, and answers the plug-in from it."""
        return self.engines.use(body, frame.id)

    def _paths(self, body: p.PathsOrUpload, frame: Frame, session: PluginSession) -> list[str]:
        if body.paths is not None:
            return list(body.paths)
        assert body.upload is not None  # the body's validator wants one of the two
        with self._subs_lock:
            uploads = self._uploads.get(id(session))
        if uploads is None:
            raise ProtocolError("not_found", "no such upload (it was used already, or replaced)", frame.id)
        return uploads.take(body.upload, frame.id)

    def _parts(self, frame: Frame, session: PluginSession, total: int) -> PartSender:
        """The sender of this request's reply; in parts when the plugin takes them (cancel: `_done`)."""
        reply = p.MESSAGES[frame.type].reply
        assert reply is not None
        field = p.MESSAGES[reply].parts
        assert field is not None
        flag = threading.Event()
        with self._subs_lock:
            self._streaming[(id(session), frame.id)] = flag
        return PartSender(
            session.send,
            frame,
            reply,
            field,
            chunked="chunks" in session.features,
            total=total,
            cancelled=flag.is_set,
        )

    def _done(self, frame: Frame, session: PluginSession) -> None:
        with self._subs_lock:
            self._streaming.pop((id(session), frame.id), None)

    def metadata(self, body: p.Metadata, frame: Frame, session: PluginSession) -> Callable[[], None]:
        """The photos are converted a slice at a time, each slice's `part` frames going out as they fill,
        so a plugin that takes parts sees progress and can cancel between them."""
        from bridge.engine import load_rules
        from bridge.lightroom.changes import LightroomChange, changes_from_index, score_rules

        if self.remote is not None:
            raise ProtocolError("refused", needs_local("metadata", self.remote.url), frame.id)
        settings = self.host.settings
        try:
            rules = score_rules(body.rules, settings)  # the request's rules replace the setting's
        except ValueError as e:
            raise ProtocolError("bad_request", str(e), frame.id) from None
        led = self.host.reader()
        norm = _normalized(self._paths(body, frame, session))
        fps = led.fingerprints_for(norm)  # batched: only indexed photos from here on
        keyword_rules = load_rules(settings)
        groups = self._group_ids(led, fps)  # among all the requested photos, not per slice
        analyzed = _analyzed_at(led, set(fps.values()))
        culled = culling.rows_for(led, fps)  # `pixel-detective cull`'s stored decisions
        out = self._parts(frame, session, total=len(fps))
        try:
            items = list(fps.items())
            for i in range(0, len(items), _SLICE):
                part = items[i : i + _SLICE]
                found = changes_from_index(
                    led, [n for n, _ in part], keyword_rules=keyword_rules, score_rules=rules
                )
                out.add(
                    [
                        {
                            **(found.get(n) or LightroomChange(n)).metadata_photo(norm[n]),
                            "duplicate_group": groups.get(n),
                            "analyzed_at": analyzed.get(fp),
                            **_cull_fields(culled.get(n)),
                        }
                        for n, fp in part
                    ]
                )
        except BaseException:
            self._done(frame, session)
            raise
        return lambda: self._finish(out, {"keyword_parent": settings.keyword_parent or None}, session)

    def duplicates(self, body: p.Duplicates, frame: Frame, session: PluginSession) -> Callable[[], None]:
        if self.remote is not None:
            raise ProtocolError("refused", needs_local("duplicates", self.remote.url), frame.id)
        led = self.host.reader()
        norm = _normalized(self._paths(body, frame, session))
        fps = led.fingerprints_for(norm)
        groups = groups_among(self.host.engine, led, _by_fingerprint(fps), kinds=body.kinds)
        out = self._parts(frame, session, total=len(groups))
        try:
            out.add([{"kind": g.kind.value, "paths": [norm[x] for x in g.paths]} for g in groups])
        except BaseException:
            self._done(frame, session)
            raise
        return lambda: self._finish(out, {}, session)

    def _finish(self, out: PartSender, rest: dict[str, Any], session: PluginSession) -> None:
        try:
            out.finish(rest)
        finally:
            self._done(out.request, session)

    def _group_ids(self, ledger: Ledger, fps: dict[str, str]) -> dict[str, str]:
        """path → id of its duplicate group among the requested photos (exact first, then near, burst)."""
        out: dict[str, str] = {}
        # Sorted exact, near, burst. No crop search: it costs milliseconds per similar pair (see groups_among).
        for g in groups_among(self.host.engine, ledger, _by_fingerprint(fps), crops=False):
            for x in g.paths:
                out.setdefault(x, group_id(g))
        return out

    # -- sessions ------------------------------------------------------------------------------------
    def _track(self, session: PluginSession, unsubscribe: Callable[[], None]) -> None:
        with self._subs_lock:
            self._subs.setdefault(id(session), []).append(unsubscribe)

    def session_ended(self, session: PluginSession) -> None:
        """Drop the session's job listeners (the jobs themselves keep running: the index is shared)."""
        with self._subs_lock:
            subs = self._subs.pop(id(session), [])
            self._uploads.pop(id(session), None)
            for key in [k for k in self._streaming if k[0] == id(session)]:
                self._streaming.pop(key).set()  # its reply has nowhere to go
        for u in subs:
            with contextlib.suppress(Exception):
                u()


_SLICE = 1000  # photos converted per step of `metadata` (parts go out between steps)


def _normalized(paths: Iterable[str]) -> dict[str, str]:
    """normalized path → the path as the plugin wrote it (replies echo the plugin's spelling). These are
    only looked up in the index, never opened: a path outside it is simply not in the reply."""
    return {lexical(x): x for x in paths}


def _by_fingerprint(fps: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, fp in fps.items():
        out.setdefault(fp, []).append(path)
    return out


def _results(hits: Iterable[Any]) -> dict[str, Any]:
    """A search's reply body: path, score and rank of each hit."""
    return {"results": [{"path": h.path, "score": round(h.score, 6), "rank": h.rank} for h in hits]}


def _where(text: str | None, re: str) -> Any:
    if not text:
        return None
    from bridge.search.where import WhereError, parse_where

    try:
        return parse_where(text)
    except WhereError as e:
        raise ProtocolError("bad_request", f"where: {e}", re) from None


def _cull_fields(row: culling.CullRow | None) -> dict[str, Any]:
    """The plugin's metadata-provider fields from a photo's cull row (none when it was never culled)."""
    if row is None:
        return {}
    return {"eyes_open": row.eyes_open, "face_count": row.face_count, "cull_rank": row.rank,
            "cull_reason": row.sentence or ", ".join(row.reasons)}  # fmt: skip


def _analyzed_at(ledger: Ledger, fingerprints: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    fps = list(fingerprints)
    for i in range(0, len(fps), 500):
        chunk = fps[i : i + 500]
        q = ",".join("?" * len(chunk))
        rows = ledger.db.conn.execute(
            f"SELECT fingerprint, max(updated_at) FROM stages WHERE fingerprint IN ({q}) GROUP BY fingerprint",
            chunk,
        )
        for fp, at in rows:
            out[fp] = dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")
    return out


# SearchError kinds → (code, fixed message). The search layer's own text is for the CLI user at the
# terminal; over the bridge only these go out.
_SEARCH_ERRORS = {
    "no_model": ("internal", "the service has no embedding model loaded: see the service's status"),
    "not_found": ("not_found", "a photo of the request was not found"),
    "unreadable": ("bad_request", "a photo of the request cannot be read as an image"),
    "bad_query": ("bad_request", "the query cannot be searched (empty?)"),
}


def _classify(e: Exception, type_: str) -> tuple[str, str]:
    from bridge.search.query import SearchError

    if isinstance(e, SearchError):
        return _SEARCH_ERRORS.get(e.kind, _SEARCH_ERRORS["bad_query"])
    if isinstance(e, DiskFullError) or is_disk_full(e):
        return (
            "internal",
            "the disk holding the index is full: free some space (details in the service's log)",
        )
    return "internal", f"the service failed to answer {type_!r} (details are in the service's log)"
