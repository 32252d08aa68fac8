"""What the index knows: one photo (by fingerprint or path) with its metadata and analyses, its thumbnail,
the duplicate groups, and the files that failed with their reasons. Read-only, from the host's per-thread
ledger connections."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from bridge.api.auth import Reader
from bridge.api.context import ApiContext, Ctx
from bridge.api.errors import ApiError
from bridge.engine import Engine
from bridge.files.thumbs import THUMB_SIZE, save_thumbnail, thumb_path, thumbs_dir
from bridge.indexing.scan import normalize_root
from bridge.state.ledger import Ledger

router = APIRouter(tags=["photos"])


class PhotoOut(BaseModel):
    fingerprint: str
    paths: list[str]
    metadata: dict[str, Any]
    analyses: dict[str, Any] = Field(description="quality, dupsig, keywords, caption… by kind")


class DupGroupOut(BaseModel):
    kind: str = Field(description="exact, near or burst")
    fingerprints: list[str]
    paths: list[str]
    detail: dict[str, Any]


class DuplicatesOut(BaseModel):
    groups: list[DupGroupOut]
    notes: list[str]


class FailureOut(BaseModel):
    path: str
    stage: str
    reason: str
    detail: str
    attempts: int
    last_at: float


class FailuresOut(BaseModel):
    total: int
    offset: int
    failures: list[FailureOut]


class ReadView:
    """The host's engine seen through this thread's read-only ledger (engine functions read `engine.ledger`,
    which belongs to the worker thread)."""

    def __init__(self, engine: Engine, ledger: Ledger) -> None:
        self._engine, self.ledger = engine, ledger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def read_view(ctx: ApiContext) -> Engine:
    return cast(Engine, ReadView(ctx.host.engine, ctx.host.reader()))


def _photo(ctx: ApiContext, fingerprint: str) -> PhotoOut:
    led = ctx.host.reader()
    paths = led.paths_for([fingerprint]).get(fingerprint)
    if not paths:
        raise ApiError(404, "no indexed photo with this fingerprint", "fingerprint")
    meta = led.metadata_for([fingerprint]).get(fingerprint, {})
    analyses = led.analyses_for([fingerprint]).get(fingerprint, {})
    return PhotoOut(fingerprint=fingerprint, paths=sorted(paths), metadata=meta, analyses=analyses)


def _fingerprint_of(ctx: ApiContext, path: str) -> str:
    row = ctx.host.reader().file_by_path(normalize_root(path))
    if row is None or not row.fingerprint:
        raise ApiError(404, "no indexed photo at this path", "path")
    return row.fingerprint


@router.get("/photos", response_model=PhotoOut, summary="One photo by its path")
def photo_by_path(
    ctx: Ctx,
    who: Reader,
    path: Annotated[str, Query(min_length=1, max_length=4096)],
) -> PhotoOut:
    return _photo(ctx, _fingerprint_of(ctx, path))


@router.get("/photos/{fingerprint}", response_model=PhotoOut, summary="One photo by its fingerprint")
def photo(fingerprint: str, ctx: Ctx, who: Reader) -> PhotoOut:
    return _photo(ctx, fingerprint)


@router.get(
    "/photos/{fingerprint}/thumbnail",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
    summary="The photo's thumbnail (JPEG, 256 px)",
)
def thumbnail(fingerprint: str, ctx: Ctx, who: Reader) -> Any:
    from bridge.indexing.decode import decode_safe
    from bridge.records import Decoded

    paths = ctx.host.reader().paths_for([fingerprint]).get(fingerprint)
    if not paths:
        raise ApiError(404, "no indexed photo with this fingerprint", "fingerprint")
    cache = thumbs_dir(ctx.host.settings.data_dir)
    dest = thumb_path(cache, fingerprint)
    if not dest.is_file():  # made while indexing when thumbnails are on; otherwise now, as the window does
        for p in sorted(paths):
            got = decode_safe(p, target=THUMB_SIZE, max_pixels=ctx.host.settings.max_pixels)
            if isinstance(got, Decoded) and save_thumbnail(got.pixels, cache, fingerprint):
                break
    if not dest.is_file():
        raise ApiError(404, "no thumbnail: the photo cannot be read", "fingerprint")
    return FileResponse(dest, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/duplicates", response_model=DuplicatesOut, summary="Duplicate groups of the index")
def duplicates(
    ctx: Ctx,
    who: Reader,
    kind: Annotated[list[str] | None, Query(description="exact, near, burst (default: all)")] = None,
) -> DuplicatesOut:
    from bridge.analyses.duplicates import DupKind
    from bridge.search.duplicates import find_in_index

    try:
        kinds = tuple(DupKind(k.strip().lower()) for k in kind) if kind else tuple(DupKind)
    except ValueError:
        raise ApiError(422, "kind: one of exact, near, burst", "kind") from None
    groups, notes = find_in_index(read_view(ctx), kinds=kinds)
    out = [DupGroupOut(kind=str(g.kind), fingerprints=list(g.fingerprints), paths=list(g.paths),
                       detail=g.detail) for g in groups]  # fmt: skip
    return DuplicatesOut(groups=out, notes=notes)


@router.get("/failures", response_model=FailuresOut, summary="Files that failed, with their reasons")
def failures(
    ctx: Ctx,
    who: Reader,
    reason: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FailuresOut:
    rows = [f for f in ctx.host.reader().failures() if reason is None or f.reason == reason]
    page = [FailureOut(path=f.path, stage=str(f.stage), reason=f.reason, detail=f.detail or "",
                       attempts=f.attempts, last_at=f.last_at) for f in rows[offset : offset + limit]]  # fmt: skip
    return FailuresOut(total=len(rows), offset=offset, failures=page)
