"""Where a photo's metadata may be written so that Lightroom reads it: the one policy `xmp write` (and every
other XMP writer) follows.

* proprietary RAW (CR2, NEF, ARW, …): a sidecar (`IMG_1.xmp`), as Lightroom writes and reads it;
* JPEG, TIFF, DNG: Lightroom reads their metadata from inside the file and ignores a sidecar beside them, so
  they are written only when embedding was asked for (`embed=True`, `xmp write --embed`: the original changes);
  otherwise skipped with the reason `embedded-only`;
* anything else (PNG, HEIC, PSD, WebP, …): skipped (`no-sidecar-format`), never written into.

With the darktable / digiKam naming (`name.ext`, `IMG_1.JPG.xmp`) those tools read a sidecar for every format,
so every photo gets one (JPEG/TIFF/DNG are still embedded instead when `embed` is asked for). Originals are
never opened for writing except by an asked-for embed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from catalog.xmp.atomic import RetryPolicy
from catalog.xmp.merge import XmpUpdate
from catalog.xmp.naming import Naming, can_embed, is_raw, sidecar_path
from catalog.xmp.write import PlannedChange, WriteResult, photo_problem, plan, write_sidecar

Where = Literal["sidecar", "embedded", "skipped"]


@dataclass(frozen=True)
class Target:
    photo: Path
    where: Where
    path: Path  # the sidecar, or the photo itself (embedded, skipped)
    reason: str | None = None  # skipped: embedded-only | no-sidecar-format
    detail: str = ""


def target(photo: Path, naming: Naming = "name", *, embed: bool = False) -> Target:
    photo = Path(photo)
    ext = photo.suffix.lower() or "(no extension)"
    if embed and can_embed(photo):
        return Target(photo, "embedded", photo)
    if is_raw(photo) or naming == "name.ext":
        try:
            return Target(photo, "sidecar", sidecar_path(photo, naming))
        except ValueError:
            return Target(photo, "skipped", photo, "not-a-photo", "no file name to name a sidecar after")
    if can_embed(photo):
        return Target(
            photo,
            "skipped",
            photo,
            "embedded-only",
            f"Lightroom reads a {ext} file's metadata from inside it and ignores sidecars; "
            "give --embed to write it there (the original file is changed)",
        )
    return Target(
        photo,
        "skipped",
        photo,
        "no-sidecar-format",
        f"Lightroom reads no sidecar for {ext} files and Pixel Detective does not write inside them",
    )


def write_photo(
    photo: Path,
    update: XmpUpdate,
    *,
    naming: Naming = "name",
    embed: bool = False,
    retry: RetryPolicy | None = None,
) -> WriteResult:
    """Write `update` where Lightroom reads it for this photo; a skipped photo comes back as `skipped`."""
    problem = photo_problem(Path(photo))
    t = target(photo, naming, embed=embed)
    if problem is not None:
        return WriteResult(t.path, "failed", problem[0], problem[1])
    if t.where == "skipped":
        return WriteResult(t.path, "skipped", t.reason, t.detail)
    if t.where == "embedded":
        from catalog.xmp.embed import write_embedded  # Exiv2 is loaded only when embedding

        return write_embedded(t.photo, update, retry=retry)
    return write_sidecar(t.photo, update, naming=naming, retry=retry)


def write_photos(
    photos: Iterable[Path], update: XmpUpdate, *, naming: Naming = "name", embed: bool = False
) -> list[WriteResult]:
    return [write_photo(Path(p), update, naming=naming, embed=embed) for p in photos]


def plan_photo(photo: Path, update: XmpUpdate, *, naming: Naming = "name", embed: bool = False) -> PlannedChange:
    """What `write_photo` would do, touching nothing (for --dry-run)."""
    problem = photo_problem(Path(photo))
    t = target(photo, naming, embed=embed)
    if problem is not None:
        return PlannedChange(t.photo, t.path, False, (), problem[1], problem[0])
    if t.where == "skipped":
        return PlannedChange(t.photo, t.path, t.path.exists(), (), None, t.reason, skipped=t.detail)
    if t.where == "embedded":
        from catalog.xmp.embed import plan_embedded

        changes, reason, error = plan_embedded(t.photo, update)
        return PlannedChange(t.photo, t.path, True, changes, error, reason, embedded=True)
    return plan([t.photo], update, naming)[0]
