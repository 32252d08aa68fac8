"""Stand-ins: Lightroom's own previews as the pixels of catalog photos whose originals are offline.

Archives live on drives that are unplugged most days. For a photo the catalog names but the disk does not have,
`prepare` takes the catalog's standard preview (largest `.lrprev` JPEG level) or its smart preview (DNG) and
keeps a copy in the data dir (`standins/`). The run indexes that copy **under the original's path**: search,
similar photos and keywords work, and the payload says `pixel_source: lightroom-preview` (or
`lightroom-smart-preview`). When the original comes back, the next `index --catalog` sees it on disk: its size
and mtime differ from the stand-in's, so it is fingerprinted and embedded as the changed file it is, the
stand-in's vector is dropped like any replaced content, and `retire` deletes the copy.

A stand-in file is rewritten only when Lightroom's preview changed (same bytes: left alone, so its mtime, and
the index, stay as they are).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bridge.files import datadir
from catalog.previews import PreviewError, find_previews, read_preview

SUFFIX = {"lightroom-preview": ".jpg", "lightroom-smart-preview": ".dng"}


@dataclass(frozen=True, slots=True)
class StandIn:
    original: str  # the photo's path as the catalog names it: what the index records and shows
    file: str  # the copy in the data dir whose pixels are indexed
    kind: str  # lightroom-preview | lightroom-smart-preview


@dataclass(frozen=True, slots=True)
class OfflinePhoto:
    """A catalog photo whose original is not on disk: `id` = Adobe_images.id_local, `uuid` = id_global."""

    id: int
    uuid: str
    path: str


def standins_dir(data_dir: Path) -> Path:
    return data_dir / "standins"


def _stem(data_dir: Path, original: str) -> Path:
    return (
        standins_dir(data_dir) / hashlib.sha256(original.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    )


def prepare(
    data_dir: Path, catalog: Path, offline: Iterable[OfflinePhoto]
) -> tuple[list[StandIn], list[str]]:
    """Stand-ins for the offline photos that have a preview, and notes for people (previews that could not be
    read). Photos without any preview are left out (the caller says how many)."""
    photos = {p.id: p for p in offline}
    notes: list[str] = []
    try:
        sources = find_previews(catalog, [(p.id, p.uuid) for p in photos.values()])
    except PreviewError as e:
        return [], [f"{e}: offline photos were not indexed from Lightroom's previews"]
    out: list[StandIn] = []
    for image_id, src in sorted(sources.items()):
        photo = photos[image_id]
        try:
            data = read_preview(src)
        except PreviewError as e:
            notes.append(f"{photo.path}: {e}")
            continue
        target = _stem(data_dir, photo.path).with_suffix(SUFFIX[src.kind])
        if not _same(target, data):
            target.parent.mkdir(parents=True, exist_ok=True)
            datadir.write_bytes_atomic(target, data)
        for other in SUFFIX.values():  # the preview changed kind (a smart preview, then a standard one)
            if other != target.suffix:
                _stem(data_dir, photo.path).with_suffix(other).unlink(missing_ok=True)
        out.append(StandIn(photo.path, str(target), src.kind))
    return out, notes


def retire(data_dir: Path, originals: Iterable[str]) -> int:
    """Delete the stand-ins of photos whose originals are back on disk; how many were deleted."""
    if not standins_dir(data_dir).is_dir():
        return 0
    gone = 0
    for original in originals:
        for suffix in SUFFIX.values():
            try:
                _stem(data_dir, original).with_suffix(suffix).unlink()
                gone += 1
            except FileNotFoundError:
                continue
    return gone


def _same(path: Path, data: bytes) -> bool:
    try:
        if os.stat(path).st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False
