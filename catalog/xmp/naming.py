"""Where a photo's metadata goes: which sidecar path, and whether embedding is even allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Naming = Literal["name", "name.ext"]

# Proprietary RAW formats: never written into (Exiv2 has damaged some of them on in-place writes).
RAW_EXTENSIONS = frozenset(
    [
        ".3fr",
        ".ari",
        ".arw",
        ".bay",
        ".cr2",
        ".cr3",
        ".crw",
        ".dcr",
        ".erf",
        ".fff",
        ".gpr",
        ".iiq",
        ".k25",
        ".kdc",
        ".mef",
        ".mos",
        ".mrw",
        ".nef",
        ".nrw",
        ".orf",
        ".pef",
        ".raf",
        ".raw",
        ".rw2",
        ".rwl",
        ".sr2",
        ".srf",
        ".srw",
        ".x3f",
    ]
)
# Formats Lightroom reads (and writes) XMP inside the file, never from a sidecar: `xmp write` skips them unless
# asked to embed (`--embed`).
EMBEDDABLE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".tif", ".tiff", ".dng"})


def is_raw(photo: Path) -> bool:
    return photo.suffix.lower() in RAW_EXTENSIONS


def sidecar_path(photo: Path, naming: Naming = "name") -> Path:
    """`IMG_1.CR2` → `IMG_1.xmp` (Lightroom, Capture One) or `IMG_1.CR2.xmp` (darktable, digiKam).

    With "name", a RAW+JPEG pair (IMG_1.CR2 + IMG_1.JPG) shares `IMG_1.xmp` and merges into it.
    """
    photo = Path(photo)
    if naming == "name":
        return photo.with_suffix(".xmp")
    if naming == "name.ext":
        return photo.with_name(photo.name + ".xmp")
    raise ValueError(f"unknown sidecar naming {naming!r} (use 'name' or 'name.ext')")


def can_embed(photo: Path) -> bool:
    return Path(photo).suffix.lower() in EMBEDDABLE_EXTENSIONS
