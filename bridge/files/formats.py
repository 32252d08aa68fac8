"""Supported photo formats: by extension for the scan, by content for decoding."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

RAW_EXTENSIONS = frozenset(
    {
        ".dng",
        ".nef",
        ".nrw",
        ".cr2",
        ".cr3",
        ".crw",
        ".arw",
        ".srf",
        ".sr2",
        ".raf",
        ".orf",
        ".rw2",
        ".pef",
        ".ptx",
        ".srw",
        ".x3f",
        ".erf",
        ".kdc",
        ".dcr",
        ".mrw",
        ".mos",
        ".3fr",
        ".fff",
        ".iiq",
        ".rwl",
        ".raw",
        ".gpr",
    }
)
HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif", ".avif"})
PILLOW_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp"})
SUPPORTED_EXTENSIONS = RAW_EXTENSIONS | HEIF_EXTENSIONS | PILLOW_EXTENSIONS


def extension(path: str | Path) -> str:
    return Path(path).suffix.lower()


def is_supported(path: str | Path) -> bool:
    return extension(path) in SUPPORTED_EXTENSIONS


def is_raw(path: str | Path) -> bool:
    return extension(path) in RAW_EXTENSIONS


@dataclass(frozen=True, slots=True)
class Limits:
    """What a worker may spend on one file, checked before it reads anything (R48): a file above
    `max_bytes` is never read (memory per worker stays bounded), one above `max_pixels` never decoded."""

    max_bytes: int
    max_pixels: int


_MB = 1024 * 1024
# Sized from real files with headroom: a 100 MP camera JPEG is ~60 MB, a 16-bit 150 MP medium-format TIFF or
# IIQ ~900 MB, a 48 MP phone HEIC ~25 MB. Above these a "photo" is almost surely something else, and reading
# it would cost several times its size in a worker (file bytes + decoder buffers + bitmap).
LIMITS: dict[str, Limits] = {
    "jpeg": Limits(200 * _MB, 250_000_000),
    "png": Limits(300 * _MB, 250_000_000),
    "webp": Limits(100 * _MB, 250_000_000),
    "tiff": Limits(1024 * _MB, 250_000_000),
    "heif": Limits(200 * _MB, 250_000_000),
    "raw": Limits(500 * _MB, 250_000_000),
}
_FAMILY = {
    **dict.fromkeys((".jpg", ".jpeg", ".jpe"), "jpeg"),
    ".png": "png",
    ".webp": "webp",
    **dict.fromkeys((".tif", ".tiff"), "tiff"),
    **dict.fromkeys(HEIF_EXTENSIONS, "heif"),
    **dict.fromkeys(RAW_EXTENSIONS, "raw"),
}


def family(path: str | Path) -> str:
    """The format family whose limits apply, by extension (the scan's view; content can disagree)."""
    return _FAMILY.get(extension(path), "jpeg")


def limits_for(
    path: str | Path, overrides: Mapping[str, Mapping[str, int]] | None = None, max_pixels: int | None = None
) -> Limits:
    """Limits for `path`: the family's defaults, then the user's `format_limits` setting
    ({"tiff": {"max_mb": 2048, "max_megapixels": 400}}), never above the global `max_pixels`."""
    fam = family(path)
    lim = LIMITS[fam]
    user = (overrides or {}).get(fam, {})
    if "max_mb" in user:
        lim = replace(lim, max_bytes=int(user["max_mb"]) * _MB)
    if "max_megapixels" in user:
        lim = replace(lim, max_pixels=int(user["max_megapixels"]) * 1_000_000)
    if max_pixels is not None:
        lim = replace(lim, max_pixels=min(lim.max_pixels, max_pixels))
    return lim


def sniff(head: bytes) -> str | None:
    """The container format named by the first bytes, or None: extension and content can disagree."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"  # also DNG, NEF, CR2, ARW, PEF ... (TIFF-based RAWs)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"crx ":
            return "cr3"
        return "heif"  # heic, heix, mif1, msf1, avif ...
    if head[:4] == b"IIRO" or head[:4] == b"IIU\x00":
        return "raw"  # Olympus ORF, Panasonic RW2
    if head[:8] == b"FUJIFILM":
        return "raw"
    if head[6:14] == b"HEAPCCDR":
        return "raw"  # Canon CRW
    return None


# Containers that are never RAW: whatever the extension says (a camera JPEG saved as `.nef`), Pillow decodes them.
PILLOW_KINDS = frozenset({"jpeg", "png", "webp", "heif"})


def decoder_for(path: str | Path, kind: str | None, *, dng: bool = False) -> str:
    """Which decoder takes a file: "raw" (LibRaw) or "pillow". The content decides (`kind` from `sniff`,
    `dng`: a TIFF whose IFD0 carries DNGVersion); the extension only breaks the tie where the content cannot:
    a TIFF container (NEF, CR2, ARW, PEF are TIFFs too) or bytes with no known magic (X3F, MRW, ...)."""
    if kind in PILLOW_KINDS:
        return "pillow"
    if kind in ("raw", "cr3") or dng:
        return "raw"
    return "raw" if is_raw(path) else "pillow"
