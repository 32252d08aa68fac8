"""Search: by text (GET) or by an uploaded photo (multipart POST), with the CLI's `--where` filters,
`min_score` and `offset` / `limit` pagination. Each search is timed and handed to the context's search
observers (the metrics module's latency histogram)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

from bridge.api.auth import Reader
from bridge.api.context import Ctx
from bridge.api.errors import ApiError
from bridge.files import datadir
from bridge.search.query import Result, SearchError, photo_vector, search
from bridge.search.where import WhereError, parse_where

router = APIRouter(tags=["search"])

MAX_LIMIT = 200
MAX_OFFSET = 1_000  # offset + limit results are ranked per page: deep pages cost the service
MAX_UPLOAD = 50 * 1024 * 1024
WHERE_HELP = 'Filters as in the CLI\'s --where, e.g. "camera=X100V date>=2023-01 iso<800"'


class Hit(BaseModel):
    rank: int
    score: float
    path: str
    paths: list[str]
    fingerprint: str
    fields: dict[str, Any] = Field(
        description="the photo's indexed metadata (camera, captured_at, rating, …)"
    )


class SearchOut(BaseModel):
    query: str | None
    where: str | None
    offset: int
    limit: int
    results: list[Hit]


def _hits(results: list[Result], offset: int, limit: int) -> list[Hit]:
    return [Hit(rank=r.rank, score=round(r.score, 6), path=r.path, paths=r.paths, fingerprint=r.fingerprint,
                fields=r.fields) for r in results[offset : offset + limit]]  # fmt: skip


def _where(text: str | None) -> Any:
    if not text:
        return None
    try:
        return parse_where(text)
    except WhereError as e:
        raise ApiError(422, f"where: {e}", "where") from None


def _search_error(e: SearchError, field: str) -> ApiError:
    if e.kind == "no_model":
        return ApiError(503, "search is unavailable: the embedding model is not loaded", None)
    return ApiError(422, f"{field}: {e}", field)


@router.get("/search", response_model=SearchOut, summary="Search by text, or by metadata filters alone")
def search_text(
    ctx: Ctx,
    who: Reader,
    request: Request,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=1000,
            description="What the photo shows (none: `where` alone, newest first)",
        ),
    ] = None,
    where: Annotated[str | None, Query(max_length=2000, description=WHERE_HELP)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    min_score: Annotated[float | None, Query(ge=-1.0, le=1.0)] = None,
) -> SearchOut:
    flt = _where(where)
    if q is None and where is None:
        raise ApiError(422, "q: give a query, or filters in where to list photos by their metadata", "q")
    if q is not None and not q.strip():
        raise ApiError(422, "q: empty query: describe the photo you are looking for", "q")
    started = time.perf_counter()
    try:
        if q is None:  # filters alone (what `search --where` does): no model needed
            results = ctx.host.search_metadata(limit=offset + limit, where=flt)
        else:
            results = ctx.host.search_text(q, limit=offset + limit, min_score=min_score, where=flt)
    except SearchError as e:
        raise _search_error(e, "q") from None
    hits = _hits(results, offset, limit)
    ctx.observe_search("text", time.perf_counter() - started, len(hits))
    return SearchOut(query=q, where=where, offset=offset, limit=limit, results=hits)


@router.post("/search/image", response_model=SearchOut, summary="Search by an uploaded photo")
def search_image(
    ctx: Ctx,
    who: Reader,
    request: Request,
    file: Annotated[UploadFile, File(description="A photo (JPEG, PNG, HEIC, RAW, …)")],
    where: Annotated[str | None, Form(max_length=2000, description=WHERE_HELP)] = None,
    offset: Annotated[int, Form(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Form(ge=1, le=MAX_LIMIT)] = 20,
    min_score: Annotated[float | None, Form(ge=-1.0, le=1.0)] = None,
) -> SearchOut:
    flt = _where(where)
    host = ctx.host
    started = time.perf_counter()
    with datadir.temp_work(host.settings.data_dir, "api-upload") as work:
        suffix = Path(file.filename or "").suffix.lower()
        dest = work / f"query{suffix if suffix.isascii() and len(suffix) <= 6 else ''}"
        save_upload(file, dest, MAX_UPLOAD, "file")
        try:
            with host.querying():
                vec, _ = photo_vector(host.engine, dest, ledger=host.reader())
                results = search(host.engine, vec, limit=offset + limit, min_score=min_score, where=flt,
                                 ledger=host.reader())  # fmt: skip
        except SearchError as e:
            if e.kind == "no_model":
                raise _search_error(e, "file") from None
            raise ApiError(422, "file: cannot read the upload as a photo", "file") from None
    hits = _hits(results, offset, limit)
    ctx.observe_search("image", time.perf_counter() - started, len(hits))
    return SearchOut(query=None, where=where, offset=offset, limit=limit, results=hits)


def save_upload(file: UploadFile, dest: Path, cap: int | None, field: str) -> int:
    """Copy an upload to `dest` (private), refusing more than `cap` bytes; returns the size."""
    size = 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := file.file.read(1 << 20):
            size += len(chunk)
            if cap is not None and size > cap:
                raise ApiError(413, f"{field}: larger than {cap // (1024 * 1024)} MiB", field)
            out.write(chunk)
    if size == 0:
        raise ApiError(422, f"{field}: the upload is empty", field)
    return size
