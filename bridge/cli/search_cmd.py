"""`pixel-detective search`."""

from __future__ import annotations

from typing import Annotated

import typer

from bridge.cli import remote_run
from bridge.cli.common import (
    console,
    emit_json,
    fail,
    needs_own_engine,
    out,
    owner_client,
    settings_from,
    shown,
    user_errors,
)
from bridge.cli.exits import Exit
from bridge.cli.table import Column, is_terminal, render
from bridge.engine import Engine
from bridge.search.query import (
    Result,
    SearchError,
    metadata_search,
    photo_vector,
    search,
    text_vector,
)


def search_cmd(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Argument(help='Describe the photo, e.g. "dog on a beach at sunset".')
    ] = None,
    like: Annotated[
        str | None,  # a str, not a Path: `s3://bucket/photo.jpg` must keep its double slash
        typer.Option("--like", help="Find photos similar to this photo (a path or an s3://, gs://… URL)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000)] = 20,
    min_score: Annotated[
        float | None, typer.Option("--min-score", help="Drop results below this cosine score.")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(
            "--where",
            help='Metadata filters, e.g. "rating>=3 camera=canon '
            'date>=2024-01-01" (fields: see `pixel-detective search --help`).',
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Search this model's index.")] = None,
    vector_only: Annotated[
        bool,
        typer.Option(
            "--vector-only",
            help="Rank by image similarity alone; by default a text query also matches words in "
            "captions and keywords (hybrid ranking).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output for scripts.")] = False,
) -> None:
    """Search the index by text or by example photo, with optional metadata filters; `--where` alone
    lists the photos whose metadata match (newest first), with or without the model's weights."""
    from bridge.search.where import WhereError, parse_where

    if query is not None and like is not None or (query is None and like is None and not where):
        raise fail("give a text query, --like PHOTO or --where FILTERS (metadata alone)", Exit.USAGE)
    try:
        flt = parse_where(where) if where else None
    except WhereError as e:
        raise fail(str(e), Exit.USAGE) from None
    settings = settings_from(ctx, model=model)
    metadata_only = query is None and like is None  # filters alone: no model needed, none loaded
    client = owner_client(settings)
    if client is not None:  # the tray app or `serve` owns the index: it runs the search (remote_run.py)
        with client, user_errors():
            if model is not None and model != client.info.get("model"):
                raise needs_own_engine(client, f"--model {model}")
            results, notices = remote_run.search(client, query=query, like=like, limit=limit,
                                                 min_score=min_score, where=where, vector_only=vector_only)  # fmt: skip
        for notice in notices:
            console.print(f"[bold yellow]warning:[/] {shown(notice)}", highlight=False)
    else:
        with user_errors(), Engine.open(settings, purpose="pixel-detective search", model=not metadata_only) as engine:
            try:
                if metadata_only:
                    results = metadata_search(engine, flt, limit=limit)
                else:
                    vec = text_vector(engine, query) if query is not None else photo_vector(engine, like)[0]  # type: ignore[arg-type]
                    results = search(
                        engine,
                        vec,
                        limit=limit,
                        min_score=min_score,
                        where=flt,
                        text=None if vector_only else query,
                    )
            except SearchError as e:
                raise fail(str(e)) from None
            for notice in engine.notices:  # a store being rebuilt, photos missing from it: results are partial
                console.print(f"[bold yellow]warning:[/] {shown(notice)}", highlight=False)
    if as_json:
        emit_json(
            {
                "query": query,
                "like": str(like) if like else None,
                "model": settings.model,
                "results": [r.as_dict() for r in results],
            }
        )
        return
    if not results and is_terminal(out):  # piped: the header line alone, as scripts expect
        out.print("no results")
        return
    render(out, RESULT_COLUMNS, [_row(r) for r in results])


RESULT_COLUMNS = (
    Column("rank", keep=True, justify="right"),
    Column("score", keep=True, justify="right"),
    Column("path", keep=True),
    Column("camera"),
    Column("date"),
    Column("rating"),
    Column("about"),
)


def _row(r: Result) -> list[str]:
    about = _about(r.fields)
    if r.fields.get("pixel_source"):  # an offline original, seen through Lightroom's preview
        about = "offline: from Lightroom's preview" + (f"; {about}" if about else "")
    return [
        str(r.rank),
        f"{r.score:.3f}" if r.score else "-",  # filters alone rank nothing
        r.path,
        str(r.fields.get("camera", "")),
        str(r.fields.get("captured_at", ""))[:19],
        str(r.fields.get("rating", "")),
        about,
    ]


def _about(fields: dict[str, object]) -> str:
    """What the analyses say of a photo: its caption (the photographer's, else the AI's), a few keywords."""
    text = str(fields.get("caption") or fields.get("ai_caption") or "")
    kws = list(fields.get("keywords") or [])[:3] or list(fields.get("ai_keywords") or [])[:3]  # type: ignore[call-overload]
    return "; ".join(p for p in (text, ", ".join(map(str, kws))) if p)
