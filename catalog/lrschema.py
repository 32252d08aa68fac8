"""What Lightroom itself creates besides tables, and the checks that refuse anything else (R47).

Lightroom creates no views and the same 20 triggers in every catalog we have seen (18 in the real LR5 catalog
in shared/data, 20 in the 0700003, 1100000 and LrC 14 schema dumps; the bodies are identical across versions).
They sit on stack, collection-cover and DNG-proxy tables, none of which we write. A trigger anyone else added
runs inside our write transaction (the hostile probe's trigger re-rated every photo and deleted collections,
and `integrity_check` still said "ok"), so writes are refused unless every trigger is one of these, by name
*and* by body (whitespace-normalized SHA-256: a Lightroom name with another body is not Lightroom's). Views are
refused for writes; for reads only a view named like a table we read matters (it is what we would query).
`tests/catalog/test_hostile.py` re-derives this table from the real catalog and the dumps.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

from catalog.errors import HostileCatalog

LIGHTROOM_TRIGGERS: dict[str, str] = {
    "AgLibraryCollectionStackData_initStackData": "a705fbf1296c2e792baa9b89ed4cac8c97c3717408fdba79fcfef867f230804e",
    "AgLibraryFolderStackData_initStackData": "9f60b6c762dff55a94945dc1a3e5aea6993be86df7ab168fc6ed29166935f998",
    "AgLibraryCollectionStack_propagateCollapseState": "b340bbe89bfe1c29de7d75ba35a81fd10990bf8442655ced5114037aa00ef6ff",
    "AgLibraryCollectionStackData_delete": "a94437135f54f13cac248c8a24f8ed7671058acecca5e329512ba7ab3b693409",
    "AgLibraryCollectionStackData_init": "332d994aa25834176ea736e05afe8837eae5f41091eed02462d65543166d757f",
    "AgLibraryCollectionStackImage_propagateStackParentOnAdd": "cb8b3b5646e49022732111543d340e772aeac3d744763b6882a79344ad038288",
    "AgLibraryCollectionStackImage_propagateStackParentOnUpdate": "303aa8b7632fdc4f17a98c2e82eafd7c8bbaad2369dfb9d52b7985c0ecbb4543",
    "AgLibraryCollectionStackImage_updateCountOnDelete": "145c8235c614f81b67923d1067a3b3d17f691a451d20ae669a823fe0291907ff",
    "AgLibraryCollectionStackImage_updateCountOnAdd": "7517b708a3f97f47e984b99b43a4929cf5cf7bd9d773fbf0e34186eb6bb3cf12",
    "AgLibraryFolderStack_propagateCollapseState": "5755a361d17f5eea2d24a36319ab308180a80478445957b816d57a9e30a49f6b",
    "AgLibraryFolderStackData_delete": "a28c11ba1ca8f2e46e2679ca9dc392f5c9e10d83a3dd693ae22b6c393cc7f41c",
    "AgLibraryFolderStackData_init": "4e3637297bc8430b3c4791ebb798be96fd13692ad3d2e93a2f1eb8bcf6c58714",
    "AgLibraryFolderStackImage_propagateStackParentOnAdd": "a1738d8afbbe0514e03b16d5329ab4cf0a0cc06178591d737dd2e07e2c293c9a",
    "AgLibraryFolderStackImage_propagateStackParentOnUpdate": "e0e871d487c2e9c89cf62cdc0dce38ea30b37d74488a980fedb534e10e5f121c",
    "AgLibraryFolderStackImage_updateStackCountOnDelete": "ed584802e587f7d5dc016a9bb1faa37fc3b7a87bad35ab7c76424c5999c68ebc",
    "AgLibraryFolderStackImage_updateCountOnAdd": "6e3862a0a968be23c6cb63f348b56e4e8ebc97d3ee826955d0eb139d1ab7d97c",
    "trigger_AgDNGProxyInfo_fileDeleted": "42344264555ee5d8cdaab010e45e1b265e9313b8ea49de34180da1a5d0857fa8",
    "trigger_AgDNGProxyInfo_fileInserted": "2914072b1b994aad4e8850209cfd33172eb8cf6782355c14db88731708e89fcb",
    "trigger_AgLibraryCollectionCoverImage_delete_collection": "3c83efd40f902f33c76493ae4eeccdd60eff0d3383562dbc5068b0ff7506b30e",
    "trigger_AgLibraryCollectionCoverImage_delete_collectionImage": "c4455cbe5750e49245e87430710df627203a26d0bdbbdb1f8969db85ceca49b7",
}  # fmt: skip

# Every table catalog/ reads (README "Tables and columns read"): a view by one of these names is what we'd query.
READ_TABLES = frozenset(
    {
        "Adobe_variablesTable", "Adobe_images", "AgLibraryFile", "AgLibraryFolder", "AgLibraryRootFolder",
        "AgLibraryIPTC", "Adobe_AdditionalMetadata", "AgLibraryKeyword", "AgLibraryKeywordSynonym",
        "AgLibraryKeywordImage", "AgLibraryCollection", "AgLibraryCollectionImage",
    }
)  # fmt: skip


def sql_digest(sql: str) -> str:
    return hashlib.sha256(re.sub(r"\s+", " ", sql).strip().encode("utf-8")).hexdigest()


def foreign_objects(conn: sqlite3.Connection) -> list[str]:
    """Views and triggers Lightroom does not create, as 'view NAME' / 'trigger NAME on TABLE'."""
    out = []
    for kind, name, table, sql in conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('view', 'trigger') ORDER BY name"
    ):
        if kind == "view":
            out.append(f"view {name}")
        elif LIGHTROOM_TRIGGERS.get(name) != sql_digest(sql or ""):
            out.append(f"trigger {name} on {table}")
    return out


def check_readable(conn: sqlite3.Connection, source: Path) -> None:
    """Refuse a catalog where a table we read is really a view (it could run forever or lie)."""
    marks = ", ".join("?" for _ in READ_TABLES)
    views = [
        r[0]
        for r in conn.execute(
            f"SELECT name FROM sqlite_master WHERE type = 'view' AND name IN ({marks}) ORDER BY name",
            sorted(READ_TABLES),
        )
    ]
    if views:
        raise HostileCatalog(
            f"{source.name} is not a catalog Lightroom wrote: {', '.join(views)} "
            f"{'is a view' if len(views) == 1 else 'are views'}, not tables. Not read."
        )


def check_writable(conn: sqlite3.Connection, source: Path) -> None:
    """Refuse to write a catalog with views or triggers Lightroom does not create, naming them."""
    foreign = foreign_objects(conn)
    if foreign:
        raise refusal(source, foreign)


def refusal(source: Path, foreign: list[str]) -> HostileCatalog:
    shown = ", ".join(foreign[:10]) + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
    return HostileCatalog(
        f"refusing to write {source.name}: it contains {shown}, which Lightroom does not create "
        "(a trigger would run inside our write and change other data). Nothing was written. If you added "
        "them yourself, remove them (or write through the Lightroom plugin)."
    )
