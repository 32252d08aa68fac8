"""`/api/v1/local/cull...`: `pixel-detective cull` run by the process that owns the index (the tray app or
`serve`), and its decisions sent to Lightroom through that process's plug-in link.

`POST /local/cull` does what the command does locally — the user's overrides first, then the groups, ranks,
reasons and decisions, stored in the owner's ledger — and returns the report as `CullResult.as_dict` rows.
`POST /local/lightroom/cull` sends decisions to the connected Lightroom as the plug-in's `apply` pushes (under
the frame cap) and the "Pixel Detective: …" collections: the way to write a cull while Lightroom has the
catalog open. Only the owner's local token may call them (see `local.py`).
"""

from __future__ import annotations

import os
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bridge.api.context import Ctx
from bridge.api.errors import ApiError
from bridge.api.routes.local import Local
from bridge.api.routes.photos import read_view

router = APIRouter(prefix="/local", tags=["local clients"], include_in_schema=False)

LIGHTROOM = "lightroom"  # ApiContext.extra key: the owner's Lightroom `Service`, when it runs one


class Override(BaseModel):
    paths: list[str] = Field(min_length=1)
    decision: Literal["pick", "reject", "undecided"] | None  # None: forget the user's decision


class CullIn(BaseModel):
    folder: str | None = None  # an absolute folder …
    paths: list[str] | None = None  # … or the indexed spellings of a catalog's photos
    target_share: float | None = Field(None, gt=0, le=1)
    target_count: int | None = Field(None, ge=1)
    per: Literal["group", "shoot"] = "group"
    vectors: bool = True
    overrides: list[Override] = []


@router.post("/cull")
def cull(req: CullIn, ctx: Ctx, who: Local) -> dict[str, Any]:
    from bridge.search.cull import among, cull_ledger, options_from, under
    from bridge.search.duplicates import DupOptions, store_neighbors
    from bridge.state import culling as state
    from bridge.state.ledger import Ledger

    if (req.folder is None) == (req.paths is None):
        raise ApiError(422, "give folder or paths", "folder")
    if req.folder is not None and not os.path.isabs(req.folder):
        raise ApiError(422, f"folder: give an absolute path ({req.folder})", "folder")
    in_scope = under(req.folder) if req.folder is not None else among(req.paths or [])
    settings = ctx.host.settings
    options = options_from(
        settings, target_share=req.target_share, target_count=req.target_count, per=req.per
    )
    dup = DupOptions()
    # Its own writable connection: the cull table is written here while the indexing thread may write
    # other tables through the engine's (SQLite serializes the two; WAL keeps readers going).
    led = Ledger(settings.ledger_path)
    try:
        with ctx.host.querying():
            for o in req.overrides:
                state.set_override(led, [os.path.abspath(p) for p in o.paths], o.decision)
            view = read_view(ctx)
            neighbors = (
                store_neighbors(view, dup.neighbors_k, dup.neighbor_min_cosine) if req.vectors else None
            )
            report = cull_ledger(led, in_scope, options, neighbors=neighbors, dup_options=dup)
    finally:
        led.close()
    ctx.audit.record(who.who(), "cull", "local", folder=req.folder, photos=len(report.results))
    return {"notes": report.notes, "photos": [r.as_dict() for r in report.results]}


class SendIn(BaseModel):
    photos: list[
        dict[str, Any]
    ] = []  # the plug-in's `apply` photos (bridge/lightroom/cullwrite.apply_photos)
    collections: dict[str, list[str]] = {}  # name → paths, shown as collections in Lightroom


@router.post("/lightroom/cull")
def send_to_lightroom(req: SendIn, ctx: Ctx, who: Local) -> dict[str, Any]:
    from bridge.lightroom.cullwrite import send_decisions
    from bridge.lightroom.service import NotConnected

    service = ctx.extra.get(LIGHTROOM)
    if service is None:
        raise ApiError(409, "this process runs no Lightroom link", None)
    try:
        result = send_decisions(service, req.photos, req.collections)
    except NotConnected:
        raise ApiError(409, "Lightroom is not connected (open Lightroom with the Pixel Detective plug-in "
                       "enabled)", None) from None  # fmt: skip
    except TimeoutError:
        raise ApiError(
            504, "Lightroom did not answer in time; the decisions are kept in the index", None
        ) from None
    ctx.audit.record(who.who(), "lightroom.cull", "local", photos=len(req.photos),
                     collections=sorted(req.collections))  # fmt: skip
    return result
