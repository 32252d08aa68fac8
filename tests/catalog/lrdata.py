"""Build Lightroom's preview folders beside a test catalog, in the layout Lightroom writes (catalog/previews.py):
`<name> Previews.lrdata/previews.db` + `.lrprev` files whose levels are real JPEGs, and smart-preview DNGs."""

from __future__ import annotations

import io
import shutil
import sqlite3
from pathlib import Path

from PIL import Image

from catalog.previews import previews_dir, smart_previews_dir, write_lrprev

CACHE_SCHEMA = """
CREATE TABLE ImageCacheEntry (
    imageId INTEGER PRIMARY KEY, uuid TEXT NOT NULL, digest TEXT NOT NULL, orientation TEXT
)
"""


def jpeg_levels(photo: Path, sizes: tuple[int, ...] = (80, 160, 320)) -> list[tuple[str, bytes]]:
    """A header section and one JPEG level per long edge in `sizes`, smallest first, from a real photo."""
    with Image.open(photo) as src:
        im = src.convert("RGB")
        out: list[tuple[str, bytes]] = [("header", b"return { imageWidth = 1, imageHeight = 1 }")]
        for n, edge in enumerate(sizes, start=1):
            level = im.copy()
            level.thumbnail((edge, edge))
            buf = io.BytesIO()
            level.save(buf, "JPEG", quality=90)
            out.append((f"level_{n}", buf.getvalue()))
    return out


def add_preview(catalog: Path, image_id: int, uuid: str, photo: Path, digest: str = "0123abcd") -> Path:
    """A standard preview of `photo` for `Adobe_images.id_local == image_id`."""
    root = previews_dir(catalog)
    root.mkdir(exist_ok=True)
    db = sqlite3.connect(root / "previews.db")
    db.execute(CACHE_SCHEMA.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
    db.execute("INSERT OR REPLACE INTO ImageCacheEntry VALUES (?, ?, ?, 'AB')", (image_id, uuid, digest))
    db.commit()
    db.close()
    path = root / uuid[0] / uuid[:4] / f"{uuid}-{digest}.lrprev"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_lrprev(path, jpeg_levels(photo))
    return path


def add_smart_preview(catalog: Path, global_id: str, dng: Path) -> Path:
    path = smart_previews_dir(catalog) / global_id[0] / global_id[:4] / f"{global_id}.dng"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dng, path)
    return path
