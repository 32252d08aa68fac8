"""Catalogs of every Lightroom generation (LR 3 … LrC 15, and an unknown newer one), built as real SQLite files.

Each generation starts from a real schema: the real LR5 catalog's own `sqlite_master` (LR 3-6) or the schema dumps
in shared/data/catalogs/schemas (0700003 for LrC 7-10, 1100000 for 11-12, LrC 14 for 13-16), copied, never opened
in place. Then the documented differences are applied (DROPPED: LR3 has no AgLibraryKeyword.keywordType, as a
user's real LR3 catalog showed; LrC 13.0 predates the 13.2 alt-text columns). `EVIDENCE` says, per generation,
whether its layout comes from a real file or from documentation. Data: two photos and a virtual copy, a keyword
hierarchy with a person and a synonym, captions, an XMP title, a collection set, a collection and a smart one.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import unicodedata
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.catalog.fixtures import schema_sql

LR5 = Path("catalogs") / "lr5_test_catalog_1.lrcat"
ROOT = "/Users/ann/Pictures/"


@dataclass(frozen=True)
class Generation:
    name: str
    version: str  # Adobe_DBVersion written
    base: str  # "lr5" (the real catalog) or a key of fixtures.SCHEMAS
    evidence: str
    dropped: tuple[tuple[str, str], ...] = ()  # (table, column) the generation lacks compared with its base

    @property
    def wal(self) -> bool:  # LR 3-6 use a rollback journal, LrC 7+ WAL (docs/lightroom.md)
        return self.version >= "0700000"

    def lacks(self, table: str, column: str) -> bool:
        return (table, column) in self.dropped


# Columns only some generations have: the builder leaves them out where the table lacks them, and nothing else.
GENERATIONAL = {("AgLibraryKeyword", "keywordType"), ("AgLibraryIPTC", "altTextAccessibility")}
NO_ALT = (("AgLibraryIPTC", "altTextAccessibility"), ("AgLibraryIPTC", "extDescrAccessibility"))
GENERATIONS = (
    Generation("LR3", "0300025", "lr5", "LR5 real file minus keywordType (documented by a user's LR3 catalog)",
               (("AgLibraryKeyword", "keywordType"),)),
    Generation("LR4", "0400020", "lr5", "LR5 real file (documentation: same columns)"),
    Generation("LR5", "0500006", "lr5", "real file"),
    Generation("LR6", "0600008", "lr5", "LR5 real file (documentation: same columns)"),
    Generation("LrC7", "0700003", "0700003", "schema dump of a real 0700003 catalog"),
    Generation("LrC8", "0800000", "0700003", "0700003 dump (documentation; version value from user reports)"),
    Generation("LrC9", "0900000", "0700003", "0700003 dump (documentation; version value from user reports)"),
    Generation("LrC10", "1000000", "0700003", "0700003 dump (documentation)"),
    Generation("LrC11", "1100000", "1100000", "schema dump of a real 1100000 catalog"),
    Generation("LrC12", "1200001", "1100000", "1100000 dump (documentation; version value from user reports)"),
    Generation("LrC13", "1300000", "1400000", "LrC 14 dump minus the 13.2 alt-text columns (documentation)", NO_ALT),
    Generation("LrC14", "1400000", "1400000", "schema dump of a real LrC 14 catalog"),
    Generation("LrC15", "1500000", "1400000", "LrC 14 dump (documentation; 1504001 seen)"),
)  # fmt: skip
BY_NAME = {g.name: g for g in GENERATIONS}
UNKNOWN = Generation("LrC16", "1600000", "1400000", "LrC 14 dump under a version we do not know")


@dataclass
class BuiltGen:
    path: Path
    gen: Generation
    ids: dict[str, int] = field(default_factory=dict)


def base_statements(shared_data: Path, base: str, tmp: Path) -> list[str]:
    """The CREATE statements of a real schema: the LR5 catalog's sqlite_master (read from a copy) or a dump."""
    if base != "lr5":
        return [schema_sql(shared_data, base)]
    src = shared_data / LR5
    if not src.is_file():
        pytest.skip(f"{src} not found")
    tmp.mkdir(parents=True, exist_ok=True)
    copy = tmp / "lr5-schema-source.lrcat"
    shutil.copyfile(src, copy)
    conn = sqlite3.connect(copy)
    try:
        return [
            sql
            for (sql,) in conn.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
        ]
    finally:
        conn.close()


def _xmp(title: str | None, description: str | None, version: str) -> str | bytes:
    def alt(tag: str, text: str | None) -> str:
        if text is None:
            return ""
        return f'<dc:{tag}><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></dc:{tag}>'

    text = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"{alt('title', title)}{alt('description', description)}</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    if version < "1100000":
        return text
    raw = text.encode("utf-8")
    return struct.pack(">I", len(raw)) + zlib.compress(raw)


