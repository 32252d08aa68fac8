"""The first two phases of a run: scan the roots (record what is on disk) and plan the work (per content
fingerprint, what is left to do), each returning a frozen value the next phase reads."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bridge.files.formats import limits_for
from bridge.files.objects import ObjectStoreError, encode_options, is_url
from bridge.files.thumbs import thumbs_dir
from bridge.indexing.context import METADATA_VERSION, RunContext
from bridge.indexing.scan import PathFilter, ScanResult, scan_root
from bridge.indexing.sidecars import SidecarChanges, changes
from bridge.indexing.summary import Tally
from bridge.indexing.worker import Job
from bridge.records import Failure, RunFailure, ScannedFile, SourceOutage, Stage
from bridge.state.rows import FailedFile, FailureRow

SCAN_CHUNK = 2000  # scanned files recorded per ledger transaction


@dataclass(frozen=True)
class Scanned:
    files: tuple[ScannedFile, ...]
    complete: bool  # every root was there and fully listed: only then may files missing from it be swept
    sidecars: SidecarChanges = SidecarChanges()  # XMP sidecars new, edited or gone since the last run


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]  # one per content needing work, at its first path
    repath: frozenset[str]  # content already embedded, seen at maybe new paths: payload paths refreshed
    embedded: frozenset[str]  # content with a vector of this model before this run
    sizes: Mapping[str, tuple[int, int]]  # path → (size, mtime_ns) at scan time, kept with failures
    sidecars: SidecarChanges = SidecarChanges()  # read in the scan; shown and recorded by `run_batches`

    def failed_file(self, failure: Failure) -> FailedFile:
        """The failure with its file's size and mtime at scan time (it is retried once they change)."""
        return FailedFile(failure, *self.sizes.get(failure.path, (0, 0)))


def scan(ctx: RunContext, tally: Tally, roots: Sequence[str], run_id: int) -> Scanned:
    flt = PathFilter(ctx.settings.include, ctx.settings.exclude)
    seen: list[ScannedFile] = []
    sidecars = SidecarChanges()
    complete = True
    summary = tally.summary
    ctx.progress.phase("scanning")
    with tally.timed("scan"):
        for root in roots:
            url = is_url(root)
            if root in ctx.stand_ins and not os.path.exists(root):  # an offline original, from its preview
                res = scan_stand_in(ctx, root, flt)
            elif not url and not os.path.exists(root):
                summary.notes.append(f"not found: {root}")
                complete = False  # never sweep a root that is missing (an unmounted disk is not a deletion)
                continue
            else:
                try:
                    res = scan_root(
                        root,
                        ctx.ledger.files_under(root),
                        flt,
                        follow_symlinks=ctx.settings.follow_symlinks,
                        should_stop=ctx.stop.is_set,
                        options=ctx.settings.object_storage_options,
                    )
                except ObjectStoreError as e:  # no bucket, no credentials, access denied: the user's to fix
                    if e.kind in ("unreachable", "credentials"):
                        raise SourceOutage(str(e)) from None  # may pass: a watcher tries again later
                    raise RunFailure(str(e)) from None
            if url and not (res.seen or res.errors or res.unreadable_dirs):
                # A prefix holds no objects: like a missing folder, never taken as "everything deleted"
                # (a typo, or credentials that see another account's bucket of the same name).
                summary.notes.append(
                    f"nothing found under {root}: nothing under it was removed from the index"
                )
                complete = False
                continue
            for i in range(0, len(res.seen), SCAN_CHUNK):
                ctx.ledger.record_scanned(res.seen[i : i + SCAN_CHUNK], run_id)
            if res.errors:
                ctx.ledger.commit_batch(failures=[FailedFile(f, 0, 0) for f in res.errors])
                tally.failed(res.errors)
                # unreadable now is not deleted: keep their rows (and vectors) out of the sweep
                ctx.ledger.mark_seen([f.path for f in res.errors], run_id)
            for d in res.unreadable_dirs:
                summary.notes.append(f"could not list {d}: nothing under it was removed from the index")
            sidecars += changes(ctx.ledger, res, ctx.stop.is_set)
            seen.extend(res.seen)
            summary.new_or_changed += len(res.changed)
            summary.unchanged += res.unchanged
            complete = complete and res.complete
    summary.files_seen = len(seen)
    return Scanned(tuple(seen), complete, sidecars)


