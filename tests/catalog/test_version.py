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
    ("raw", "layout"),
    [
        ("0800000", Layout.CLASSIC),  # LrC 8-10 values users reported beside the 0700003 we have seen
        ("0900000", Layout.CLASSIC),
        ("1000000", Layout.CLASSIC),
        ("1200001", Layout.MODERN),
        ("0500007", Layout.LEGACY),
        (300025, Layout.LEGACY),  # a numeric storage class drops the leading zero
    ],
)
def test_every_major_from_3_to_15_is_known(raw: object, layout: Layout) -> None:
    version = parse_version(raw)
    assert version.layout is layout and version.known and version.warning is None


@pytest.mark.parametrize("raw", ["1600000", "2104000", "9999999"])
def test_newer_majors_are_read_with_a_warning(raw: str) -> None:
    version = parse_version(raw)
    assert not version.known
    assert version.warning is not None and raw in version.warning


@pytest.mark.parametrize("raw", ["0100000", "0200012", "15", "abc", "", None, "16000000"])
def test_unreadable_versions_refused_with_the_version_named(raw: object) -> None:
    with pytest.raises(UnsupportedCatalog) as info:
        parse_version(raw)
    if raw:
        assert str(raw) in str(info.value)


def test_r14_unparseable_version_catalog_refused(lrc14: Built) -> None:
    """R14: a real open of a catalog whose Adobe_DBVersion is not a version stops before any entity is read."""
    conn = sqlite3.connect(lrc14.path)
    conn.execute("UPDATE Adobe_variablesTable SET value = '0200000' WHERE name = 'Adobe_DBVersion'")
    conn.commit()
    conn.close()
    with pytest.raises(UnsupportedCatalog, match="0200000"), open_catalog(lrc14.path):
        pytest.fail("opened an unsupported catalog")
