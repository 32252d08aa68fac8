from __future__ import annotations

import sqlite3

import pytest

from catalog.errors import UnsupportedCatalog
from catalog.reader import open_catalog
from catalog.version import Layout, parse_version
from tests.catalog.fixtures import Built


@pytest.mark.parametrize(
    ("raw", "layout"),
    [
        ("0300025", Layout.LEGACY),
        ("0400020", Layout.LEGACY),
        ("0500006", Layout.LEGACY),
        ("0600008", Layout.LEGACY),
        ("0700003", Layout.CLASSIC),
        ("1100000", Layout.MODERN),
        ("1300000", Layout.CURRENT),
        ("1400000", Layout.CURRENT),
        ("1504001", Layout.CURRENT),
        (1504001, Layout.CURRENT),  # tolerate a numeric storage class
    ],
)
def test_supported_versions(raw: object, layout: Layout) -> None:
    assert parse_version(raw).layout is layout


@pytest.mark.parametrize(
    "raw", ["0800000", "1200000", "1600000", "9999999", "0500007", "15", "abc", "", None]
)
def test_unknown_versions_refused_with_the_version_named(raw: object) -> None:
    with pytest.raises(UnsupportedCatalog) as info:
        parse_version(raw)
    if raw:
        assert str(raw) in str(info.value)


def test_r14_unknown_version_catalog_refused(lrc14: Built) -> None:
    """R14: a real open of a catalog whose Adobe_DBVersion is unknown stops before any entity is read."""
    conn = sqlite3.connect(lrc14.path)
    conn.execute("UPDATE Adobe_variablesTable SET value = '1600000' WHERE name = 'Adobe_DBVersion'")
    conn.commit()
    conn.close()
    with pytest.raises(UnsupportedCatalog, match="1600000"), open_catalog(lrc14.path):
        pytest.fail("opened an unsupported catalog")
