"""Large catalogs for the kill -9 test and bench/bench_catalog.py: a fixture-built catalog plus N photos.

Rows are added with executemany, ids from Adobe_entityIDCounter (written back as REAL), like fixtures.py.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from tests.catalog.fixtures import build_catalog


def make_big_catalog(shared_data: Path, dest_dir: Path, photos: int, version: str = "1100000") -> Path:
    path = build_catalog(shared_data, dest_dir, version, name="Big").path
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    (counter,) = conn.execute(
        "SELECT value FROM Adobe_variablesTable WHERE name = 'Adobe_entityIDCounter'"
    ).fetchone()
    nid = int(counter)
    root = nid
    folder = nid + 1
    nid += 2
    conn.execute(
        "INSERT INTO AgLibraryRootFolder (id_local, id_global, absolutePath, name) VALUES (?, ?, ?, ?)",
        (root, str(uuid.uuid4()).upper(), "/Volumes/Photos/", "Photos"),
    )
    conn.execute(
        "INSERT INTO AgLibraryFolder (id_local, id_global, pathFromRoot, rootFolder) VALUES (?, ?, ?, ?)",
        (folder, str(uuid.uuid4()).upper(), "big/", root),
    )
    files, images, iptc = [], [], []
    for n in range(photos):
        fid, iid, cid = nid, nid + 1, nid + 2
        nid += 3
        base = f"IMG_{n:06d}"
        files.append(
            (fid, str(uuid.uuid4()).upper(), base, "JPG", folder, f"{base}.JPG", f"{base}.jpg".lower())
        )
        images.append(
            (iid, str(uuid.uuid4()).upper(), fid, "JPG", "2024-01-01T00:00:00", 4000.0, 3000.0,
             float(n % 6) if n % 3 else None, 0.0, "", 7.5e8, 1.0)
        )  # fmt: skip
        iptc.append((cid, iid, f"existing caption {n}" if n % 4 == 0 else None))
    conn.executemany(
        "INSERT INTO AgLibraryFile (id_local, id_global, baseName, extension, folder, idx_filename,"
        " lc_idx_filename) VALUES (?, ?, ?, ?, ?, ?, ?)",
        files,
    )
    conn.executemany(
        "INSERT INTO Adobe_images (id_local, id_global, rootFile, fileFormat, captureTime, fileWidth, fileHeight,"
        " rating, pick, colorLabels, touchTime, touchCount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        images,
    )
    conn.executemany("INSERT INTO AgLibraryIPTC (id_local, image, caption) VALUES (?, ?, ?)", iptc)
    conn.execute(
        "UPDATE Adobe_variablesTable SET value = CAST(? AS REAL) WHERE name = 'Adobe_entityIDCounter'",
        (float(nid),),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def big_changes(paths: list[str], keywords_per_photo: int = 3) -> list[dict]:
    vocab = ["Animals|Dog", "Animals|Cat", "Outdoor", "Beach", "Portrait", "Night", "City|Street", "Food"]
    return [
        {
            "path": p,
            "keywords": [vocab[(i + k) % len(vocab)] for k in range(keywords_per_photo)],
            "caption": f"AI caption {i}",
        }
        for i, p in enumerate(paths)
    ]
