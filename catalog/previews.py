"""Lightroom's own previews of a catalog's photos: the pixels to index while an original is offline.

Photographers keep archives on drives that are unplugged most of the time; Lightroom still shows those photos
from the previews it keeps beside the catalog. Two kinds, both read-only here (R12: never changed, never locked):

- **Standard/1:1 previews**: `<catalog name> Previews.lrdata/`, with `previews.db` (table `ImageCacheEntry`:
  `imageId` = `Adobe_images.id_local`, `uuid`, `digest`, `orientation`) naming each photo's file
  `<uuid[0]>/<uuid[:4]>/<uuid>-<digest>.lrprev`. An `.lrprev` is a run of sections, each starting with the magic
  `AgHg`, a big-endian header (header length u16, version u8, kind u8, data length u64, padding length u64, then
  the section name, NUL-padded): a `header` section (Lua text) and `level_1` … `level_7`, each a complete JPEG,
  the larger levels later. We take the largest level that is a JPEG.
- **Smart previews**: `<catalog name> Smart Previews.lrdata/<id[0]>/<id[:4]>/<id>.dng`, `id` the photo's
  `Adobe_images.id_global`: a lossy DNG of up to 2560 px, decoded like any DNG by the caller.

This module finds and extracts; deciding when to use a preview (the original is missing) is the caller's.
`previews.db` is read from an in-memory copy (Lightroom may hold it open; we never open its file for writing).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from catalog.fsutil import FileTooLarge, NotRegularFile, read_regular

MAGIC = b"AgHg"
_HEAD = struct.Struct(">4sHBBQQ")  # magic, header length, version, kind, data length, padding length
MAX_LRPREV_BYTES = 256 * 1024 * 1024  # a 1:1 preview of a 100 MP photo is ~40 MB
MAX_PREVIEWS_DB_BYTES = 512 * 1024 * 1024
SOI = b"\xff\xd8\xff"

Kind = Literal["lightroom-preview", "lightroom-smart-preview"]


class PreviewError(Exception):
    """A preview file that cannot be used; `str()` is a sentence for people."""


@dataclass(frozen=True, slots=True)
class PreviewSource:
    """Where a photo's preview pixels are. `orientation`: Lightroom's code for the preview (AB, BC, CD, DA)."""

    photo_id: int
    kind: Kind
    path: Path
    orientation: str | None = None


def previews_dir(catalog: Path) -> Path:
    return catalog.with_name(f"{catalog.stem} Previews.lrdata")


def smart_previews_dir(catalog: Path) -> Path:
    return catalog.with_name(f"{catalog.stem} Smart Previews.lrdata")


def find_previews(catalog: Path, photos: Iterable[tuple[int, str]]) -> dict[int, PreviewSource]:
    """The best preview on disk for each `(id_local, id_global)`: a standard/1:1 preview first (rendered with the
    photographer's develop settings, as Lightroom shows it), else a smart preview. Photos without one are left
    out. Raises PreviewError when `previews.db` exists but cannot be read."""
    wanted = dict(photos)
    found: dict[int, PreviewSource] = {}
    root = previews_dir(catalog)
    for image_id, uuid, digest, orientation in _cache_entries(root / "previews.db"):
        if image_id not in wanted or image_id in found or not _safe_name(uuid) or not _safe_name(digest):
            continue
        path = root / uuid[0] / uuid[:4] / f"{uuid}-{digest}.lrprev"
        if path.is_file():
            found[image_id] = PreviewSource(image_id, "lightroom-preview", path, orientation)
    smart = smart_previews_dir(catalog)
    if smart.is_dir():
        for image_id, global_id in wanted.items():
            if image_id in found or not _safe_name(global_id):
                continue
            path = smart / global_id[0] / global_id[:4] / f"{global_id}.dng"
            if path.is_file():
                found[image_id] = PreviewSource(image_id, "lightroom-smart-preview", path)
    return found


def _safe_name(text: str | None) -> bool:
    """A uuid or digest from the database used in a path: letters, digits and dashes only (never `..`, `/`)."""
    return bool(text) and all(c.isalnum() or c == "-" for c in str(text)) and len(str(text)) >= 4


def _cache_entries(db: Path) -> list[tuple[int, str, str, str | None]]:
    if not db.exists():
        return []
    try:
        data = read_regular(db, MAX_PREVIEWS_DB_BYTES)
    except (NotRegularFile, FileTooLarge, OSError) as e:
        raise PreviewError(f"cannot read Lightroom's preview index {db} ({_why(e)})") from None
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(data)
        cols = {row[1] for row in conn.execute("PRAGMA table_info(ImageCacheEntry)")}
        if not {"imageId", "uuid", "digest"} <= cols:
            raise PreviewError(f"{db} has no ImageCacheEntry table Lightroom's previews are listed in")
        orient = "orientation" if "orientation" in cols else "NULL"
        rows = conn.execute(f"SELECT imageId, uuid, digest, {orient} FROM ImageCacheEntry ORDER BY imageId")
        return [(int(i), str(u), str(d), o if isinstance(o, str) else None) for i, u, d, o in rows]
    except sqlite3.DatabaseError:
        raise PreviewError(
            f"{db} is not a readable Lightroom preview index (damaged or not SQLite)"
        ) from None
    finally:
        conn.close()


def _why(e: OSError) -> str:
    if isinstance(e, NotRegularFile):
        return "not a regular file"
    if isinstance(e, FileTooLarge):
        return "too large"
    return e.strerror or type(e).__name__


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    data: bytes


def lrprev_sections(data: bytes) -> list[Section]:
    """The sections of an `.lrprev`, in file order. Raises PreviewError when the file is not one."""
    if not data.startswith(MAGIC):
        raise PreviewError("not a Lightroom preview (.lrprev): it does not start with its AgHg section")
    out: list[Section] = []
    pos = 0
    while pos + _HEAD.size <= len(data) and data.startswith(MAGIC, pos):
        _, head_len, _version, _kind, data_len, pad_len = _HEAD.unpack_from(data, pos)
        start = pos + head_len
        end = start + data_len
        if head_len < _HEAD.size or end > len(data):
            raise PreviewError("a Lightroom preview (.lrprev) whose sections run past its end (cut short)")
        name = data[pos + _HEAD.size : start].split(b"\0", 1)[0].decode("ascii", "replace")
        out.append(Section(name, data[start:end]))
        pos = end + pad_len
    return out


def largest_level(data: bytes) -> bytes:
    """The JPEG of the largest `level_N` section of an `.lrprev` (later levels are larger)."""
    levels = []
    for s in lrprev_sections(data):
        if s.name.startswith("level_") and s.data.startswith(SOI):
            try:
                levels.append((int(s.name.removeprefix("level_")), s.data))
            except ValueError:
                continue
    if not levels:
        raise PreviewError("the Lightroom preview (.lrprev) holds no JPEG level")
    return max(levels)[1]


def read_preview(source: PreviewSource) -> bytes:
    """The bytes to decode for `source`: a JPEG (from an `.lrprev`) or the smart preview's DNG as it is."""
    try:
        data = read_regular(source.path, MAX_LRPREV_BYTES)
    except (NotRegularFile, FileTooLarge, OSError) as e:
        raise PreviewError(f"cannot read the Lightroom preview {source.path} ({_why(e)})") from None
    if source.kind == "lightroom-smart-preview":
        return data
    return largest_level(data)


def write_lrprev(path: Path, sections: Iterable[tuple[str, bytes]]) -> None:
    """Write an `.lrprev` of `sections` in Lightroom's layout (tests and tools build previews with it)."""
    buf = bytearray()
    for name, payload in sections:
        raw_name = name.encode("ascii")
        head_len = _HEAD.size + ((len(raw_name) + 1 + 7) // 8) * 8
        pad = (-len(payload)) % 16
        buf += _HEAD.pack(MAGIC, head_len, 1, 0, len(payload), pad)
        buf += raw_name.ljust(head_len - _HEAD.size, b"\0")
        buf += payload + b"\0" * pad
    path.write_bytes(bytes(buf))
