"""`ApiHost`: an engine on another machine (a GPU box serving a laptop), used through its REST API with the
surface of `EngineHost` the tray app needs, so the window runs against it unchanged.

The client contract (bridge/api/README.md, "Using a remote engine"): `Settings.remote_url`, `remote_api_key`
and `remote_tls_fingerprint` (written by `pixel-detective remote use` or the tray's settings dialog); requests
go to `{remote_url}/api/v1/...` with `Authorization: Bearer KEY`.

Pinning instead of a CA: before anything is sent, the server's certificate is fetched with a bare TLS handshake
and its SHA-256 compared with the pin; a mismatch is refused with a sentence and the key never leaves this
machine. Every later connection then trusts that one certificate and nothing else (an SSL context holding it
as its only trust anchor), so a different server cannot answer in its place. The host name check is off: the
pin is the identity, and a LAN address is often not among the certificate's names. Both steps are
`bridge.pinned`'s (`pinned_certificate`, `trusting`), the one pinning the CLI and the plug-in's `engine.use` use.

What cannot exist remotely is absent: there is no `reader()` (the ledger is on the other machine), so the
callers that read the ledger directly (folders, failures, past runs, culling) say they need a local engine.
Every failure is a `ClientError` whose message is a sentence for the user (never an exception's text).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bridge import pinned
from bridge.api.auth import is_loopback_host
from bridge.api.client import ClientError, parse_events
from bridge.api.routes.jobs import HEARTBEAT_S
from bridge.api.routes.search import MAX_LIMIT, MAX_OFFSET
from bridge.files.objects import is_url
from bridge.host import HostEvent, Job
from bridge.search.query import Result
from bridge.settings import Settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
CALL_TIMEOUT_S = 120.0  # a search over a large index, an upload of a large photo
HELLO_WAIT_S = 5.0  # how long opening waits for the event stream's first `hello` (the engine's state)
RECONNECT_MAX_S = 15.0
LIVE = ("queued", "running")


@dataclass(kw_only=True)
class RemoteJob(Job):
    """A job on the remote engine, kept current by its events. The rate and ETA are the server's own."""

    reported: dict[str, Any] = field(default_factory=dict, repr=False)

    def update(self, d: dict[str, Any]) -> None:
        self.reported = {**self.reported, **d}
        for k in ("label", "roots", "status", "phase", "done", "failed", "total", "error"):
            if k in d:
                setattr(self, k, d[k])

    def as_dict(self) -> dict[str, Any]:
        mine = super().as_dict()
        return {**mine, **{k: self.reported[k] for k in ("rate", "eta_seconds") if k in self.reported}}


