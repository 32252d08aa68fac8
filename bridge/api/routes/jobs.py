"""Indexing jobs over the host's queue: submit a folder, a Lightroom catalog's photos or a bucket prefix; list,
one, pause / resume (the whole queue: the host runs one job at a time) and cancel; live progress as
server-sent events (`/events`, from `EngineHost.subscribe`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from bridge.api.auth import Indexer, Reader, client_address
from bridge.api.context import ApiContext, Ctx
from bridge.api.errors import ApiError
from bridge.files.objects import is_url
from bridge.host import HostEvent, Job

router = APIRouter(tags=["jobs"])

HEARTBEAT_S = 15.0
EVENT_QUEUE = 1000  # per client; a client that cannot keep up loses the oldest progress events


MAX_PHOTOS = 100_000  # as the Lightroom plug-in's `analyze`


class JobRequest(BaseModel):
    """Exactly one of `folder`, `catalog`, `url`, `photos`."""

    folder: str | None = Field(None, description="A folder on the service's machine (absolute path)")
    catalog: str | None = Field(None, description="A Lightroom .lrcat: its photos that are on disk")
    url: str | None = Field(None, description="A bucket prefix, e.g. s3://bucket/photos/")
    photos: list[str] | None = Field(
        None,
        max_length=MAX_PHOTOS,
        description="Photo files on the service's machine (absolute paths): the Lightroom plug-in's Analyze "
        "through a laptop's service. All of them must be readable there, or none is indexed (422 names them).",
    )
    captions: bool | None = Field(None, description="Captions on/off for this job (default: the setting)")
    label: str = Field("", max_length=200)


class JobOut(BaseModel):
    job: str
    label: str
    roots: list[str]
    status: str = Field(description="queued, running, completed, stopped, cancelled, failed")
    phase: str
    done: int
    failed: int
    total: int | None
    rate: float | None = Field(description="photos per second")
    eta_seconds: float | None
    error: str | None
    summary: dict[str, Any] | None = None
    notes: list[str] = []


class JobAction(BaseModel):
    job: str
    state: str = Field(description="the host's state after the action: idle, indexing, paused, error")
    done: bool = Field(description="whether the action applied (a finished job cannot be cancelled)")


def job_out(job: Job, notes: list[str] | None = None) -> JobOut:
    return JobOut(**job.as_dict(), summary=job.summary, notes=notes or [])


def _sources(ctx: ApiContext, req: JobRequest) -> tuple[list[str], list[str]]:
    given = [n for n in ("folder", "catalog", "url", "photos") if getattr(req, n)]
    if len(given) != 1:
        field = given[1] if len(given) > 1 else "folder"
        raise ApiError(422, f"{field}: give exactly one of folder, catalog, url, photos", field)
    if req.photos:
        return _photos(req.photos), []
    if req.url:
        if not is_url(req.url):
            raise ApiError(422, "url: not a bucket URL (s3://, gs://, …)", "url")
        return [req.url], []
    if req.folder:
        folder = Path(req.folder).expanduser()
        if not folder.is_absolute():
            raise ApiError(422, "folder: give an absolute path", "folder")
        if not folder.is_dir():
            raise ApiError(422, "folder: not a folder on the service's machine", "folder")
        return [os.path.abspath(folder)], []
    from bridge.indexing.catalogs import catalog_sources, nothing_to_index
    from catalog.errors import CatalogError

    cat = Path(str(req.catalog)).expanduser()
    if not cat.is_file():
        raise ApiError(422, "catalog: no such catalog file on the service's machine", "catalog")
    try:
        roots, stand_ins, notes = catalog_sources([cat], ctx.host.settings.data_dir, previews=False)
    except CatalogError as e:
        status = 409 if type(e).__name__ == "CatalogLocked" else 422
        raise ApiError(status, f"catalog: {e}", "catalog") from None
    if not roots:
        raise ApiError(422, f"catalog: {nothing_to_index([cat], notes)}", "catalog")  # offline originals: said
    return roots, notes


def _photos(paths: list[str]) -> list[str]:
    """The photo files, all regular files with a photo extension on this machine; else 422 naming the first
    missing one and how many are missing (the client's sentence: the same path must lead to them here)."""
    from bridge.files.formats import is_supported

    out: list[str] = []
    missing: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_absolute() or ".." in path.parts:
            raise ApiError(422, f"photos: give absolute paths ({raw[:300]!r} is not one)", "photos")
        if not path.is_file():
            missing.append(raw)
        elif not is_supported(path):
            raise ApiError(422, f"photos: not a photo file the engine reads: {raw[:300]!r}", "photos")
        out.append(os.path.abspath(path))
    if missing:
        raise ApiError(422, f"photos: {len(missing)} of {len(paths)} photos are not on the service's machine "
                       f"(first: {missing[0][:300]!r})", "photos")  # fmt: skip
    return out


@router.post("/jobs", status_code=202, response_model=JobOut, summary="Queue an indexing job")
def submit(req: JobRequest, request: Request, ctx: Ctx, who: Indexer) -> JobOut:
    roots, notes = _sources(ctx, req)
    job = ctx.host.submit(roots, captions=req.captions, label=req.label)
    ctx.audit.record(who.who(), "job.submit", client_address(request), job=job.id, roots=roots[:20],
                     count=len(roots))  # fmt: skip
    return job_out(job, notes)


@router.get("/jobs", response_model=list[JobOut], summary="Every job of this run of the service")
def list_jobs(ctx: Ctx, who: Reader) -> list[JobOut]:
    return [job_out(j) for j in ctx.host.jobs()]


def _job(ctx: ApiContext, job_id: str) -> Job:
    job = ctx.host.job(job_id)
    if job is None:
        raise ApiError(404, f"no job {job_id!r}", "job_id")
    return job


@router.get("/jobs/{job_id}", response_model=JobOut, summary="One job with its progress")
def get_job(job_id: str, ctx: Ctx, who: Reader) -> JobOut:
    return job_out(_job(ctx, job_id))


@router.post("/jobs/{job_id}/pause", response_model=JobAction, summary="Pause (holds the whole queue)")
def pause(job_id: str, request: Request, ctx: Ctx, who: Indexer) -> JobAction:
    job = _job(ctx, job_id)
    live = job.status in ("queued", "running")
    if live:
        ctx.host.pause()
        ctx.audit.record(who.who(), "job.pause", client_address(request), job=job_id)
    return JobAction(job=job_id, state=ctx.host.state, done=live)


@router.post("/jobs/{job_id}/resume", response_model=JobAction, summary="Resume the paused queue")
def resume(job_id: str, request: Request, ctx: Ctx, who: Indexer) -> JobAction:
    _job(ctx, job_id)
    ctx.host.resume()
    ctx.audit.record(who.who(), "job.resume", client_address(request), job=job_id)
    return JobAction(job=job_id, state=ctx.host.state, done=True)


@router.post("/jobs/{job_id}/cancel", response_model=JobAction, summary="Stop or drop one job")
def cancel(job_id: str, request: Request, ctx: Ctx, who: Indexer) -> JobAction:
    _job(ctx, job_id)
    done = ctx.host.cancel(job_id)
    ctx.audit.record(who.who(), "job.cancel", client_address(request), job=job_id, applied=done)
    return JobAction(job=job_id, state=ctx.host.state, done=done)


def _sse(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n".encode()


@router.get(
    "/events",
    summary="Live job progress (text/event-stream)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(request: Request, ctx: Ctx, who: Reader) -> Any:
    """Server-sent events: `hello` (state and jobs), then `state`, `job_started`, `phase`, `progress`,
    `job_finished` as the host emits them; a comment line every 15 s keeps proxies from closing the stream."""
    loop = asyncio.get_running_loop()
    q: asyncio.Queue[HostEvent] = asyncio.Queue(EVENT_QUEUE)

    def put(ev: HostEvent) -> None:
        if q.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                q.get_nowait()
        q.put_nowait(ev)

    def on_event(ev: HostEvent) -> None:  # the host's worker thread
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(put, ev)

    unsubscribe = ctx.host.subscribe(on_event)

    async def stream() -> AsyncIterator[bytes]:
        try:
            hello = {"state": ctx.host.state, "jobs": [j.as_dict() for j in ctx.host.jobs()]}
            yield _sse("hello", hello)
            idle = 0.0
            while not ctx.stopping.is_set():
                try:
                    ev = await asyncio.wait_for(q.get(), timeout=0.5)
                except TimeoutError:
                    idle += 0.5
                    if await request.is_disconnected():
                        return
                    if idle >= HEARTBEAT_S:
                        idle = 0.0
                        yield b": keep-alive\n\n"
                    continue
                idle = 0.0
                yield _sse(ev.kind, ev.data)
        finally:
            unsubscribe()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
