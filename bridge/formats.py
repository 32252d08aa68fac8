"""Supported photo formats: by extension for the scan, by content for decoding."""

from __future__ import annotations

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
