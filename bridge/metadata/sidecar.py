"""XMP sidecars: which file next to a photo is its sidecar, reading it, and merging its fields.

With `sidecar="auto"` the first existing of `NAME.xmp`, `NAME.XMP`, `NAME.ext.xmp`, `NAME.ext.XMP`
next to the photo is read (Lightroom / Capture One replace the extension, darktable and digiKam append
to it). Its XMP values replace the embedded ones for rating, label, title, caption and keywords
(keywords and keyword paths as one group): they are what Lightroom wrote last. For every other field
the sidecar only fills gaps. Only the sidecar's XMP is used; the EXIF/IPTC that Exiv2 synthesizes from
it would duplicate the same values.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterable, Mapping
from pathlib import Path
from typing import Any

from bridge.files.paths import read_regular
from bridge.metadata import exiv2

log = logging.getLogger(__name__)
SIDECAR_MAX_BYTES = 32 * 1024 * 1024  # real XMP sidecars are kilobytes; Lightroom's biggest a few MB

# Sidecar values that replace embedded ones (each tuple is replaced as a unit).
SIDECAR_OVERRIDES: tuple[tuple[str, ...], ...] = (
    ("rating",),
    ("label",),
    ("title",),
    ("caption",),
    ("keywords", "keyword_paths"),
)
# Fields that may differ between two paths of one content (each path has its own sidecar).
PER_PATH_FIELDS: tuple[str, ...] = (*(n for group in SIDECAR_OVERRIDES for n in group), "sidecar_file")


def sidecar_candidates(path: str | Path) -> list[Path]:
    """Sidecar file names for `path`, best first (existence is not checked).

    Lightroom/Capture One: `IMG_0001.xmp` (extension replaced); darktable/digiKam:
    `IMG_0001.CR2.xmp` (appended). Both cases of `.xmp`, since sidecars travel between
    case-sensitive and case-insensitive file systems.
    """
    p = Path(path)
    if p.suffix.lower() == ".xmp":
        return []
    stem = p.with_suffix("")
    return [
        stem.with_name(stem.name + ".xmp"),
        stem.with_name(stem.name + ".XMP"),
        p.with_name(p.name + ".xmp"),
        p.with_name(p.name + ".XMP"),
    ]


def sidecar_name(photo_name: str, names: Container[str]) -> str | None:
    """The sidecar of the photo named `photo_name` among the file `names` of its folder (one listing gives
    every photo's sidecar: no lookup per photo), in the order of `sidecar_candidates`."""
    return next((c.name for c in sidecar_candidates(photo_name) if c.name in names), None)


def is_sidecar_name(name: str) -> bool:
    return name.lower().endswith(".xmp")


def photos_of_sidecar(sidecar: str, names: Iterable[str]) -> list[str]:
    """Of the file `names` in a folder, those whose sidecar may be the file named `sidecar` (whether it
    exists or not: a deleted sidecar still names its photos)."""
    if not is_sidecar_name(sidecar):
        return []
    return [n for n in names if any(c.name == sidecar for c in sidecar_candidates(n))]


def with_sidecar(embedded: Mapping[str, Any], fields: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """One path's metadata: the content's embedded metadata with that path's sidecar merged in (as
    `read_metadata` does with `sidecar="auto"`). `fields`: the sidecar's extracted fields; None or {} when the
    path has no (readable) sidecar."""
    merged = dict(embedded)
    if fields:
        merged = merge_sidecar(merged, fields)
        changed = {k for k, v in merged.items() if embedded.get(k) != v}
        if changed:  # which reader gave each field: these, the sidecar (as read_metadata records it)
            merged["field_sources"] = {
                **embedded.get("field_sources", {}),
                **dict.fromkeys(changed, "sidecar"),
            }
        merged["sidecar_file"] = name
        merged["metadata_sources"] = [*embedded.get("metadata_sources", ()), "sidecar"]
    return merged


def choose_sidecar(path: Path, sidecar: str | Path | None) -> Path | None:
    if sidecar is None:
        return None
    if sidecar == "auto":
        return next((c for c in sidecar_candidates(path) if c.is_file()), None)
    return Path(sidecar)


def read_sidecar(path: Path) -> dict[str, Any]:
    """The XMP properties of a sidecar; {} when it cannot be read (the photo is still fine)."""
    try:
        data = read_regular(path, SIDECAR_MAX_BYTES)  # a FIFO or a 1 GB file named .xmp is never read
    except OSError as exc:
        log.warning("cannot read XMP sidecar %s: %s", path, exc)
        return {}
    for attempt in (data, _as_utf8(data)):
        if not attempt:
            continue
        try:
            return exiv2.read_xmp(attempt)
        except (RuntimeError, ValueError) as exc:
            log.debug("exiv2 rejected sidecar %s: %s", path, exc)
    log.warning("ignoring unreadable XMP sidecar %s", path)
    return {}


def read_sidecar_fields(path: Path) -> dict[str, Any]:
    """A sidecar's payload fields (typed as `read_metadata` types them); {} when it cannot be read."""
    from bridge.metadata.read import _typed, extract_fields  # read.py imports this module

    xmp = read_sidecar(path)
    return _typed(extract_fields(xmp)) if xmp else {}


def _as_utf8(data: bytes) -> bytes | None:
    """UTF-16/32 sidecars (some Windows tools write them) re-encoded as the UTF-8 Exiv2 detects."""
    boms = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")
    if not data.startswith(boms):
        return None
    encoding = "utf-32" if data.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")) else "utf-16"
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeError:
        return None


def merge_sidecar(embedded: Mapping[str, Any], sidecar: Mapping[str, Any]) -> dict[str, Any]:
    """Embedded fields with the sidecar's user-edited fields on top and its others filling gaps."""
    merged = dict(embedded)
    overridden: set[str] = set()
    for group in SIDECAR_OVERRIDES:
        if any(name in sidecar for name in group):
            for name in group:
                merged.pop(name, None)
                if name in sidecar:
                    merged[name] = sidecar[name]
            overridden.update(group)
    for name, value in sidecar.items():
        if name not in overridden:
            merged.setdefault(name, value)
    return merged