def scan_stand_in(ctx: RunContext, original: str, flt: PathFilter) -> ScanResult:
    """Scan an offline original's stand-in file as if it were the original: the ledger row keeps the
    original's path with the stand-in's size and mtime, so the original's return reads as a change."""
    stand_in = ctx.stand_ins[original]
    row = ctx.ledger.files_under(original).get(original)
    known = {stand_in.file: row} if row is not None else {}
    res = scan_root(stand_in.file, known, flt, follow_symlinks=True, should_stop=ctx.stop.is_set)

    def moved(f: ScannedFile) -> ScannedFile:
        return replace(f, path=original, root=original)

    return ScanResult(
        root=original,
        seen=[moved(f) for f in res.seen],
        changed=[moved(f) for f in res.changed],
        unchanged=res.unchanged,
        errors=[replace(e, path=original) for e in res.errors],
        complete=res.complete,
    )


def gave_up(fail: FailureRow | None, f: ScannedFile, retry_failed: bool, max_attempts: int) -> bool:
    """The file is unchanged since it failed, and not (or no longer) to be retried."""
    if fail is None or fail.size != f.size or fail.mtime_ns != f.mtime_ns:
        return False
    return not (retry_failed and fail.attempts < max_attempts)


def plan(ctx: RunContext, tally: Tally, scanned: Scanned, retry_failed: bool) -> Plan:
    """Decide per content fingerprint what is left to do."""
    s, led, model_id = ctx.settings, ctx.ledger, ctx.model_id
    failed = led.failures_by_path()
    # An analysis that failed on a file (a bug or an odd bitmap) is not retried until the file changes.
    kinds = dict(ctx.pixel_kinds)
    analysis_failed = {(f.path, f.stage): f for f in led.failures() if f.stage in kinds}
    meta_versions = led.content_versions()
    embedded = frozenset(led.done_fingerprints(Stage.EMBED, model_id) if model_id else ())
    analysed = {k: led.done_fingerprints(k, v) for k, v in ctx.pixel_kinds}
    image_size = ctx.embedder.weights.spec.image_size if ctx.embedder else 0
    # Captions in the same pass for photos decoded anyway; the caption pass does those indexed earlier.
    captioner = ctx.captioner
    captioned = led.done_fingerprints(Stage.CAPTION, captioner.model_id) if captioner else set()
    thumbs = str(thumbs_dir(s.data_dir)) if s.thumbnails else ""
    storage = encode_options(s.object_storage_options)  # for the workers that read URLs

    jobs: dict[str, Job] = {}
    repath: set[str] = set()
    for f in scanned.files:
        assert f.fingerprint
        if gave_up(failed.get(f.path), f, retry_failed, s.max_attempts):
            tally.summary.skipped_failed += 1  # poison files wait until they change (R8)
            continue
        want_meta = meta_versions.get(f.fingerprint) != METADATA_VERSION
        want_pixels = ctx.embedder is not None and f.fingerprint not in embedded
        want_analyses = tuple(
            (k, v)
            for k, v in ctx.pixel_kinds
            if f.fingerprint not in analysed[k]
            and not gave_up(analysis_failed.get((f.path, k)), f, retry_failed, s.max_attempts)
        )
        if f.fingerprint in jobs:
            continue  # same content at another path: processed once
        if want_meta or want_pixels or want_analyses:
            stand_in = ctx.stand_ins.get(f.path)
            lim = limits_for(stand_in.file if stand_in else f.path, s.format_limits, s.max_pixels)
            jobs[f.fingerprint] = Job(
                path=f.path,
                fingerprint=f.fingerprint,
                want_metadata=want_meta,
                want_pixels=want_pixels,
                image_size=image_size,
                decode_size=s.decode_size,
                max_pixels=lim.max_pixels,
                analyses=want_analyses,
                caption_size=captioner.input_size
                if captioner and (want_pixels or want_analyses) and f.fingerprint not in captioned
                else 0,
                thumb_dir=thumbs if want_pixels or want_analyses else "",
                size=f.size,
                max_bytes=lim.max_bytes,
                storage=storage if is_url(f.path) else "",
                stand_in=stand_in.file if stand_in else "",
                stand_in_kind=stand_in.kind if stand_in else "",
            )
        if model_id and not want_pixels and f.fingerprint in embedded:
            repath.add(f.fingerprint)  # a moved/renamed/copied file: update its payload, never re-embed
    sizes = {f.path: (f.size, f.mtime_ns) for f in scanned.files}
    return Plan(tuple(jobs.values()), frozenset(repath), embedded, sizes, scanned.sidecars)
