"""What a Lightroom catalog gives a run: its photos on disk as roots, and stand-ins (Lightroom's previews) for
the photos whose originals are offline. Used by `index --catalog` and the REST API's catalog jobs."""

from __future__ import annotations

import os
from pathlib import Path

from bridge.indexing import standins
from bridge.indexing.standins import OfflinePhoto, StandIn
from catalog.photos import Photo
from catalog.reader import open_catalog


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
        if got:
            notes.append(
                f"{len(got)} of {total} photos in {cat} are offline and were indexed from Lightroom's previews "
                "(marked pixel_source in the index; the originals replace them once they are back)"
            )
        if missing:
            example = next(p.path for p in offline if p.path not in {s.original for s in got})
            why = "have no Lightroom preview" if previews else "were left out (--no-catalog-previews)"
            notes.append(
                f"{missing} of {total} photos in {cat} are not on disk and {why} "
                f"(offline drive or moved outside Lightroom?), e.g. {example}"
            )
    return roots, stand_ins, notes
