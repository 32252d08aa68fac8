"""`open_catalog(path)`: lock check → verified copy → structure and version gate → read-only connection on the copy.

The user's files are only ever opened O_RDONLY (lock probe, copy); SQLite only ever sees our copy (R12).
Every read operation (`photos()`, `keyword_tree()`, …) runs under its own time budget (`budget.py`, R47), and
a catalog where a table we read is really a view is refused before any query touches it (`lrschema.py`).
What is read is decided by probing the catalog's columns (`schema.Probe`), not by a list of versions: every
generation from Lightroom 3 on opens; a newer, unknown one opens with a warning in `Catalog.warnings`.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from catalog.budget import READ_BUDGET_S, time_budget
from catalog.captions import Caption, read_captions
from catalog.collections import Collection, read_collections
from catalog.copy import verified_copy
from catalog.errors import CatalogError
from catalog.keywords import KeywordTree, read_keyword_tree, read_photo_keywords
from catalog.lock import LockStatus, ensure_closed
from catalog.lrschema import check_readable, foreign_objects
from catalog.photos import TABLES as PHOTO_TABLES
from catalog.photos import Photo, read_photos
from catalog.schema import Probe
from catalog.version import CatalogVersion, read_version


class Catalog:
    """A read-only view of a verified copy of one catalog. Build it with `open_catalog`."""

    def __init__(
        self,
        source: Path,
        conn: sqlite3.Connection,
        version: CatalogVersion,
        lock: LockStatus,
        budget: float = READ_BUDGET_S,
    ):
        self.source = source
        self.version = version
        self.lock = lock
        self.budget = budget
        self._conn = conn
        self.schema = Probe(conn, version.raw)

    @property
    def warnings(self) -> list[str]:
        """Sentences a caller should show: an unknown newer version, and what such a catalog lacked."""
        if self.version.known:
            return []
        out = [w for w in (self.version.warning,) if w]
        out += [f"{name} is missing in this catalog: read as empty" for name in self.schema.absent]
        return out

    @property
    def absent(self) -> list[str]:
        """Tables and columns read as empty so far (e.g. AgLibraryKeyword.keywordType in Lightroom 3)."""
        return list(self.schema.absent)

    def table_info(self, table: str) -> dict[str, str]:
        """column → declared type of `table` in this catalog ({} when it has no such table)."""
        with self._bounded(table):
            return dict(self.schema.info(table))

    def _bounded(self, what: str) -> AbstractContextManager[None]:
        return time_budget(self._conn, self.budget, f"reading {what} from {self.source.name}")

    def photos(self) -> list[Photo]:
        """Every photo with caption, title, alt text and keyword paths filled in."""
        with self._bounded("photos"):
            return self._photos()

    def _photos(self) -> list[Photo]:
        captions = read_captions(self._conn, self.schema)
        keywords = read_photo_keywords(self._conn, read_keyword_tree(self._conn, self.schema))
        out = []
        for photo in read_photos(self._conn, self.schema):
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
        with self._bounded("keywords"):
            return read_keyword_tree(self._conn, self.schema)

    def collections(self) -> list[Collection]:
        with self._bounded("collections"):
            return read_collections(self._conn, self.schema)

    def variable(self, name: str) -> str | int | float | bytes | None:
        """A raw `Adobe_variablesTable` value (None when absent), e.g. 'Adobe_entityIDCounter'."""
        with self._bounded(name):
            row = self._conn.execute(
                "SELECT value FROM Adobe_variablesTable WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else row[0]

    def foreign_objects(self) -> list[str]:
        """Views and triggers Lightroom does not create (see lrschema.py): a write would be refused."""
        with self._bounded("the schema"):
            return foreign_objects(self._conn)


@contextmanager
def open_catalog(
    path: str | Path, lock_timeout: float = 5.0, budget: float = READ_BUDGET_S
) -> Iterator[Catalog]:
    """Open `path` for reading. Raises CatalogLocked, UnsupportedCatalog, HostileCatalog, CatalogTooSlow (a copy,
    check or read operation ran past `budget` seconds) or CatalogError."""
    source, lock = ensure_closed(
        path, lock_timeout, hint="Close Lightroom, or use the Pixel Detective plug-in inside Lightroom."
    )
    with tempfile.TemporaryDirectory(prefix="pd-lrcat-") as tmp:
        copy = verified_copy(source, Path(tmp), budget=budget)
        conn = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)
        try:
            conn.execute("PRAGMA query_only = ON")
            with time_budget(conn, budget, f"opening {source.name}"):
                check_readable(conn, source)  # before the first query on a Lightroom table
                version = read_version(conn)
                cat = Catalog(source, conn, version, lock, budget)
                cat.schema.require(PHOTO_TABLES, "reading any photo")  # a catalog without these is not usable
            yield cat
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"reading {source.name} failed: {exc}") from exc
        finally:
            conn.close()
