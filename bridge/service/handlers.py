"""One handler per plugin request type. They run on the service's small thread pool (never on the read
loop, so a slow search does not hold up pings) and every request gets exactly one reply: the handler's
result, or an `error` frame — an exception becomes `internal` and the service stays up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any

from bridge import __version__
from bridge.host import EngineHost, HostEvent
from bridge.scan import normalize_root
from bridge.service import protocol as p
from bridge.service.connection import PluginSession
from bridge.service.protocol import Frame, ProtocolError

log = logging.getLogger(__name__)

DUP_CACHE_SECONDS = 600.0  # the groups are rebuilt after an index job anyway; this bounds outside changes


class _ReadView:
    """The engine as the duplicate scan sees it, but reading through this thread's read-only ledger, so
    the scan never shares the indexer's write connection."""

    def __init__(self, engine: Any, ledger: Any) -> None:
        self._engine, self.ledger = engine, ledger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class Handlers:
    def __init__(self, host: EngineHost, pool: Executor) -> None:
        self.host, self.pool = host, pool
        self.served = 0
        self.failed = 0
        self._count_lock = threading.Lock()
        self._dups: list[Any] | None = None
        self._dups_at = 0.0
        self._dups_gen = 0  # bumped when the index changes (on the host's worker thread, lock-free)
        self._dups_built_gen = -1
        self._dups_lock = threading.Lock()
        self._subs: dict[int, list[Callable[[], None]]] = {}
        self._subs_lock = threading.Lock()
        self._unsub_host = host.subscribe(self._on_host_event)
        # Job events arrive on the indexing thread; frames for them are sent from this one thread, in
        # order, so a slow plugin socket never holds up indexing.
        self._outbox: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, name="pd-bridge-events", daemon=True)
        self._sender.start()
        self.table: dict[str, Callable[[Any, Frame, PluginSession], dict[str, Any] | None]] = {
            "status": self.status,
            "search": self.search,
            "similar": self.similar,
            "analyze": self.analyze,
            "cancel": self.cancel,
            "metadata": self.metadata,
            "duplicates": self.duplicates,
        }

    def _send_loop(self) -> None:
        while (task := self._outbox.get()) is not None:
            with contextlib.suppress(Exception):  # a closed session: its frames have nowhere to go
                task()

    def close(self) -> None:
        self._outbox.put(None)
        self._unsub_host()
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
            if result is not None:
                reply = p.MESSAGES[frame.type].reply
                assert reply is not None
                session.reply(frame, reply, result)
        except ProtocolError as e:
            self._count(ok=False)
            session.error(e.code, e.message, frame.id)
        except Exception as e:
            self._count(ok=False)
            log.exception("handler %s failed", frame.type)
            code, message = _classify(e)
            session.error(code, message, frame.id)

    def _count(self, *, ok: bool) -> None:
        with self._count_lock:
            if ok:
                self.served += 1
            else:
                self.failed += 1

    # -- requests ------------------------------------------------------------------------------------
    def status(self, body: p.Empty, frame: Frame, session: PluginSession) -> dict[str, Any]:
        host, engine = self.host, self.host.engine
        led = host.reader()
        counts = led.counts()
        indexed = led.stage_counts().get(("embed", engine.model_id), 0)
        vectors = engine.store().count() if engine.embedder is not None else 0
        running = next((j.as_dict() for j in host.jobs() if j.status == "running"), None)
        return {
            "service_version": __version__,
            "model": engine.model_id,
            "indexed": indexed,
            "vectors": vectors,
            "failed": counts["failed"],
            "running": running,
            "weights_ok": engine.embedder is not None,
            "captions": bool(host.settings.captions),
        }

    def search(self, body: p.Search, frame: Frame, session: PluginSession) -> dict[str, Any]:
        where = _where(body.where, frame.id)
        hits = self.host.search_text(body.query, limit=body.limit, min_score=body.min_score, where=where)
        return {"results": [{"path": h.path, "score": round(h.score, 6), "rank": h.rank} for h in hits]}

    def similar(self, body: p.Similar, frame: Frame, session: PluginSession) -> dict[str, Any]:
        hits = self.host.search_like([normalize_root(x) for x in body.paths], limit=body.limit)
        return {"results": [{"path": h.path, "score": round(h.score, 6), "rank": h.rank} for h in hits]}

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

        unsubscribe = self.host.subscribe(on_event)
        self._track(session, unsubscribe)
        with lock:
            job = self.host.submit(
                [normalize_root(x) for x in body.paths],
                captions=body.captions,
                label=f"Lightroom: {len(body.paths)} photos",
            )
            state["job"] = job.id
            session.reply(frame, "analyze.accepted", {"job": job.id, "total": len(body.paths)})
        return None

    def cancel(self, body: p.Cancel, frame: Frame, session: PluginSession) -> dict[str, Any]:
        return {"job": body.job, "cancelled": self.host.cancel(body.job)}

    def metadata(self, body: p.Metadata, frame: Frame, session: PluginSession) -> dict[str, Any]:
        from bridge.engine import load_rules
        from bridge.writeback import suggestions
        from catalog.write.rules import Rule, evaluate

        try:
            # The request's rules, else the user's write-back rules from the settings.
            rules = [Rule.parse(r) for r in (body.rules or self.host.settings.writeback_rules)]
        except ValueError as e:
            raise ProtocolError("bad_request", str(e), frame.id) from None
        led = self.host.reader()
        norm = _normalized(body.paths)
        fps = led.fingerprints_for(norm)
        sugg = suggestions(led, list(fps), rules=load_rules(self.host.settings))
        groups = self._group_ids(set(fps), led)
        analyzed = _analyzed_at(led, set(fps.values()))
        photos = []
        for n, fp in fps.items():
            s = sugg.get(n)
            scores = dict(s.scores) if s else {}
            photo: dict[str, Any] = {
                "path": norm[n],
                "keywords": list(s.keywords) if s else [],
                "caption": s.caption if s else None,
                "scores": scores,
                **evaluate(rules, scores),
                "duplicate_group": groups.get(n),
                "analyzed_at": analyzed.get(fp),
            }
            photos.append(photo)
        return {"photos": photos, "keyword_parent": self.host.settings.keyword_parent or None}

    def duplicates(self, body: p.Duplicates, frame: Frame, session: PluginSession) -> dict[str, Any]:
        norm = _normalized(body.paths)
        kinds = set(body.kinds)
        out = []
        for g in self._dup_groups(self.host.reader()):
            if g.kind.value not in kinds:
                continue
            inside = [norm[x] for x in g.paths if x in norm]
            if len(inside) >= 2:
                out.append({"kind": g.kind.value, "paths": inside})
        return {"groups": out}

    # -- duplicate groups (costly: a scan of the whole index, so cached) ----------------------------
    def _dup_groups(self, ledger: Any) -> list[Any]:
        from bridge.dupscan import find_in_index

        with self._dups_lock:
            gen = self._dups_gen
            stale = gen != self._dups_built_gen or time.monotonic() - self._dups_at > DUP_CACHE_SECONDS
            if self._dups is None or stale:
                groups, _notes = find_in_index(_ReadView(self.host.engine, ledger))  # type: ignore[arg-type]
                self._dups, self._dups_at, self._dups_built_gen = groups, time.monotonic(), gen
            return self._dups

    def _group_ids(self, paths: set[str], ledger: Any) -> dict[str, str]:
        """path → id of its duplicate group, counting only groups with ≥ 2 of `paths` (exact first)."""
        out: dict[str, str] = {}
        order = {"exact": 0, "near": 1, "burst": 2}
        for g in sorted(self._dup_groups(ledger), key=lambda g: order.get(g.kind.value, 9)):
            inside = [x for x in g.paths if x in paths]
            if len(inside) < 2:
                continue
            gid = (
                f"{g.kind.value}-"
                + hashlib.blake2b("|".join(sorted(g.fingerprints)).encode(), digest_size=6).hexdigest()
            )
            for x in inside:
                out.setdefault(x, gid)
        return out

    def _on_host_event(self, e: HostEvent) -> None:
        if e.kind == "job_finished":
            # The index changed: rebuild on the next request. Never wait for _dups_lock here: this runs
            # on the indexing thread, and a duplicate scan holds that lock for its whole run.
            self._dups_gen += 1

    # -- sessions ------------------------------------------------------------------------------------
    def _track(self, session: PluginSession, unsubscribe: Callable[[], None]) -> None:
        with self._subs_lock:
            self._subs.setdefault(id(session), []).append(unsubscribe)

    def session_ended(self, session: PluginSession) -> None:
        """Drop the session's job listeners (the jobs themselves keep running: the index is shared)."""
        with self._subs_lock:
            subs = self._subs.pop(id(session), [])
        for u in subs:
            with contextlib.suppress(Exception):
                u()


def _normalized(paths: Iterable[str]) -> dict[str, str]:
    """normalized path → the path as the plugin wrote it (replies echo the plugin's spelling)."""
    return {normalize_root(x): x for x in paths}


def _where(text: str | None, re: str) -> Any:
    if not text:
        return None
    from bridge.where import WhereError, parse_where

    try:
        return parse_where(text)
    except WhereError as e:
        raise ProtocolError("bad_request", f"where: {e}", re) from None


def _analyzed_at(ledger: Any, fingerprints: set[str]) -> dict[str, str]:
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


def _classify(e: Exception) -> tuple[str, str]:
    from bridge.search import SearchError

    if isinstance(e, SearchError):
        msg = str(e)
        return ("not_found" if "not found" in msg else "bad_request"), msg
    return "internal", f"{type(e).__name__}: {e}"[:500]
