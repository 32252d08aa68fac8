"""Which dropped or pasted files are photos: the query field and the window search by example with them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData

IMAGE_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif", ".avif",
    ".cr2", ".cr3", ".nef", ".arw", ".dng", ".raf", ".orf", ".rw2", ".pef", ".srw",
}  # fmt: skip


def image_paths(mime: QMimeData) -> list[str]:
    """The local photo files among dropped or pasted URLs (other files and remote URLs are ignored)."""
    return [
        u.toLocalFile()
        for u in mime.urls()
        if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES
    ]
