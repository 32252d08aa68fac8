"""Write our properties into sidecars (or, only when asked, into JPEG/TIFF): results as values, never an abort."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from catalog.fsutil import FileTooLarge, NotRegularFile, read_fd, read_regular, regular_stat
from catalog.xmp import atomic
from catalog.xmp.atomic import LockedError, RetryPolicy
from catalog.xmp.dom import XmpError
from catalog.xmp.merge import XmpUpdate, merge
from catalog.xmp.naming import Naming, sidecar_path
from catalog.xmp.read import MAX_SIDECAR_BYTES, read_packet

Status = Literal["written", "unchanged", "failed", "skipped"]
_READ_ONLY = {errno.EACCES, errno.EPERM, errno.EROFS}


@dataclass(frozen=True)
class WriteResult:
    path: Path  # the sidecar (or the photo, when embedded)
    status: Status
    # failed: photo-missing | not-a-regular-file | too-large | read-only | locked | invalid-xmp | verify-failed
    #         | not-embeddable | io-error
    # skipped (catalog/xmp/targets.py): embedded-only | no-sidecar-format | not-a-photo
    reason: str | None = None
    detail: str = ""
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedChange:
    photo: Path
    sidecar: Path
    exists: bool
    changes: tuple[str, ...]  # empty: nothing would change
    error: str | None = None
    reason: str | None = None  # named reason when error is set (same names as WriteResult.reason)
    skipped: str = ""  # set (why) when the photo would be skipped (targets.py), with `reason`
    embedded: bool = False  # the change would go inside the photo (`sidecar` is then the photo)


def photo_problem(photo: Path) -> tuple[str, str] | None:
    """(reason, detail) when `photo` cannot get a sidecar: it does not exist, or is a folder/FIFO/device.

    Why: a sidecar for a photo that is not there is an orphan nobody asked for (a typo, a moved file); we only
    `stat` the photo, never open it (RAW files stay untouched, a FIFO cannot block us).
    """
    try:
        if regular_stat(photo) is None:
            return "photo-missing", f"photo not found: {photo} (no sidecar written)"
    except NotRegularFile as exc:
        return exc.reason, f"photo {photo} is {exc.strerror}"
    except OSError as exc:
        return "io-error", f"cannot stat photo {photo}: {exc.strerror or exc}"
    return None


def _read_existing(sidecar: Path) -> bytes | None:
    try:
        return read_regular(sidecar, MAX_SIDECAR_BYTES)
    except FileNotFoundError:
        return None


def plan(photos: Iterable[Path], update: XmpUpdate, naming: Naming = "name") -> list[PlannedChange]:
    """What `write_sidecars` would change per file, touching nothing (for --dry-run)."""
    return [_plan_one(Path(photo), update, naming) for photo in photos]


def _sidecar_of(photo: Path, naming: Naming) -> Path:
    """The sidecar path, or the photo itself where none can be derived (".", "/"): refused anyway."""
    try:
        return sidecar_path(photo, naming)
    except ValueError:
        return photo


def _plan_one(photo: Path, update: XmpUpdate, naming: Naming) -> PlannedChange:
    problem = photo_problem(photo)
    sidecar = _sidecar_of(photo, naming)
    if problem is not None:
        return PlannedChange(photo, sidecar, False, (), problem[1], problem[0])
    existing: bytes | None = None
    try:
        existing = _read_existing(sidecar)
        result = merge(existing, update)
    except XmpError as exc:
        return PlannedChange(photo, sidecar, existing is not None, (), f"invalid XMP: {exc}", "invalid-xmp")
    except OSError as exc:
        failure = _os_failure(sidecar, exc)
        return PlannedChange(photo, sidecar, existing is not None, (), failure.detail, failure.reason)
    return PlannedChange(photo, sidecar, existing is not None, result.changes)


def write_sidecars(
    photos: Iterable[Path], update: XmpUpdate, naming: Naming = "name", retry: RetryPolicy | None = None
) -> list[WriteResult]:
    return [write_sidecar(p, update, naming=naming, retry=retry) for p in photos]


def write_sidecar(
    photo: Path, update: XmpUpdate, *, naming: Naming = "name", retry: RetryPolicy | None = None
) -> WriteResult:
    """Merge `update` into the photo's sidecar. Never opens the photo itself (RAW files stay untouched); refuses
    (`photo-missing`, `not-a-regular-file`) when the photo is not a regular file, writing nothing."""
    problem = photo_problem(Path(photo))
    if problem is not None:
        return WriteResult(_sidecar_of(Path(photo), naming), "failed", problem[0], problem[1])
    sidecar = sidecar_path(Path(photo), naming)
    return write_xmp_file(sidecar, update, retry=retry)


def write_xmp_file(sidecar: Path, update: XmpUpdate, *, retry: RetryPolicy | None = None) -> WriteResult:
    retry = retry or RetryPolicy()
    try:
        lock_fd = atomic.lock_existing(sidecar, retry)
    except LockedError as exc:
        return WriteResult(sidecar, "failed", "locked", str(exc))
    except OSError as exc:
        return _os_failure(sidecar, exc)
    try:
        atomic.clean_stale_temps(sidecar)
        existing = read_fd(lock_fd, MAX_SIDECAR_BYTES, sidecar) if lock_fd is not None else None
        result = merge(existing, update)
        if not result.changes:
            return WriteResult(sidecar, "unchanged")
        mode = stat.S_IMODE(os.fstat(lock_fd).st_mode) if lock_fd is not None else 0o644
        atomic.replace_atomically(sidecar, result.data, retry, mode)
        written = read_regular(sidecar, MAX_SIDECAR_BYTES)
        if written != result.data:
            return WriteResult(sidecar, "failed", "verify-failed", "re-read differs from what was written")
        read_packet(written)
        return WriteResult(sidecar, "written", changes=result.changes)
    except XmpError as exc:
        return WriteResult(sidecar, "failed", "invalid-xmp", str(exc))
    except LockedError as exc:
        return WriteResult(sidecar, "failed", "locked", str(exc))
    except OSError as exc:
        return _os_failure(sidecar, exc)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def _os_failure(path: Path, exc: OSError) -> WriteResult:
    if isinstance(exc, NotRegularFile | FileTooLarge):
        return WriteResult(path, "failed", exc.reason, f"{path} is {exc.strerror}")
    if exc.errno in _READ_ONLY:
        return WriteResult(path, "failed", "read-only", f"cannot write in {path.parent}: {exc}")
    return WriteResult(path, "failed", "io-error", f"cannot write {path}: {exc.strerror or exc}")
