"""The three failures a caller must tell apart: locked (route to the plugin), unsupported, anything else."""

from __future__ import annotations


class CatalogError(Exception):
    """The catalog could not be read (missing, damaged, changed while copying, unexpected layout)."""


class CatalogLocked(CatalogError):
    """Lightroom (or another program) has the catalog open: read or write through the plugin instead."""


class UnsupportedCatalog(CatalogError):
    """The catalog's version or layout is not one this package can read or write: the message names the version,
    or the table or column that is missing (R14)."""

    def __init__(self, version: str | None, path: object = None, reason: str | None = None) -> None:
        self.version = version
        where = f" ({path})" if path is not None else ""
        super().__init__(
            reason
            or f"Unsupported Lightroom catalog version {version!r}{where}: Pixel Detective reads catalogs from "
            "Lightroom 3 on (a 7-digit Adobe_DBVersion of 0300000 or more). Open the catalog in Lightroom "
            "Classic to upgrade it."
        )


class CatalogTooSlow(CatalogError):
    """A catalog query ran past its time budget: the catalog is huge or built to hang readers (R47)."""


class HostileCatalog(CatalogError):
    """The catalog holds views or triggers Lightroom never creates: not read (views) or not written (R47)."""
