"""Write our properties into sidecars (or, only when asked, into JPEG/TIFF): results as values, never an abort."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from catalog.xmp import atomic
from catalog.xmp.atomic import LockedError, RetryPolicy
from catalog.xmp.dom import XmpError
from catalog.xmp.merge import XmpUpdate, merge
from catalog.xmp.naming import Naming, sidecar_path
from catalog.xmp.read import read_packet

Status = Literal["written", "unchanged", "failed"]
_READ_ONLY = {errno.EACCES, errno.EPERM, errno.EROFS}


@dataclass(frozen=True)
class WriteResult:
    path: Path  # the sidecar (or the photo, when embedded)
    status: Status
    reason: str | None = (
        None  # failed: read-only | locked | invalid-xmp | verify-failed | not-embeddable | io-error
    )
    detail: str = ""
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedChange:
    photo: Path
    sidecar: Path
    exists: bool
    changes: tuple[str, ...]  # empty: nothing would change
    error: str | None = None


def plan(photos: Iterable[Path], update: XmpUpdate, naming: Naming = "name") -> list[PlannedChange]:
    """What `write_sidecars` would change per file, touching nothing (for --dry-run)."""
    out = []
    for photo in photos:
        sidecar = sidecar_path(Path(photo), naming)
        try:
            existing = sidecar.read_bytes() if sidecar.exists() else None
            result = merge(existing, update)
            out.append(PlannedChange(Path(photo), sidecar, existing is not None, result.changes))
        except (OSError, XmpError) as exc:
            out.append(
                PlannedChange(Path(photo), sidecar, sidecar.exists(), (), f"{type(exc).__name__}: {exc}")
            )
    return out


def write_sidecars(
    photos: Iterable[Path], update: XmpUpdate, naming: Naming = "name", retry: RetryPolicy | None = None
) -> list[WriteResult]:
    return [write_sidecar(p, update, naming=naming, retry=retry) for p in photos]


def write_sidecar(
    photo: Path, update: XmpUpdate, *, naming: Naming = "name", retry: RetryPolicy | None = None
) -> WriteResult:
    """Merge `update` into the photo's sidecar. Never opens the photo itself (RAW files stay untouched)."""
    return write_xmp_file(sidecar_path(Path(photo), naming), update, retry=retry)


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
        existing = sidecar.read_bytes() if lock_fd is not None else None
        result = merge(existing, update)
        if not result.changes:
            return WriteResult(sidecar, "unchanged")
        mode = stat.S_IMODE(os.fstat(lock_fd).st_mode) if lock_fd is not None else 0o644
        atomic.replace_atomically(sidecar, result.data, retry, mode)
        written = sidecar.read_bytes()
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
    if exc.errno in _READ_ONLY:
        return WriteResult(path, "failed", "read-only", f"cannot write in {path.parent}: {exc}")
    return WriteResult(path, "failed", "io-error", f"{type(exc).__name__}: {exc}")
