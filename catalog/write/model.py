"""Data types of a catalog write: the requested changes, options, the plan and the apply report.

Input JSON (`--changes FILE.json`, also `load_changes`):

    {"options": {"keyword_parent": "Pixel Detective", "reuse_existing": true, "overwrite_caption": false},
     "rules": [{"score": "quality", "op": ">=", "value": 0.8, "set": "rating", "to": 4},
               "sharpness < 0.2 -> pick -1"],
     "photos": [{"path": "/Users/ann/Pictures/IMG_1.CR3",   # or "uuid" (Adobe_images.id_global) or "id"
                 "keywords": ["Animals|Dog", "Outdoor"],
                 "caption": "A dog on a beach", "rating": 3, "label": "Red", "pick": 1,
                 "scores": {"quality": 0.91, "sharpness": 0.6}}]}

A bare list is read as "photos". A field that is absent is left alone; `"rating": null` (or 0) clears the
rating, `"label": null` or `""` clears the label. A path matches the master photo, not its virtual copies; use
the uuid for a virtual copy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from catalog.errors import CatalogError
from catalog.fsutil import read_regular
from catalog.write.rules import Rule

FIELDS = ("keywords", "caption", "rating", "label", "pick")
DEFAULT_PARENT = "Pixel Detective"
MAX_CHANGES_BYTES = 1 << 30  # 100k photos with keywords and captions is ~50 MB


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


class PlanStale(CatalogError):
    """The catalog changed since planning in a way the plan depends on; nothing was written."""


@dataclass
class PhotoChange:
    path: str | None = None
    uuid: str | None = None
    id: int | None = None
    keywords: tuple[str, ...] = ()
    caption: Any = UNSET
    rating: Any = UNSET
    label: Any = UNSET
    pick: Any = UNSET
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.uuid or self.path or f"id:{self.id}"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PhotoChange:
        unknown = set(d) - {"path", "uuid", "id", "keywords", "caption", "rating", "label", "pick", "scores"}
        if unknown:
            raise ValueError(f"unknown photo fields: {', '.join(sorted(unknown))}")
        if not any(d.get(k) is not None for k in ("path", "uuid", "id")):
            raise ValueError("each photo needs a path, uuid or id")
        return cls(
            path=d.get("path"),
            uuid=d.get("uuid"),
            id=None if d.get("id") is None else int(d["id"]),
            keywords=tuple(d.get("keywords") or ()),
            **{k: d[k] for k in ("caption", "rating", "label", "pick") if k in d},
            scores={str(k): float(v) for k, v in (d.get("scores") or {}).items()},
        )


@dataclass
class WriteOptions:
    keyword_parent: str | None = DEFAULT_PARENT  # None: attach under the root keyword
    reuse_existing: bool = True
    overwrite_caption: bool = False
    what: frozenset[str] = frozenset(FIELDS)
    rules: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        bad = set(self.what) - set(FIELDS)
        if bad:
            raise ValueError(f"--what accepts {', '.join(FIELDS)}; not {', '.join(sorted(bad))}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "keyword_parent": self.keyword_parent,
            "reuse_existing": self.reuse_existing,
            "overwrite_caption": self.overwrite_caption,
            "what": sorted(self.what),
            "rules": [r.to_dict() for r in self.rules],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WriteOptions:
        return cls(
            keyword_parent=d.get("keyword_parent", DEFAULT_PARENT),
            reuse_existing=bool(d.get("reuse_existing", True)),
            overwrite_caption=bool(d.get("overwrite_caption", False)),
            what=frozenset(d.get("what", FIELDS)),
            rules=tuple(Rule.parse(r) for r in d.get("rules", ())),
        )


def load_changes(path: str | Path) -> tuple[list[PhotoChange], WriteOptions]:
    try:
        # only a regular file, capped: a FIFO given as --changes must not hang the command
        data = json.loads(read_regular(Path(path), MAX_CHANGES_BYTES).decode("utf-8"))
    except FileNotFoundError as exc:
        raise CatalogError(f"changes file not found: {path}") from exc
    except OSError as exc:
        raise CatalogError(f"cannot read changes file {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise CatalogError(f"changes file {path} is not valid JSON: {exc}") from exc
    if isinstance(data, list):
        data = {"photos": data}
    if not isinstance(data, dict):
        raise CatalogError(f"bad changes file {path}: expected a JSON object or list")
    try:
        opts = dict(data.get("options") or {})
        if "rules" in data:
            opts["rules"] = data["rules"]
        return [PhotoChange.from_dict(p) for p in data.get("photos", [])], WriteOptions.from_dict(opts)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CatalogError(f"bad changes file {path}: {exc}") from exc


@dataclass
class NewKeyword:
    path: str  # full path from the top level, "Pixel Detective|Animals|Dog"; the plan's handle for it
    name: str
    parent_id: int | None  # an existing keyword (root id for top level) …
    parent_path: str | None  # … or a keyword created earlier in this plan
    keyword_type: str | None = None  # 'person': a Lightroom person keyword (People view; catalog/write/people.py)


@dataclass
class Link:
    image_id: int
    keyword_id: int | None  # an existing keyword …
    keyword_path: str  # … or the path of a NewKeyword (also shown for existing ones)


@dataclass
class FieldChange:
    image_id: int
    field: str  # caption | rating | label | pick
    old: Any
    new: Any


@dataclass
class WritePlan:
    catalog: str
    version: str
    counter: int  # Adobe_entityIDCounter when planned
    options: dict[str, Any]
    new_keywords: list[NewKeyword] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    fields: list[FieldChange] = field(default_factory=list)
    reused: dict[str, str] = field(default_factory=dict)  # AI path → existing keyword path
    unmatched: list[str] = field(default_factory=list)  # changes whose photo is not in the catalog
    photos: int = 0  # photos with at least one change
    warnings: list[str] = field(default_factory=list)  # e.g. an unknown newer catalog version

    @property
    def empty(self) -> bool:
        return not (self.new_keywords or self.links or self.fields)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WritePlan:
        return cls(
            catalog=d["catalog"], version=d["version"], counter=int(d["counter"]), options=dict(d["options"]),
            new_keywords=[NewKeyword(**k) for k in d.get("new_keywords", [])],
            links=[Link(**k) for k in d.get("links", [])],
            fields=[FieldChange(**k) for k in d.get("fields", [])],
            reused=dict(d.get("reused", {})), unmatched=list(d.get("unmatched", [])), photos=int(d.get("photos", 0)),
            warnings=[str(w) for w in d.get("warnings", [])],
        )  # fmt: skip

    def summary(self, limit: int = 20) -> str:
        by_field: dict[str, int] = {}
        for f in self.fields:
            by_field[f.field] = by_field.get(f.field, 0) + 1
        lines = [
            f"Plan for {self.catalog} ({self.version}): {self.photos} photo(s) change",
            f"  new keywords: {len(self.new_keywords)}",
            *(f"    + {k.path}" for k in self.new_keywords[:limit]),
            f"  keyword links: {len(self.links)}",
            *(f"    = {ai} → existing {kw}" for ai, kw in list(self.reused.items())[:limit]),
            *(f"  {name}: {n}" for name, n in sorted(by_field.items())),
        ]
        if self.unmatched:
            lines.append(f"  not in the catalog: {len(self.unmatched)} ({', '.join(self.unmatched[:5])}…)")
        if self.empty:
            lines.append("  nothing to change")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    __str__ = summary


@dataclass
class ApplyReport:
    catalog: str
    backup: str | None
    keywords_created: int = 0
    links_created: int = 0
    fields_changed: int = 0
    photos_touched: int = 0
    ids: tuple[int, int] | None = None  # first id handed out, next free value written back
    integrity: str = "not run"
    wal_checkpointed: bool = False
    seconds: float = 0.0
    record: str | None = None  # the write record `catalog unwrite` uses (catalog/write/record.py)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
