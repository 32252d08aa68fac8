"""`/api/v1/local/...`: the CLI's commands run by the process that owns the index, for a `pixel-detective`
command started beside it on the same machine (the tray app or `serve` is running; see `bridge/api/endpoint.py`).

Each route does what the command does locally, with the command's own parameters (several roots or single
photos, a `--like` photo by its path, metadata-only search, `--vector-only`, up to 10,000 results, an export
written straight to the file named) and returns what the command prints from, so the CLI renders a remote
result with the same functions as a local one.

Only the owner's own local token may call these routes (it lives in the endpoint file, 0600): paths are read
and written on this machine as this user, so no API key, whatever its scope, is accepted here.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from bridge.api.auth import LOCAL_TOKEN_ID, Principal, admin
from bridge.api.context import ApiContext, Ctx
from bridge.api.errors import ApiError
from bridge.api.routes.photos import read_view
from bridge.files.diskspace import DiskFullError
from bridge.indexing.summary import Progress

log = logging.getLogger(__name__)

router = APIRouter(prefix="/local", tags=["local clients"], include_in_schema=False)


def _same_user(who: Annotated[Principal, Depends(admin)]) -> Principal:
    if who.id != LOCAL_TOKEN_ID:
        raise ApiError(403, "only a pixel-detective command on this machine (the local token) may do this",
                       "authorization")  # fmt: skip
    return who


Local = Annotated[Principal, Depends(_same_user)]


def _info(ctx: ApiContext) -> dict[str, Any]:
    engine = ctx.host.engine
    return {
        "pid": os.getpid(),
        "data_dir": str(ctx.host.settings.data_dir),
        "model": ctx.host.settings.model,
        "state": ctx.host.state,
        "weights_problem": engine.weights_problem,
        "caption_problem": engine.caption_problem,
        "keywords_problem": engine.keywords_problem,
        "notices": list(engine.notices),
    }


@router.get("/info")
def info(ctx: Ctx, who: Local) -> dict[str, Any]:
    return _info(ctx)


class SearchIn(BaseModel):
    query: str | None = None
    like: str | None = None
    limit: int = Field(20, ge=1, le=10_000)
    min_score: float | None = None
    where: str | None = None
    vector_only: bool = False


@router.post("/search")
def search(req: SearchIn, ctx: Ctx, who: Local) -> dict[str, Any]:
    from bridge.search.query import SearchError, metadata_search, photo_vector, text_vector
    from bridge.search.query import search as vector_search
    from bridge.search.where import WhereError, parse_where

    try:
        flt = parse_where(req.where) if req.where else None
    except WhereError as e:
        raise ApiError(422, str(e), "where") from None
    host = ctx.host
    try:
        with host.querying():
            engine, led = host.engine, host.reader()
            if req.query is None and req.like is None:
                results = metadata_search(engine, flt, limit=req.limit, ledger=led)
            else:
                vec = (
                    text_vector(engine, req.query)
                    if req.query is not None
                    else photo_vector(engine, str(req.like), ledger=led)[0]
                )
                results = vector_search(engine, vec, limit=req.limit, min_score=req.min_score, where=flt,
                                        text=None if req.vector_only else req.query, ledger=led)  # fmt: skip
    except SearchError as e:
        raise ApiError(422, str(e), "search") from None
    return {
        "model": host.settings.model,
        "notices": list(host.engine.notices),
        "results": [
            {"rank": r.rank, "score": r.score, "path": r.path, "paths": r.paths, "fingerprint": r.fingerprint,
             "fields": r.fields}
            for r in results
        ],
    }  # fmt: skip


class DuplicatesIn(BaseModel):
    kinds: list[str] = []
    vectors: bool = True
    stream: bool = (
        False  # NDJSON lines: {"phase", "total"} and {"done"} as it goes, then {"result"} or {"error"}
    )


@router.post("/duplicates", response_model=None)
def duplicates(req: DuplicatesIn, ctx: Ctx, who: Local) -> dict[str, Any] | StreamingResponse:
    from bridge.analyses.duplicates import DupKind

    try:
        kinds = tuple(DupKind(k) for k in req.kinds) if req.kinds else tuple(DupKind)
    except ValueError:
        raise ApiError(422, "kinds: exact, near or burst", "kinds") from None
    if not req.stream:
        return _duplicates(ctx, kinds, req.vectors, None)
    lines: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def work() -> None:
        try:
            progress = _Streamed(lines)
            result = _duplicates(ctx, kinds, req.vectors, progress)
            progress.flush()  # the last counts before the result
            lines.put({"result": result})
        except Exception as e:  # the reason goes to the log; the client gets a sentence
            log.error("duplicates for a client failed: %s", type(e).__name__, exc_info=True)
            lines.put({"error": "finding duplicates failed in the running service (see its log)"})
        finally:
            lines.put(None)

    threading.Thread(target=work, name="pd-local-duplicates", daemon=True).start()

    def stream() -> Iterator[bytes]:
        while (item := lines.get()) is not None:
            yield (json.dumps(item, default=str) + "\n").encode()

    return StreamingResponse(stream(), media_type="application/x-ndjson")


def _duplicates(ctx: ApiContext, kinds: tuple[Any, ...], vectors: bool, progress: Any) -> dict[str, Any]:
    from bridge.search.duplicates import find_in_index

    with ctx.host.querying():
        groups, notes = find_in_index(read_view(ctx), kinds=kinds, use_vectors=vectors, progress=progress)
    return {
        "notes": notes,
        "groups": [
            {
                "kind": str(g.kind),
                "paths": list(g.paths),
                "fingerprints": list(g.fingerprints),
                "detail": g.detail,
            }
            for g in groups
        ],
    }


class _Streamed(Progress):
    """Progress as NDJSON lines for the client; `done` is sent at most every 0.2 s (one lookup per photo)."""

    def __init__(self, lines: queue.Queue[dict[str, Any] | None]) -> None:
        self.lines, self.done, self.sent = lines, 0, 0.0

    def phase(self, name: str, total: int | None = None) -> None:
        self.flush()
        self.lines.put({"phase": name, "total": total})

    def advance(self, done: int = 0, failed: int = 0) -> None:
        self.done += done
        if time.monotonic() - self.sent >= 0.2:
            self.flush()

    def flush(self) -> None:
        if self.done:
            self.lines.put({"done": self.done})
            self.done = 0
        self.sent = time.monotonic()


class IndexIn(BaseModel):
    roots: list[str] = Field(min_length=1)
    captions: bool | None = None
    label: str = Field("", max_length=200)


@router.post("/index", status_code=202)
def index(req: IndexIn, ctx: Ctx, who: Local) -> dict[str, Any]:
    """Queue the roots (absolute folders, single photos or bucket URLs) as one job of the owner's queue;
    progress and the summary arrive on `/events` as for any job."""
    for root in req.roots:
        if "://" not in root and not os.path.isabs(root):
            raise ApiError(422, f"roots: give absolute paths ({root})", "roots")
    job = ctx.host.submit(req.roots, captions=req.captions, label=req.label or "pixel-detective index")
    ctx.audit.record(who.who(), "job.submit", "local", job=job.id, roots=req.roots[:20], count=len(req.roots))
    return {"job": job.as_dict(), "busy": [j.id for j in ctx.host.jobs() if j.id != job.id
                                           and j.status in ("queued", "running")], **_info(ctx)}  # fmt: skip


class ExportIn(BaseModel):
    file: str
    with_weights: bool = False  # export-db --with-weights: imported models' weights files travel too


@router.post("/export")
def export(req: ExportIn, ctx: Ctx, who: Local) -> dict[str, Any]:
    """`export-db FILE`, written by the owner straight to FILE (same machine, same user)."""
    from pathlib import Path

    from bridge.state.portable import PortableError, check_destination, export_index

    if not os.path.isabs(req.file):
        raise ApiError(422, "file: give an absolute path", "file")
    if any(j.status in ("queued", "running") for j in ctx.host.jobs()):
        raise ApiError(409, "cannot export the index while the running service is indexing; try again when "
                       "its job is done", None)  # fmt: skip
    try:
        dest = check_destination(Path(req.file))
        extra: dict[str, Any] = {"with_weights": True} if req.with_weights else {}
        manifest = export_index(ctx.host.engine, dest, **extra)
    except PortableError as e:
        raise ApiError(422, str(e), "file") from None
    except DiskFullError as e:
        raise ApiError(507, str(e), "file") from None
    ctx.audit.record(who.who(), "index.export", "local", file=req.file)
    return {"manifest": manifest}
