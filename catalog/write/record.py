"""What each write added, kept beside the backups so `unwrite` can take back exactly that (R50).

Why a file and not a table in the catalog: nothing says Lightroom keeps a third party's table
through upgrades and optimisation, and a table of ours would make the catalog one that our own hostile-
schema check (lrschema.py) has to special-case. So the catalog gets only Lightroom's own rows, and the record
lives in `<catalog dir>/Pixel Detective Backups/writes/<catalog name> <UTC time>.json`, written atomically
(temp, fsync, replace).

One record per write: the keyword rows it created (id, id_global, name, parent, dateCreated), the keyword-image
links (id, image, tag), the AgLibraryIPTC rows it inserted (id, image, caption), the fields it changed (image,
field, raw old value, new value), and for collections (`collections_write.py`) the collections it created (id,
name, genealogy) and the member rows it inserted and deleted (id, collection, image, pick). Every id came from Lightroom's counter, which only grows, so an id names the
same row for ever; the id_global (a random UUID we made) and the recorded values are checked too before
anything is removed.

Crash window: the record is saved as "pending" inside the write transaction, before COMMIT, and marked
"committed" right after. A pending record found later is resolved against the catalog (see `remove.py`): our
keyword UUIDs present = it committed; Adobe_entityIDCounter still below the record's end = it never did.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.errors import CatalogError
from catalog.fsutil import read_regular
from catalog.write.backup import RECORD, backup_root

if TYPE_CHECKING:
    from catalog.write.txn import Session

RECORDS_DIR = "writes"
_MAX_RECORD = 256 << 20  # 100k photos × a few links is ~20 MB of JSON


@dataclass
class WriteRecord:
    catalog: str
    backup: str | None
    time_2001: float
    state: str = "pending"  # pending | committed | legacy (applied.json of older versions)
    id_end: int | None = None  # Adobe_entityIDCounter value written back (next free id)
    keywords: list[dict[str, Any]] = field(default_factory=list)  # id, uuid, name, parent
    links: list[dict[str, Any]] = field(default_factory=list)  # id, image, tag
    captions: list[dict[str, Any]] = field(default_factory=list)  # id, image, caption (rows we inserted)
    fields: list[dict[str, Any]] = field(default_factory=list)  # image, field, old (raw), new (raw)
    collections: list[dict[str, Any]] = field(default_factory=list)  # id, name, genealogy (created by us)
    members_added: list[dict[str, Any]] = field(default_factory=list)  # id, collection, image
    members_removed: list[dict[str, Any]] = field(default_factory=list)  # id, collection, image, pick
    path: Path | None = None  # where it is stored; None until saved

    @property
    def empty(self) -> bool:
        return not (
            self.keywords
            or self.links
            or self.captions
            or self.fields
            or self.collections
            or self.members_added
            or self.members_removed
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("path")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> WriteRecord:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "path"}
        return cls(**known, path=path)


def records_dir(catalog: Path) -> Path:
    return backup_root(catalog) / RECORDS_DIR


def new_path(catalog: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H-%M-%S-%f")
    return records_dir(catalog) / f"{catalog.name} {stamp}.json"


def save(record: WriteRecord) -> None:
    """Write atomically: a crash leaves the previous version or the new one, never half a file."""
    assert record.path is not None
    record.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=record.path.parent, prefix=".rec-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record.to_dict(), fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, record.path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def keep_with(session: Session, rec: WriteRecord) -> None:
    """Save the record as pending before COMMIT (a failure to save aborts the write: an unrecorded write could
    never be taken back), then mark it committed once COMMIT returned."""
    try:
        save(rec)
    except OSError as exc:
        raise CatalogError(f"cannot save the write record {rec.path} ({exc.strerror or exc})") from exc

    def committed() -> None:
        rec.state = "committed"
        save(rec)

    session.after_commit.append(committed)


def finish(record: WriteRecord) -> None:
    """Store what is left of a record after an unwrite; delete it when nothing is left.

    A converted legacy record is kept even when empty: it shadows the old `applied.json` in its backup folder,
    which would otherwise be read again."""
    if not record.empty or record.state == "legacy":
        save(record)
    elif record.path is not None:
        record.path.unlink(missing_ok=True)


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(read_regular(path, _MAX_RECORD))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _legacy(data: dict[str, Any], path: Path, catalog: Path) -> WriteRecord:
    """An `applied.json` of versions before records existed: ids only (no UUIDs, names or fields). Our keyword
    rows are recognised by id + dateCreated (both came from that write); stored in records/ once handled."""
    rec = WriteRecord(str(data.get("catalog")), str(path.parent), float(data.get("time_2001", 0)), "legacy")
    rec.keywords = [{"id": int(k)} for k in data.get("keywords_created", [])]
    pairs = data.get("link_pairs", [])
    rec.links = [
        {"id": int(lid), "image": int(p[0]), "tag": int(p[1])}
        for lid, p in zip(data.get("links_created", []), pairs, strict=False)
    ]
    rec.path = records_dir(catalog) / f"{catalog.name} legacy {path.parent.name}.json"
    return rec


def load_all(catalog: Path) -> list[WriteRecord]:
    """This catalog's records, oldest first (unreadable ones skipped: they never name a row to remove)."""
    out: list[WriteRecord] = []
    folder = records_dir(catalog)
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            data = _load(path)
            if data is not None and data.get("catalog") == str(catalog):
                out.append(WriteRecord.from_dict(data, path))
    seen_backups = {r.backup for r in out}
    root = backup_root(catalog)
    if root.is_dir():
        for path in sorted(root.glob(f"{catalog.stem} */{RECORD}")):
            data = _load(path)
            # applied.json is only written by versions before records/ existed
            if data and data.get("catalog") == str(catalog) and str(path.parent) not in seen_backups:
                out.append(_legacy(data, path, catalog))
    return sorted(out, key=lambda r: r.time_2001)