class ApiHost:
    """EngineHost's API over `{remote_url}/api/v1`; raises `ClientError` (a sentence) when it cannot open."""

    remote = True

    def __init__(self, settings: Settings, *, hello_wait: float = HELLO_WAIT_S) -> None:
        self.settings = settings
        self.url = (settings.remote_url or "").strip().rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClientError(f"{self.url or 'the remote engine URL'} is not an http(s) address; choose the engine "
                              "again (settings, Engine; or `pixel-detective remote use`)")  # fmt: skip
        self._host, self._port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        if not settings.remote_api_key:
            raise ClientError(f"no API key for the engine at {self.url}: ask its owner for one "
                              "(`pixel-detective keys create`) and choose the engine again")  # fmt: skip
        if parts.scheme == "http" and not is_loopback_host(self._host):
            raise ClientError(f"the engine at {self.url} is not served over TLS: the API key is never sent "
                              "in the clear; turn network mode on there (it uses TLS) and choose it again")  # fmt: skip
        verify: ssl.SSLContext | bool = self._pinned_context() if parts.scheme == "https" else False
        headers = {"Authorization": f"Bearer {settings.remote_api_key}"}

        def client(timeout: httpx.Timeout) -> httpx.Client:
            # trust_env off: a proxy from the environment would stand between us and the pinned server
            return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, verify=verify,
                                timeout=timeout, trust_env=False)  # fmt: skip

        self.http = client(httpx.Timeout(CALL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S))
        # The event stream has its own client: closing it ends a read that waits for the next event.
        self._events_http = client(httpx.Timeout(HEARTBEAT_S * 3, connect=CONNECT_TIMEOUT_S))
        self._lock = threading.RLock()
        self._jobs: dict[str, RemoteJob] = {}
        self._subs: list[Callable[[HostEvent], None]] = []
        self._state = "idle"
        self.last_error: str | None = None
        self._closing = threading.Event()
        self._hello = threading.Event()
        self._stream: httpx.Response | None = None
        try:
            for d in self._call("GET", "/jobs"):  # the key is checked here: a wrong one fails the open
                self._job(d)
        except ClientError:
            self.http.close()
            self._events_http.close()
            raise
        self._listener = threading.Thread(target=self._listen, name="pd-remote-events", daemon=True)
        self._listener.start()
        self._hello.wait(hello_wait)

    # -- TLS pinning -----------------------------------------------------------------------------------
    def _pinned_context(self) -> ssl.SSLContext:
        """`bridge.pinned`'s check (the one the CLI and the plug-in's `engine.use` run), then its context."""
        pin = self.settings.remote_tls_fingerprint or ""
        if not pin.strip():
            raise ClientError(f"no certificate fingerprint is pinned for {self.url}; choose the engine again "
                              "(settings, Engine; or `pixel-detective remote use`)")  # fmt: skip
        try:  # a bare handshake, nothing sent: the certificate is checked before the key could be
            pem = pinned.pinned_certificate(self._host, self._port, pin, timeout=CONNECT_TIMEOUT_S)
        except pinned.EngineCheck as e:
            raise ClientError(self._mismatch() if e.kind == "fingerprint" else self._unreachable()) from None
        return pinned.trusting(pem)  # this certificate is the only one trusted

    # -- errors as sentences ---------------------------------------------------------------------------
    def _mismatch(self) -> str:
        return (f"the engine at {self.url} presents a different certificate than the one you chose; run "
                "`pixel-detective remote use` again (or choose it again in the settings) if it was renewed")  # fmt: skip

    def _unreachable(self) -> str:
        return f"the engine at {self.url} does not answer (is it running, with network mode on?)"

    def _transport_error(self, e: httpx.HTTPError) -> ClientError:
        chain: list[BaseException] = []
        cur: BaseException | None = e
        while cur is not None and len(chain) < 10:
            chain.append(cur)
            cur = cur.__cause__ or cur.__context__
        if any(isinstance(c, ssl.SSLCertVerificationError) for c in chain) or "CERTIFICATE_VERIFY" in str(e):
            return ClientError(self._mismatch())
        if isinstance(e, httpx.TimeoutException) and not isinstance(e, httpx.ConnectTimeout):
            return ClientError(f"the engine at {self.url} did not answer in time; try again")
        return ClientError(self._unreachable())

    def _status_error(self, r: httpx.Response) -> ClientError:
        try:
            said = str(r.json().get("error") or "")
        except (ValueError, AttributeError):
            said = ""
        code = r.status_code
        if code == 401:
            msg = (f"the engine at {self.url} refused the API key: it is wrong or was revoked; ask its owner for "
                   "a key (`pixel-detective keys create`) and choose the engine again")  # fmt: skip
        elif code == 403:
            msg = f"the API key for {self.url} lacks the scope for this ({said or 'forbidden'})"
        elif code == 429:
            wait = r.headers.get("Retry-After", "60")
            msg = f"the engine at {self.url} refuses this computer for {wait} s after failed attempts"
        elif code >= 500 and code != 503:
            msg = f"the engine at {self.url} failed to answer (HTTP {code}); its log says why"
        else:
            msg = said or f"the engine at {self.url} answered HTTP {code}"
        return ClientError(msg, code)

    def _call(self, method: str, url: str, **kw: Any) -> Any:
        try:
            r = self.http.request(method, url, **kw)
        except httpx.HTTPError as e:
            raise self._transport_error(e) from None
        if r.status_code >= 400:
            raise self._status_error(r)
        return r.json() if r.headers.get("content-type", "").startswith("application/json") else r.content

    # -- events ----------------------------------------------------------------------------------------
    def _listen(self) -> None:
        """The engine's `/events` stream, read for as long as this host is open; reconnects with back-off."""
        delay = 1.0
        while not self._closing.is_set():
            try:
                with self._events_http.stream("GET", "/events") as r:
                    self._stream = r
                    if r.status_code != 200:
                        r.read()
                        raise self._status_error(r)
                    for kind, data in parse_events(r.iter_lines()):
                        delay = 1.0
                        self._on_event(kind, data)
                        if self._closing.is_set():
                            return
                problem = f"the engine at {self.url} closed the connection; reconnecting"
            except ClientError as e:
                problem = str(e)
            except httpx.HTTPError as e:
                problem = str(self._transport_error(e))
            except Exception:  # a closed client under a read: closing, or a bug (logged, never shown)
                if self._closing.is_set():
                    return
                log.exception("remote event stream failed")
                problem = f"lost the connection to the engine at {self.url}; reconnecting"
            if self._closing.is_set():
                return
            self._lost(problem)
            self._closing.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    def _lost(self, problem: str) -> None:
        first = self._state != "error" or self.last_error != problem
        self._state, self.last_error = "error", problem
        if first:
            self._emit("state", {"state": "error", "error": problem})

    def _job(self, d: dict[str, Any]) -> RemoteJob:
        with self._lock:
            jid = str(d["job"])
            job = self._jobs.get(jid)
            if job is None:
                job = self._jobs[jid] = RemoteJob(id=jid, roots=list(d.get("roots") or []))
            job.update(d)
            if job.status not in LIVE and not job.finished.is_set():
                job.finished_at = job.finished_at or time.time()
                if "summary" in d:
                    job.summary = d.get("summary")
                job.finished.set()
            return job

    def _on_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "hello":  # at open, and after each reconnect
            ended: list[dict[str, Any]] = []
            for d in data.get("jobs") or []:
                before = self._jobs.get(str(d.get("job")))
                was_live = before is not None and before.status in LIVE
                if self._job(d).status not in LIVE and was_live:
                    ended.append(d)
            self._state, self.last_error = str(data.get("state") or "idle"), None
            self._hello.set()
            self._emit("state", {"state": self._state})
            for d in ended:  # finished while the stream was down: their end is still announced (no summary)
                self._emit("job_finished", {"summary": None, **d})
            return
        if kind in ("job_started", "phase", "progress", "job_finished") and "job" in data:
            job = self._job(data)
            if kind == "job_started":
                job.started_at = job.started_at or time.time()
                if self._state != "paused":
                    self._state = "indexing"
            elif kind == "job_finished" and data.get("status") == "failed":
                self.last_error = data.get("error")
        elif kind == "state" and "state" in data:
            self._state = str(data["state"])
            held = self._jobs.get(str(data.get("job", "")))
            if held is not None and data["state"] == "paused":
                held.status = "queued"  # paused mid-run: the engine re-queues it for resume
        self._emit(kind, data)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        for cb in list(self._subs):
            with contextlib.suppress(Exception):  # a broken listener must not stop the stream
                cb(HostEvent(kind, data))

    # -- EngineHost's API ------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[HostEvent], None]) -> Callable[[], None]:
        with self._lock:
            self._subs.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subs:
                    self._subs.remove(callback)

        return unsubscribe

    @property
    def state(self) -> str:
        return self._state

    @property
    def display_name(self) -> str:
        """What the tray says: `remote engine HOST:PORT`."""
        return f"{self._host}:{self._port}"

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def submit(self, roots: Sequence[str | Path], *, captions: bool | None = None, label: str = "") -> Job:
        """One job per root (the API takes one folder, catalog or bucket prefix a job; they run in turn on
        the engine's queue): returns the last, whose end is the end of all of them. Paths are the engine's."""
        if not roots:
            raise ClientError("nothing to index: give a folder on the engine's machine")
        job: Job | None = None
        for root in map(str, roots):
            kind = "url" if is_url(root) else "catalog" if root.lower().endswith(".lrcat") else "folder"
            body = {kind: root, "captions": captions, "label": (label or root)[:200]}
            job = self._queued(self._call("POST", "/jobs", json=body))
        assert job is not None
        return job

    def _act(self, job_id: str, action: str) -> None:
        d = self._call("POST", f"/jobs/{job_id}/{action}")
        self._state = str(d.get("state") or self._state)

    def pause(self) -> None:
        """Pause the engine's queue (after its current batch). Nothing to pause: nothing happens."""
        live = [j for j in self.jobs() if j.status in LIVE]
        if live:
            self._act(live[-1].id, "pause")

    def resume(self) -> None:
        jobs = self.jobs()
        live = [j for j in jobs if j.status in LIVE] or jobs
        if live:
            self._act(live[-1].id, "resume")

    def cancel(self, job_id: str) -> bool:
        return bool(self._call("POST", f"/jobs/{job_id}/cancel").get("done"))

    def submit_photos(self, paths: Sequence[str], *, captions: bool | None = None, label: str = "") -> Job:
        """One job of photo files, by their paths on the engine's machine (a 422 names the ones it cannot read)."""
        if not paths:
            raise ClientError("nothing to index: give photos on the engine's machine")
        body = {"photos": list(paths), "captions": captions, "label": label[:200]}
        return self._queued(self._call("POST", "/jobs", json=body))

    def _queued(self, d: dict[str, Any]) -> RemoteJob:
        """The job `POST /jobs` answered with; its events may have come first and moved it on already."""
        with self._lock:
            known = self._jobs.get(str(d["job"]))
            return known if known is not None and known.status != "queued" else self._job(d)

    def status(self) -> dict[str, Any]:
        """The engine's `GET /status`: version, model, indexed, vectors, failed, weights_ok, captions, state,
        running (a job or None)."""
        return dict(self._call("GET", "/status"))

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Until the engine has no queued or running job (asked every 0.2 s)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while any(d["status"] in LIVE for d in self._call("GET", "/jobs")):
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    # -- queries (where: the CLI's --where text; the caller has parsed it already to check it) ----------
    def _pages(self, limit: int, fetch: Callable[[int, int], list[dict[str, Any]]]) -> list[Result]:
        """`limit` results in the API's pages (at most MAX_LIMIT each, offsets up to MAX_OFFSET)."""
        rows: list[dict[str, Any]] = []
        while len(rows) < limit and len(rows) <= MAX_OFFSET:
            want = min(MAX_LIMIT, limit - len(rows))
            page = fetch(len(rows), want)
            rows.extend(page)
            if len(page) < want:
                break
        return [Result(int(h["rank"]), float(h["score"]), h["path"], list(h["paths"]), h["fingerprint"],
                       dict(h.get("fields") or {})) for h in rows]  # fmt: skip

    def _get_search(self, params: dict[str, Any], limit: int) -> list[Result]:
        def fetch(offset: int, n: int) -> list[dict[str, Any]]:
            clean = {k: v for k, v in params.items() if v is not None}
            return list(
                self._call("GET", "/search", params={**clean, "offset": offset, "limit": n})["results"]
            )

        return self._pages(limit, fetch)

    def search_text(
        self, query: str, *, limit: int = 50, min_score: float | None = None, where: str | None = None
    ) -> list[Result]:
        return self._get_search({"q": query, "where": where or None, "min_score": min_score}, limit)

    def search_metadata(self, *, limit: int = 50, where: str | None = None) -> list[Result]:
        """Photos whose metadata pass `where` (all of them without it), newest first; no model needed."""
        return self._get_search({"where": where or ""}, limit)

    def search_like(self, paths: Sequence[str], *, limit: int = 50, where: str | None = None) -> list[Result]:
        """Photos like the local example photos (each uploaded); the examples themselves left out. With
        several, a photo's score is its mean over them (the lowest score of a list where it is missing)."""
        from bridge.indexing.scan import fingerprint

        own: set[str] = set()
        lists: list[list[Result]] = []
        for p in paths:
            with contextlib.suppress(OSError):
                own.add(fingerprint(p))
            lists.append(self._upload_search(Path(p), limit + len(paths), where))
        tables = [{h.fingerprint: h.score for h in hits} for hits in lists]
        floors = [min(t.values(), default=0.0) for t in tables]
        by_fp: dict[str, Result] = {}
        for hits in lists:
            for h in hits:
                by_fp.setdefault(h.fingerprint, h)
        score = {
            fp: sum(t.get(fp, fl) for t, fl in zip(tables, floors, strict=True)) / len(tables) for fp in by_fp
        }
        ranked = sorted((fp for fp in by_fp if fp not in own), key=lambda fp: -score[fp])[:limit]
        return [Result(i, score[fp], by_fp[fp].path, by_fp[fp].paths, fp, by_fp[fp].fields)
                for i, fp in enumerate(ranked, 1)]  # fmt: skip

    def _upload_search(self, photo: Path, limit: int, where: str | None) -> list[Result]:
        try:
            data = photo.read_bytes()
        except OSError:
            raise ClientError(f"cannot read {photo.name} on this computer to search by it") from None

        def fetch(offset: int, n: int) -> list[dict[str, Any]]:
            form = {"offset": str(offset), "limit": str(n), **({"where": where} if where else {})}
            files = {"file": (photo.name, data, "application/octet-stream")}
            return list(self._call("POST", "/search/image", data=form, files=files)["results"])

        return self._pages(limit, fetch)

    def thumbnail(self, fingerprint: str) -> bytes:
        """The photo's JPEG thumbnail (256 px) from the engine's cache (made there on demand)."""
        got = self._call("GET", f"/photos/{fingerprint}/thumbnail")
        if not isinstance(got, bytes) or not got:
            raise ClientError(f"the engine at {self.url} sent no thumbnail for this photo")
        return got

    # -- lifecycle -------------------------------------------------------------------------------------
    def close(self, timeout: float = 5.0) -> None:
        """Stop listening and close the connections; the remote engine itself keeps running."""
        if self._closing.is_set():
            return
        self._closing.set()
        stream = self._stream
        if stream is not None:  # wake the listener's blocking read at once (closing alone would not)
            with contextlib.suppress(Exception):
                stream.extensions["network_stream"].get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self._events_http.close()
        self._listener.join(timeout)
        self.http.close()
        self._state = "closed"
        self._emit("state", {"state": "closed"})

    def __enter__(self) -> ApiHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
