"""`GET /status` (a `read` key): what the engine has indexed and what it is doing — its model, the counts, the
running job. What a client shows as the engine's status (the Lightroom plug-in's Service status, answered by a
laptop's service from this engine)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bridge import __version__
from bridge.api.auth import Reader
from bridge.api.context import Ctx
from bridge.api.routes.jobs import JobOut, job_out

router = APIRouter(tags=["service"])


class StatusOut(BaseModel):
    version: str
    model: str = Field(description="the embedding model's id")
    indexed: int = Field(description="photos embedded with this model")
    vectors: int = Field(description="vectors in the store (0 without model weights)")
    failed: int = Field(description="files that failed")
    weights_ok: bool = Field(description="whether the model's weights are loaded (text search works)")
    captions: bool = Field(description="whether index runs write captions (the setting)")
    state: str = Field(description="idle, indexing, paused, error")
    running: JobOut | None = Field(
        description="the running job (its first 20 roots: a job of photos has many)"
    )


@router.get("/status", response_model=StatusOut, summary="The engine's model, counts and running job")
def status(ctx: Ctx, who: Reader) -> StatusOut:
    job = ctx.host.running()
    running = job_out(job) if job is not None else None
    if running is not None:
        running.roots = running.roots[:20]
    return StatusOut(version=__version__, **ctx.host.counts(), state=str(ctx.host.state), running=running)
