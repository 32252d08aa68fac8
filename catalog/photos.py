"""Photos: Adobe_images joined to AgLibraryFile → AgLibraryFolder → AgLibraryRootFolder for the full path.

TABLES is what a photo cannot be read without (its id, uuid and path); OPTIONAL columns are read as NULL where
a catalog lacks them. All of them are in LR5 (real catalog) and the 7/11/14 schemas (README matrix).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath, PureWindowsPath

from catalog.schema import Probe

TABLES: dict[str, tuple[str, ...]] = {
    "Adobe_images": ("id_local", "id_global", "rootFile"),
    "AgLibraryFile": ("id_local", "folder", "baseName", "extension"),
    "AgLibraryFolder": ("id_local", "rootFolder", "pathFromRoot"),
    "AgLibraryRootFolder": ("id_local", "absolutePath"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "Adobe_images": (
        "captureTime", "fileFormat", "fileWidth", "fileHeight", "rating", "pick", "colorLabels", "orientation",
        "masterImage", "copyName",
    ),
}  # fmt: skip

_SQL = """
SELECT i.id_local, i.id_global, {image_cols},
       r.absolutePath, fo.pathFromRoot, f.baseName, f.extension
FROM Adobe_images i
LEFT JOIN AgLibraryFile f ON f.id_local = i.rootFile
LEFT JOIN AgLibraryFolder fo ON fo.id_local = f.folder
LEFT JOIN AgLibraryRootFolder r ON r.id_local = fo.rootFolder
ORDER BY i.id_local
"""

# Windows roots are stored with forward slashes: "C:/Users/..." or UNC "//server/share/".
_WINDOWS_ROOT = re.compile(r"^([A-Za-z]:/|//)")


@dataclass(frozen=True)
class Photo:
    id: int  # Adobe_images.id_local
    uuid: str  # Adobe_images.id_global, the SDK's photo uuid
    path: str  # as Lightroom stores it: forward slashes, even on Windows
    capture_time: str | None  # ISO text as stored (LR5: local, no zone; LrC 11+: with offset)
    width: int | None
    height: int | None
    file_format: str | None  # RAW, DNG, JPG, TIFF, VIDEO, ...
    rating: int | None  # None = unrated
    pick: int  # 1 picked, 0 none, -1 rejected
    color_label: str | None  # label text as stored (may be localized); None when empty
    orientation: str | None  # AB / BC / CD / DA
    master_id: int | None  # set on virtual copies: the master photo's id
    copy_name: str | None
    caption: str | None = None
    title: str | None = None
    alt_text: str | None = None
    keywords: tuple[str, ...] = ()  # full keyword paths, "Parent|Child"

    @property
    def is_virtual_copy(self) -> bool:
        return self.master_id is not None

    @property
    def is_windows_path(self) -> bool:
        return bool(_WINDOWS_ROOT.match(self.path))

    @property
    def pure_path(self) -> PurePath:
        """The path in its own OS flavour, whatever OS we run on."""
        return PureWindowsPath(self.path) if self.is_windows_path else PurePosixPath(self.path)


def _int(value: object) -> int | None:
    return None if value is None or value == "" else int(float(value))  # type: ignore[arg-type]


def join_path(root: str | None, from_root: str | None, base: str | None, ext: str | None) -> str:
    name = (base or "") + (f".{ext}" if ext else "")
    return f"{root or ''}{from_root or ''}{name}"


def read_photos(conn: sqlite3.Connection, schema: Probe) -> list[Photo]:
    schema.require(TABLES, "reading photos")
    sql = _SQL.format(image_cols=schema.pick("Adobe_images", OPTIONAL["Adobe_images"], "i"))
    out = []
    for row in conn.execute(sql):
        (
            id_local,
            uuid,
            capture,
            fmt,
            w,
            h,
            rating,
            pick,
            label,
            orient,
            master,
            copy_name,
            root,
            rel,
            base,
            ext,
        ) = row
        out.append(
            Photo(
                id=int(id_local),
                uuid=str(uuid),
                path=join_path(root, rel, base, ext),
                capture_time=capture,
                width=_int(w),
                height=_int(h),
                file_format=fmt,
                rating=_int(rating),
                pick=_int(pick) or 0,
                color_label=label or None,
                orientation=orient,
                master_id=_int(master),
                copy_name=copy_name,
            )
        )
    return out
