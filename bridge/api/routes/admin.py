"""Admin: export and import of the whole index (`bridge.state.portable`, as `export-db` / `import-db`),
write-back of the index's suggestions to a closed Lightroom catalog or to XMP sidecars (as `catalog write
--from-index` / `xmp write --from-index`, with `dry_run`), and API keys. Every write is audited."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from bridge.api.auth import Admin, client_address
from bridge.api.context import Ctx
from bridge.api.errors import ApiError
from bridge.api.keys import KeyError_, Scope
from bridge.api.routes.search import save_upload
from bridge.engine import Engine, load_rules
from bridge.files import datadir
from bridge.files.diskspace import DiskFullError
from bridge.host import EngineHost

router = APIRouter(tags=["admin"])


def _idle(host: EngineHost, what: str) -> None:
    if any(j.status in ("queued", "running") for j in host.jobs()):
        raise ApiError(409, f"cannot {what} while an indexing job is queued or running", None)


# -- export / import ---------------------------------------------------------------------------------
@router.post(
    "/index/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/gzip": {}}}},
    summary="Download the whole index as one portable, checksummed archive",
)
def export(request: Request, ctx: Ctx, who: Admin) -> Any:
    import secrets
    import shutil

    from bridge.state.portable import PortableError, export_index

    _idle(ctx.host, "export the index")
    root = (
        ctx.host.settings.data_dir / datadir.TMP_DIR
    )  # named like temp_work's, so a crash's leftover is swept
    datadir.secure_dir(root)
    work = root / f"api-export-{os.getpid()}-{secrets.token_hex(4)}"
    work.mkdir(mode=datadir.DIR_MODE)
    dest = work / "pixel-detective-index.tar.gz"
    try:
        manifest = export_index(ctx.host.engine, dest)
    except (PortableError, DiskFullError) as e:
        shutil.rmtree(work, ignore_errors=True)
        raise ApiError(507 if isinstance(e, DiskFullError) else 409, str(e), None) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    n = sum(c["count"] for c in manifest["collections"])
    ctx.audit.record(who.who(), "index.export", client_address(request), vectors=n)
    return FileResponse(dest, media_type="application/gzip", filename=dest.name,
                        background=BackgroundTask(shutil.rmtree, work, True))  # fmt: skip


class ImportOut(BaseModel):
    vectors: int
    collections: int


class _Lent:
    """The host's engine lent to `import_index`, which closes the engine it opened: here closing only
    reopens the store it switched out, and setting an attribute (the new ledger) sets it on the engine."""

    def __init__(self, engine: Engine) -> None:
        object.__setattr__(self, "_engine", engine)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._engine, name, value)

    def close(self) -> None:
        if self._engine.embedder is not None:
            self._engine.store()


@router.post("/index/import", response_model=ImportOut, summary="Replace the index by an exported archive")
def import_(
    ctx: Ctx,
    who: Admin,
    request: Request,
    file: Annotated[UploadFile, File(description="An archive made by export (or `export-db`)")],
    force: Annotated[bool, Form(description="Replace an index that is not empty")] = False,
) -> ImportOut:
    from bridge.state import portable

    host = ctx.host
    _idle(host, "import an index")
    with datadir.temp_work(host.settings.data_dir, "api-import") as work:
        archive = work / "upload.tar.gz"
        save_upload(file, archive, None, "file")
        try:
            with host.swapping():  # running searches finish first; new ones wait for the new index
                manifest = portable.import_index(
                    archive,
                    host.settings.data_dir,
                    lambda: cast(portable.Engine, _Lent(host.engine)),
                    force=force,
                )
        except portable.PortableError as e:
            raise ApiError(409 if "already holds" in str(e) else 422, f"file: {e}", "file") from None
        except DiskFullError as e:
            raise ApiError(507, str(e), None) from None
    n = sum(c["count"] for c in manifest["collections"])
    ctx.audit.record(who.who(), "index.import", client_address(request), vectors=n, force=force)
    return ImportOut(vectors=n, collections=len(manifest["collections"]))


# -- write-back --------------------------------------------------------------------------------------
class WritebackRequest(BaseModel):
    target: Literal["catalog", "xmp"]
    catalog: str | None = Field(None, description="target=catalog: the closed .lrcat (backed up first)")
    photos: list[str] = Field(
        [], max_length=100_000, description="target=xmp: the photos whose sidecars to write"
    )
    rules: list[str] | None = Field(None, description='Score rules, e.g. "quality >= 0.8 -> rating 4"')
    what: list[str] | None = Field(None, description="catalog fields (default: all)")
    overwrite_caption: bool = False
    dry_run: bool = Field(True, description="Plan only, write nothing (the default)")


class WritebackOut(BaseModel):
    target: str
    dry_run: bool
    photos: int = Field(description="photos with suggestions in the index")
    result: Any = Field(description="catalog: the plan (and report); xmp: one row per photo")


@router.post("/writeback", response_model=WritebackOut, summary="Write the index's suggestions back")
def writeback(req: WritebackRequest, request: Request, ctx: Ctx, who: Admin) -> WritebackOut:
    from bridge.lightroom.changes import changes_from_index, score_rules

    s = ctx.host.settings
    try:
        rules = score_rules(req.rules, s)
    except ValueError as e:
        raise ApiError(422, f"rules: {e}", "rules") from None

    def changes(paths: list[str]) -> dict[str, Any]:
        return changes_from_index(ctx.host.reader(), paths, keyword_rules=load_rules(s), score_rules=rules)

    rows: Any
    if req.target == "xmp":
        if not req.photos:
            raise ApiError(422, "photos: give the photos whose sidecars to write", "photos")
        from bridge.analyses.vocabulary import catalog_top_keywords

        tops = catalog_top_keywords(s.vocabulary_catalog)[0] if s.keyword_parent else ()
        rows, n = _write_xmp(req, changes, s.sidecar_naming, s.keyword_parent, tops)
    else:
        if not req.catalog:
            raise ApiError(422, "catalog: give the .lrcat to write to", "catalog")
        rows, n = _write_catalog(req, changes, s.keyword_parent)
    if not req.dry_run:
        ctx.audit.record(who.who(), "writeback", client_address(request), target=req.target,
                         catalog=req.catalog, photos=n)  # fmt: skip
    return WritebackOut(target=req.target, dry_run=req.dry_run, photos=n, result=rows)


def _write_xmp(
    req: WritebackRequest, changes: Any, naming: Any, keyword_parent: str, tops: tuple[str, ...]
) -> tuple[list[dict[str, Any]], int]:
    """Sidecars for RAW files only (JPEG/TIFF/DNG and other formats are skipped with their reason, as by
    `xmp write` without --embed: catalog/xmp/targets.py); keywords under the keyword parent."""
    from catalog.xmp.targets import plan_photo, write_photo
    from catalog.xmp.write import photo_problem

    rows: list[dict[str, Any]] = []
    wanted = []
    for raw in req.photos:
        path = os.path.abspath(raw)
        problem = photo_problem(Path(path))
        if problem is not None:
            rows.append({"photo": path, "status": "failed", "reason": problem[0], "detail": problem[1]})
        else:
            wanted.append(path)
    found = changes(wanted)
    for path in wanted:
        if path not in found:
            rows.append({"photo": path, "status": "skipped", "reason": "not_indexed"})
    for path, change in sorted(found.items()):
        update = change.xmp_update(
            overwrite_caption=req.overwrite_caption, keyword_parent=keyword_parent, keyword_tops=tops
        )
        if req.dry_run:
            p = plan_photo(Path(path), update, naming=naming)
            rows.append({"photo": path, "sidecar": str(p.sidecar), "changes": list(p.changes),
                         "error": p.error, "reason": p.reason, "skipped": p.skipped or None})  # fmt: skip
        else:
            r = write_photo(Path(path), update, naming=naming)
            rows.append({"photo": path, "status": r.status, "reason": r.reason, "detail": r.detail})
    return rows, len(found)


def _write_catalog(req: WritebackRequest, changes: Any, keyword_parent: str) -> tuple[dict[str, Any], int]:
    from bridge.indexing.scan import normalize_root
    from catalog.errors import CatalogError
    from catalog.reader import open_catalog
    from catalog.write import FIELDS, apply, plan
    from catalog.write.model import PhotoChange, WriteOptions

    cat = Path(str(req.catalog)).expanduser()
    if not cat.is_file():
        raise ApiError(422, "catalog: no such catalog file on the service's machine", "catalog")
    what = set(req.what or FIELDS)
    if not what <= set(FIELDS):
        raise ApiError(422, f"what: choose among {', '.join(FIELDS)}", "what")
    try:
        with open_catalog(cat) as c:
            spelled = {normalize_root(str(p.pure_path)): p.path for p in c.photos() if not p.is_virtual_copy}
        found = changes(sorted(spelled))
        photos = [PhotoChange.from_dict(ch.catalog_change(spelled[ch.path])) for ch in found.values()]
        options = WriteOptions(keyword_parent=keyword_parent or None, overwrite_caption=req.overwrite_caption)
        options.what = frozenset(what)
        options.__post_init__()
        the_plan = plan(cat, photos, options)
        if req.dry_run:
            return {"plan": the_plan.to_dict()}, len(found)
        report = apply(cat, the_plan)
    except CatalogError as e:
        status = 409 if type(e).__name__ == "CatalogLocked" else 422
        raise ApiError(status, f"catalog: {e}", "catalog") from None
    except (ValueError, OSError):
        raise ApiError(
            422, "catalog: the catalog cannot be written (see the service log)", "catalog"
        ) from None
    return {"plan": the_plan.to_dict(), "report": report.to_dict()}, len(found)


# -- keys ----------------------------------------------------------------------------------------------
class KeyOut(BaseModel):
    id: str
    name: str
    scope: Scope
    created_at: float
    revoked_at: float | None


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    scope: Scope


class KeyCreated(KeyOut):
    key: str = Field(description="The secret key: shown this once, stored only hashed")


@router.get("/keys", response_model=list[KeyOut], summary="API keys (never their secrets)")
def list_keys(ctx: Ctx, who: Admin) -> list[KeyOut]:
    return [KeyOut(**k.public()) for k in ctx.keys.list()]


@router.post("/keys", response_model=KeyCreated, status_code=201, summary="Create an API key")
def create_key(req: KeyCreate, request: Request, ctx: Ctx, who: Admin) -> KeyCreated:
    try:
        key, secret = ctx.keys.create(req.name, req.scope)
    except KeyError_ as e:
        raise ApiError(422, f"name: {e}", "name") from None
    ctx.audit.record(who.who(), "key.create", client_address(request), key_id=key.id, name=key.name,
                     scope=key.scope.value)  # fmt: skip
    return KeyCreated(**key.public(), key=secret)


@router.delete("/keys/{key_id}", response_model=KeyOut, summary="Revoke an API key")
def revoke_key(key_id: str, request: Request, ctx: Ctx, who: Admin) -> KeyOut:
    try:
        key = ctx.keys.revoke(key_id)
    except KeyError_ as e:
        raise ApiError(404, str(e), "key_id") from None
    ctx.audit.record(who.who(), "key.revoke", client_address(request), key_id=key.id, name=key.name)
    return KeyOut(**key.public())
