"""Build small modern-layout catalogs from the real schema dumps in shared/data/catalogs/schemas.

Follows docs/lightroom-facts.md: ids come from Adobe_entityIDCounter (kept REAL), keyword genealogy is
parent genealogy + "/" + digit count + id, lc_name is the NFC lower-cased name, the root keyword has no name and
its id is in 'AgLibraryKeyword_rootTagID' (REAL), times are seconds since 2001 as REAL, WAL mode, XMP stored as
4-byte big-endian length + zlib from LrC 11 (plain text before, which is what we assume for 0700003).

The LrC 14 Adobe_DBVersion is not one we have seen in a real catalog; we use 1400000, inside the 13-15 rule of
catalog/version.py. The catalog is left with a non-empty -wal (as after a crash or while Lightroom runs) and a
`.lrcat-data` folder, so R12 can be tested on it.
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

SCHEMAS = {
    "0700003": "lrcat_0700003_schema.sql",
    "1100000": "lrcat_1100000_schema.sql",
    "1400000": "lrcat_lrc14_schema.sql",
}
MODERN_VERSIONS = tuple(SCHEMAS)
POSIX_ROOT = "/Users/ann/Pictures/"
WINDOWS_ROOT = "C:/Users/Ann Lee/Pictures/"
EPOCH_2001 = 978307200


@dataclass
class Built:
    path: Path
    version: str
    ids: dict[str, int] = field(default_factory=dict)


def schema_sql(shared_data: Path, version: str) -> str:
    path = shared_data / "catalogs" / "schemas" / SCHEMAS[version]
    if not path.is_file():
        pytest.skip(f"schema dump {path} not found")
    # sqlite_stat* are SQLite's own tables: they cannot be created by name (ANALYZE makes them).
    return "\n".join(
        line for line in path.read_text().splitlines() if not line.startswith("CREATE TABLE sqlite_")
    )


def _xmp(title: str | None, description: str | None) -> str:
    def alt(tag: str, text: str | None) -> str:
        if text is None:
            return ""
        return f'<dc:{tag}><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></dc:{tag}>'

    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"{alt('title', title)}{alt('description', description)}</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def encode_xmp(text: str, version: str) -> str | bytes:
    if version < "1100000":
        return text
    raw = text.encode("utf-8")
    return struct.pack(">I", len(raw)) + zlib.compress(raw)


class _Writer:
    def __init__(self, conn: sqlite3.Connection, version: str) -> None:
        self.conn = conn
        self.version = version

    def next_id(self) -> int:
        """Take an id from the shared counter and write value+1 back as REAL (TEXT breaks Lightroom)."""
        (value,) = self.conn.execute(
            "SELECT value FROM Adobe_variablesTable WHERE name = 'Adobe_entityIDCounter'"
        ).fetchone()
        self.conn.execute(
            "UPDATE Adobe_variablesTable SET value = CAST(? AS REAL) WHERE name = 'Adobe_entityIDCounter'",
            (float(value) + 1,),
        )
        return int(value)

    def insert(self, table: str, with_global: bool = True, **cols: object) -> int:
        new_id = self.next_id()
        cols = {
            "id_local": new_id,
            **({"id_global": str(uuid.uuid4()).upper()} if with_global else {}),
            **cols,
        }
        names = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        self.conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(cols.values()))
        return new_id


def genealogy(parent_genealogy: str, kid: int) -> str:
    return f"{parent_genealogy}/{len(str(kid))}{kid}"


def build_catalog(shared_data: Path, dest_dir: Path, version: str = "1100000", name: str = "Test") -> Built:
    """Create `dest_dir/<name>.lrcat` (+ non-empty -wal, + .lrcat-data) in the layout of `version`."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{name}.lrcat"
    sql = schema_sql(shared_data, version)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # keep the data in the -wal, like a running Lightroom
    conn.executescript(sql)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # schema in the main file, data below stays in the WAL
    built = Built(path, version)
    w = _Writer(conn, version)
    ids = built.ids
    conn.execute("BEGIN IMMEDIATE")
    for n, (key, value) in enumerate(
        [("Adobe_DBVersion", version), ("Adobe_entityIDCounter", 95.0), ("AgLibraryKeyword_rootTagID", 0.0)],
        1,
    ):
        conn.execute(
            "INSERT INTO Adobe_variablesTable (id_local, id_global, name, value) VALUES (?, ?, ?, ?)",
            (n, str(uuid.uuid4()).upper(), key, value),
        )
    now = 7.5e8  # seconds since 2001 (2024-10), REAL

    # Keywords: root, then a hierarchy, ids from the counter so genealogy crosses 2→3 digits.
    root = w.insert("AgLibraryKeyword", dateCreated=now, genealogy="", name=None, lc_name=None, parent=None)
    root_gen = genealogy("", root)
    conn.execute("UPDATE AgLibraryKeyword SET genealogy = ? WHERE id_local = ?", (root_gen, root))
    conn.execute(
        "UPDATE Adobe_variablesTable SET value = CAST(? AS REAL) WHERE name = 'AgLibraryKeyword_rootTagID'",
        (float(root),),
    )
    ids["kw_root"] = root
    gens = {root: root_gen}

    def keyword(key: str, name: str, parent: int, ktype: str | None = None) -> int:
        kid = w.next_id()
        gens[kid] = genealogy(gens[parent], kid)
        conn.execute(
            "INSERT INTO AgLibraryKeyword (id_local, id_global, dateCreated, genealogy, name, lc_name, parent,"
            " keywordType) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kid, str(uuid.uuid4()).upper(), now, gens[kid], name,
             unicodedata.normalize("NFC", name).lower(), parent, ktype),
        )  # fmt: skip
        ids[key] = kid
        return kid

    places = keyword("kw_places", "Places", root)
    europe = keyword("kw_europe", "Europe", places)
    lisbon = keyword("kw_lisbon", "Lisbon", europe)
    nature = keyword("kw_nature", "Nature", root)
    sunset = keyword("kw_sunset", "Sunset", nature)
    ann = keyword("kw_ann", "Ann", root, "person")
    for kid, syn in [(lisbon, "Lisboa"), (sunset, "Dusk"), (sunset, "Sundown")]:
        w.insert("AgLibraryKeywordSynonym", with_global=False, keyword=kid, name=syn, lc_name=syn.lower())

    # Folders and files: one POSIX root, one Windows root.
    posix_root = w.insert("AgLibraryRootFolder", absolutePath=POSIX_ROOT, name="Pictures")
    win_root = w.insert("AgLibraryRootFolder", absolutePath=WINDOWS_ROOT, name="Pictures")
    trip = w.insert("AgLibraryFolder", pathFromRoot="2024/Lisbon trip/", rootFolder=posix_root)
    family = w.insert("AgLibraryFolder", pathFromRoot="Family/", rootFolder=win_root)

    def photo(key: str, folder: int, base: str, ext: str, fmt: str, **image: object) -> int:
        file_id = w.insert(
            "AgLibraryFile", baseName=base, extension=ext, folder=folder, idx_filename=f"{base}.{ext}",
            lc_idx_filename=f"{base}.{ext}".lower(), lc_idx_filenameExtension=ext.lower(),
            originalFilename=f"{base}.{ext}", importHash=f"{int(now)}:{base}.{ext}:12345", modTime=now,
            externalModTime=now, sidecarExtensions="xmp" if fmt == "RAW" else "",
        )  # fmt: skip
        img = w.insert("Adobe_images", rootFile=file_id, fileFormat=fmt, touchTime=now, **image)
        ids[key] = img
        ids[key + "_file"] = file_id
        return img

    p1 = photo(
        "p_sunset", trip, "IMG_0001", "CR3", "RAW", captureTime="2024-05-01T20:31:02.15+01:00", fileWidth=6000.0,
        fileHeight=4000.0, rating=5.0, pick=1.0, colorLabels="Red", orientation="AB",
    )  # fmt: skip
    p2 = photo(
        "p_grandma", family, "DSC_0002", "JPG", "JPG", captureTime="2023-12-24T18:00:00+01:00", fileWidth=4000.0,
        fileHeight=6000.0, rating=None, pick=-1.0, colorLabels="", orientation="BC",
    )  # fmt: skip
    vc = w.insert(
        "Adobe_images", rootFile=ids["p_sunset_file"], fileFormat="RAW", captureTime="2024-05-01T20:31:02.15+01:00",
        fileWidth=6000.0, fileHeight=4000.0, rating=3.0, pick=0.0, colorLabels="", orientation="AB",
        masterImage=p1, copyName="Black & White", touchTime=now,
    )  # fmt: skip
    ids["p_vc"] = vc

    has_alt = version >= "1300000"
    for img, caption, title, alt in [
        (p1, "Sunset over the Tagus", "Tagus sunset", "A red sun sets over a wide river"),
        (p2, None, "Grandma's Christmas", None),
        (vc, "Sunset over the Tagus", None, None),
    ]:
        iptc = {"image": img, "caption": caption}
        if has_alt:
            iptc["altTextAccessibility"] = alt
        w.insert("AgLibraryIPTC", with_global=False, **iptc)
        w.insert("Adobe_AdditionalMetadata", image=img, xmp=encode_xmp(_xmp(title, caption), version))

    for img, tag in [(p1, lisbon), (p1, sunset), (p2, ann), (vc, sunset)]:
        w.insert("AgLibraryKeywordImage", with_global=False, image=img, tag=tag)

    # Collections: a set ("group") holding a plain collection, and a top-level collection.
    def collection(key: str, name: str, kind: str, parent: int | None, members: tuple[int, ...] = ()) -> int:
        cid = w.insert("AgLibraryCollection", with_global=False, name=name, creationId=kind, parent=parent,
                       genealogy="", systemOnly=0.0)  # fmt: skip
        for pos, img in enumerate(members):
            w.insert("AgLibraryCollectionImage", with_global=False, collection=cid, image=img,
                     positionInCollection=f"z{pos}")  # fmt: skip
        ids[key] = cid
        return cid

    trips = collection("c_trips", "Trips", "com.adobe.ag.library.group", None)
    collection("c_lisbon", "Lisbon 2024", "com.adobe.ag.library.collection", trips, (p1, vc))
    collection("c_best", "Best of", "com.adobe.ag.library.collection", None, (p1,))
    conn.execute("COMMIT")

    # Freeze the files while the WAL still holds the data: closing the last connection would checkpoint it.
    snapshot = dest_dir / ".snapshot"
    snapshot.mkdir()
    shutil.copyfile(path, snapshot / path.name)
    shutil.copyfile(f"{path}-wal", snapshot / f"{path.name}-wal")
    conn.close()
    for suffix in ("", "-wal"):
        shutil.copyfile(snapshot / f"{path.name}{suffix}", f"{path}{suffix}")
    Path(f"{path}-shm").unlink(missing_ok=True)
    shutil.rmtree(snapshot)
    data_dir = dest_dir / f"{name}.lrcat-data"
    (data_dir / "masks").mkdir(parents=True)
    (data_dir / "masks" / "mask-0001.bin").write_bytes(b"\x00mask")
    return built
