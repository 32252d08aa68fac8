"""The three failures a caller must tell apart: locked (route to the plugin), unsupported, anything else."""

from __future__ import annotations


class CatalogError(Exception):
    """The catalog could not be read (missing, damaged, changed while copying, unexpected layout)."""


class CatalogLocked(CatalogError):
    """Lightroom (or another program) has the catalog open: read or write through the plugin instead."""


class UnsupportedCatalog(CatalogError):
    """The catalog's Adobe_DBVersion is not one whose layout this package knows (R14)."""

    def __init__(self, version: str | None, path: object = None) -> None:
        self.version = version
        where = f" ({path})" if path is not None else ""
        super().__init__(
            f"Unsupported Lightroom catalog version {version!r}{where}: supported are "
            "0300025, 0400020, 0500006, 0600008, 0700003, 1100000 and 13.x-15.x (1300000-1599999). "
            "Upgrade Pixel Detective, or open the catalog in a supported Lightroom Classic."
        )


class CatalogTooSlow(CatalogError):
    """A catalog query ran past its time budget: the catalog is huge or built to hang readers (R47)."""


class HostileCatalog(CatalogError):
    """The catalog holds views or triggers Lightroom never creates: not read (views) or not written (R47)."""
