"""`open_catalog(path)`: lock check → verified copy → version gate → read-only connection on the copy.

The user's files are only ever opened O_RDONLY (lock probe, copy); SQLite only ever sees our copy (R12).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from catalog.captions import Caption, read_captions
from catalog.collections import Collection, read_collections
from catalog.copy import verified_copy
from catalog.errors import CatalogError
from catalog.keywords import KeywordTree, read_keyword_tree, read_photo_keywords
from catalog.lock import LockStatus, ensure_closed
from catalog.photos import Photo, read_photos
from catalog.version import CatalogVersion, read_version


class Catalog:
    """A read-only view of a verified copy of one catalog. Build it with `open_catalog`."""

    def __init__(self, source: Path, conn: sqlite3.Connection, version: CatalogVersion, lock: LockStatus):
        self.source = source
        self.version = version
        self.lock = lock
        self._conn = conn

    def photos(self) -> list[Photo]:
        """Every photo with caption, title, alt text and keyword paths filled in."""
        captions = read_captions(self._conn, self.version)
        keywords = read_photo_keywords(self._conn, self.keyword_tree())
        out = []
        for photo in read_photos(self._conn, self.version):
            cap = captions.get(photo.id, Caption(None, None))
            out.append(
                dataclasses.replace(
                    photo,
                    caption=cap.caption,
                    title=cap.title,
                    alt_text=cap.alt_text,
                    keywords=keywords.get(photo.id, ()),
                )
            )
        return out

    def keyword_tree(self) -> KeywordTree:
        return read_keyword_tree(self._conn, self.version)

    def collections(self) -> list[Collection]:
        return read_collections(self._conn, self.version)

    def variable(self, name: str) -> object:
        """A raw `Adobe_variablesTable` value (None when absent), e.g. 'Adobe_entityIDCounter'."""
        row = self._conn.execute("SELECT value FROM Adobe_variablesTable WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]


@contextmanager
def open_catalog(path: str | Path, lock_timeout: float = 5.0) -> Iterator[Catalog]:
    """Open `path` for reading. Raises CatalogLocked, UnsupportedCatalog or CatalogError."""
    source, lock = ensure_closed(
        path, lock_timeout, hint="Close Lightroom, or use the Pixel Detective plug-in inside Lightroom."
    )
    with tempfile.TemporaryDirectory(prefix="pd-lrcat-") as tmp:
        copy = verified_copy(source, Path(tmp))
        conn = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)
        try:
            conn.execute("PRAGMA query_only = ON")
            version = read_version(conn)
            yield Catalog(source, conn, version, lock)
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"reading {source.name} failed: {exc}") from exc
        finally:
            conn.close()
