"""The catalog commands are tested on the same real and built catalogs as the catalog library."""

from tests.catalog.conftest import lr5_catalog, lrc14  # noqa: F401  (fixtures)
