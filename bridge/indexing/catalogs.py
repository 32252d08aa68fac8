"""What a Lightroom catalog gives a run: its photos on disk as roots, and stand-ins (Lightroom's previews) for
the photos whose originals are offline. Used by `index --catalog` and the REST API's catalog jobs.

Offline originals are reported as such, in the notes: how many, which volume or folder is missing on this
machine (the highest missing folder of each photo's path: `/Volumes/Archive`, `E:/`), in which folders, and
whether Lightroom's previews stand in for them (or could, when `--no-catalog-previews` kept them out).
`nothing_to_index` is the one-paragraph error when a catalog gives a run nothing at all.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from bridge.indexing import standins
from bridge.indexing.standins import OfflinePhoto, StandIn
from catalog.photos import Photo
from catalog.previews import PreviewError, find_previews, previews_dir, smart_previews_dir
from catalog.reader import open_catalog

_WINDOWS = re.compile(r"^([A-Za-z]:/|//)")
SHOWN_FOLDERS = 3  # folders named per missing volume; the rest are counted


def catalog_files(path: Path) -> tuple[list[str], list[OfflinePhoto]]:
    """The photo files a Lightroom catalog references: (paths present on disk, photos whose original is not).
    Virtual copies share their master's file, so each file is listed once (with the master's ids)."""
    with open_catalog(path) as cat:
        photos: dict[str, Photo] = {}
        for p in sorted(cat.photos(), key=lambda p: p.id):  # masters before their virtual copies
            photos.setdefault(str(p.pure_path), p)
    present = sorted(p for p in photos if os.path.isfile(p))
    offline = [
        OfflinePhoto(p.id, p.uuid, path) for path, p in sorted(photos.items()) if not os.path.isfile(path)
    ]
    return present, offline


def _pure(path: str) -> PurePath:
    return PureWindowsPath(path) if _WINDOWS.match(path) else PurePosixPath(path)


def missing_top(path: str, known: dict[str, bool] | None = None) -> str:
    """The highest folder of `path` that does not exist here (`/Volumes/Archive`, `E:/`); the photo's own folder
    when every folder exists (the file alone is gone). `known` caches existence checks across photos."""
    known = {} if known is None else known
    pure = _pure(path)
    for folder in reversed(pure.parents):
        key = folder.as_posix()  # as Lightroom spells paths, "E:/Photos" on every OS
        if key not in known:
            known[key] = os.path.isdir(key) if isinstance(pure, PurePosixPath) or os.name == "nt" else False
        if not known[key]:
            return key
    return pure.parent.as_posix()


def _count(n: int, what: str = "photo") -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def offline_summary(cat: Path, offline: list[OfflinePhoto], total: int) -> str:
    """E.g. "all 4 of 4 photos in X.lrcat are offline: their originals are not on this machine — /Users is
    missing (4 photos, in /Users/me/Pictures/2013 (3), …). Is the drive connected …?" """
    known: dict[str, bool] = {}
    tops: dict[str, Counter[str]] = {}
    for photo in offline:
        folders = tops.setdefault(missing_top(photo.path, known), Counter())
        folders[_pure(photo.path).parent.as_posix()] += 1
    parts = []
    for top, folders in sorted(tops.items(), key=lambda kv: -sum(kv[1].values())):
        shown = ", ".join(f"{f} ({n})" for f, n in folders.most_common(SHOWN_FOLDERS))
        more = len(folders) - SHOWN_FOLDERS
        rest = f" and {_count(more, 'more folder')}" if more > 0 else ""
        inside = f", in {shown}{rest}"
        parts.append(f"{top} is missing ({_count(sum(folders.values()))}{inside})")
    every = "all " if len(offline) == total else ""
    return (
        f"{every}{len(offline)} of {total} photos in {cat.name} are offline: their originals are not on this "
        f"machine — {'; '.join(parts)}. Is the drive connected (or were the folders moved outside Lightroom)?"
    )


def _previews_possible(cat: Path, offline: list[OfflinePhoto]) -> int:
    """How many offline photos Lightroom's previews could stand in for (0 when none can be read)."""
    try:
        return len(find_previews(cat, [(p.id, p.uuid) for p in offline]))
    except PreviewError:
        return 0


def nothing_to_index(catalogs: list[Path], notes: list[str]) -> str:
    """The error when the catalogs give a run no photo at all (every original offline, no preview to use)."""
    names = ", ".join(c.name for c in catalogs)
    said = " ".join(notes) if notes else f"{names} names no photo."
    return f"nothing to index from {names}: {said}"


def catalog_sources(
    catalogs: list[Path], data_dir: Path, *, previews: bool
) -> tuple[list[str], list[StandIn], list[str]]:
    """Each catalog's photos on disk, stand-ins from Lightroom's previews for those offline (`previews`), and
    notes for people. Stand-ins of originals that are back are deleted (the run indexes the original).
    Raises catalog.errors.CatalogError (CatalogLocked while Lightroom holds it) when a catalog cannot be read."""
    roots: list[str] = []
    stand_ins: list[StandIn] = []
    notes: list[str] = []
    for cat in catalogs:
        found, offline = catalog_files(cat)
        roots += found
        standins.retire(data_dir, found)
        if not offline:
            continue
        got: list[StandIn] = []
        if previews:
            got, problems = standins.prepare(data_dir, cat, offline)
            notes += problems
        stand_ins += got
        missing = len(offline) - len(got)
        total = len(found) + len(offline)
        notes.append(offline_summary(cat, offline, total))
        if got:
            notes.append(
                f"{len(got)} of {total} photos in {cat} are offline and were indexed from Lightroom's previews "
                "(marked pixel_source in the index; the originals replace them once they are back)"
            )
        if missing:
            example = next(p.path for p in offline if p.path not in {s.original for s in got})
            if previews:
                where = previews_dir(cat).name
                have = previews_dir(cat).is_dir() or smart_previews_dir(cat).is_dir()
                why = (
                    f"have no Lightroom preview to stand in ({where} has none for them)"
                    if have
                    else f"have no Lightroom preview to stand in (no {where} beside the catalog)"
                )
                why += (
                    "; connect the drive, or build previews in Lightroom (Library › Previews › Build "
                    "Standard-Sized Previews) and run again"
                )
            else:
                could = _previews_possible(cat, offline)
                why = "were left out (--no-catalog-previews)" + (
                    f"; Lightroom's previews could stand in for {could} of them (run without "
                    "--no-catalog-previews)"
                    if could
                    else ""
                )
            notes.append(f"{missing} of {total} photos in {cat} are not on disk and {why}, e.g. {example}")
    return roots, stand_ins, notes