def build(shared_data: Path, dest_dir: Path, gen: Generation) -> BuiltGen:
    """Create `dest_dir/<gen.name>.lrcat` in `gen`'s layout, with data; closed (no -wal left behind)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{gen.name}.lrcat"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode={'WAL' if gen.wal else 'DELETE'}")
    for sql in base_statements(shared_data, gen.base, dest_dir / ".schema"):
        conn.executescript(sql)
    for table, column in gen.dropped:
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    built = BuiltGen(path, gen)
    ids = built.ids
    counter = [95]

    def next_id() -> int:
        counter[0] += 1
        return counter[0] - 1

    def insert(table: str, with_global: bool = True, **cols: object) -> int:
        """Insert with an id from the counter; a GENERATIONAL column the table lacks is left out, nothing else is."""
        new_id = next_id()
        cols = {
            "id_local": new_id,
            **({"id_global": str(uuid.uuid4()).upper()} if with_global else {}),
            **cols,
        }
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        cols = {k: v for k, v in cols.items() if k in have or (table, k) not in GENERATIONAL}
        conn.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            tuple(cols.values()),
        )
        return new_id

    conn.execute("BEGIN IMMEDIATE")
    now = 7.5e8
    root = insert("AgLibraryKeyword", dateCreated=now, genealogy="", name=None, lc_name=None, parent=None)
    gens = {root: f"/{len(str(root))}{root}"}
    conn.execute("UPDATE AgLibraryKeyword SET genealogy = ? WHERE id_local = ?", (gens[root], root))
    ids["kw_root"] = root

    def keyword(key: str, name: str, parent: int, ktype: str | None = None) -> int:
        kid = counter[0]
        gens[kid] = f"{gens[parent]}/{len(str(kid))}{kid}"
        insert("AgLibraryKeyword", dateCreated=now, genealogy=gens[kid], name=name,
               lc_name=unicodedata.normalize("NFC", name).lower(), parent=parent, keywordType=ktype)  # fmt: skip
        ids[key] = kid
        return kid

    places = keyword("kw_places", "Places", root)
    lisbon = keyword("kw_lisbon", "Lisbon", keyword("kw_europe", "Europe", places))
    sunset = keyword("kw_sunset", "Sunset", keyword("kw_nature", "Nature", root))
    ann = keyword("kw_ann", "Ann", root, "person")
    insert("AgLibraryKeywordSynonym", with_global=False, keyword=lisbon, name="Lisboa", lc_name="lisboa")

    root_folder = insert("AgLibraryRootFolder", absolutePath=ROOT, name="Pictures")
    folder = insert("AgLibraryFolder", pathFromRoot="2024/Trip/", rootFolder=root_folder)

    def photo(key: str, base: str, ext: str, fmt: str, **image: object) -> int:
        file_id = insert(
            "AgLibraryFile", baseName=base, extension=ext, folder=folder, idx_filename=f"{base}.{ext}",
            lc_idx_filename=f"{base}.{ext}".lower(), lc_idx_filenameExtension=ext.lower(),
            originalFilename=f"{base}.{ext}", importHash=f"{int(now)}:{base}.{ext}:1", modTime=now,
            externalModTime=now, sidecarExtensions="",
        )  # fmt: skip
        ids[key] = insert(
            "Adobe_images", rootFile=file_id, fileFormat=fmt, touchTime=now, touchCount=0.0, **image
        )
        ids[key + "_file"] = file_id
        return ids[key]

    p1 = photo("p_sunset", "IMG_0001", "CR2", "RAW", captureTime="2024-05-01T20:31:02", fileWidth=6000.0,
               fileHeight=4000.0, rating=5.0, pick=1.0, colorLabels="Red", orientation="AB")  # fmt: skip
    p2 = photo("p_grandma", "DSC_0002", "JPG", "JPG", captureTime="2023-12-24T18:00:00", fileWidth=4000.0,
               fileHeight=6000.0, rating=None, pick=0.0, colorLabels="", orientation="BC")  # fmt: skip
    vc = insert("Adobe_images", rootFile=ids["p_sunset_file"], fileFormat="RAW", rating=3.0, pick=0.0,
                colorLabels="", orientation="AB", masterImage=p1, copyName="B&W", touchTime=now, touchCount=0.0)  # fmt: skip
    ids["p_vc"] = vc
    for img, caption, title, alt in [
        (p1, "Sunset over the Tagus", "Tagus sunset", "A red sun over a river"),
        (vc, "Sunset over the Tagus", None, None),
    ]:
        insert("AgLibraryIPTC", with_global=False, image=img, caption=caption, altTextAccessibility=alt)
        insert("Adobe_AdditionalMetadata", image=img, xmp=_xmp(title, caption, gen.version))
    insert("Adobe_AdditionalMetadata", image=p2, xmp=_xmp("Grandma", None, gen.version))
    for img, tag in [(p1, lisbon), (p1, sunset), (p2, ann), (vc, sunset)]:
        insert("AgLibraryKeywordImage", with_global=False, image=img, tag=tag)

    def collection(key: str, name: str, kind: str, parent: int | None, members: tuple[int, ...] = ()) -> None:
        cid = insert("AgLibraryCollection", with_global=False, name=name, creationId=kind, parent=parent,
                     genealogy="", systemOnly=0.0)  # fmt: skip
        for pos, img in enumerate(members):
            insert("AgLibraryCollectionImage", with_global=False, collection=cid, image=img,
                   positionInCollection=f"z{pos}")  # fmt: skip
        ids[key] = cid

    collection("c_trips", "Trips", "com.adobe.ag.library.group", None)
    collection("c_lisbon", "Lisbon", "com.adobe.ag.library.collection", ids["c_trips"], (vc, p1))
    collection("c_five", "Five Stars", "com.adobe.ag.library.smart_collection", None)
    for n, (name, value) in enumerate(
        [("Adobe_DBVersion", gen.version), ("Adobe_entityIDCounter", float(counter[0])),
         ("AgLibraryKeyword_rootTagID", float(root))], 1,
    ):  # fmt: skip
        conn.execute(
            "INSERT INTO Adobe_variablesTable (id_local, id_global, name, value) VALUES (?, ?, ?, ?)",
            (n, str(uuid.uuid4()).upper(), name, value),
        )
    conn.execute("COMMIT")
    conn.close()
    shutil.rmtree(dest_dir / ".schema", ignore_errors=True)
    return built
