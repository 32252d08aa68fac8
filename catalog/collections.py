"""Collections: AgLibraryCollection (+ AgLibraryCollectionImage for members). `systemOnly` and
`positionInCollection` are read when present (missing: not system-only; members in id order).

Kinds (`creationId`): com.adobe.ag.library.collection (plain), .group (collection set), .smart_collection
(members are a query stored elsewhere, so `image_ids` is empty: we do not evaluate smart rules).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from catalog.schema import Probe

TABLES: dict[str, tuple[str, ...]] = {
    "AgLibraryCollection": ("id_local", "name", "parent", "creationId"),
    "AgLibraryCollectionImage": ("id_local", "collection", "image"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "AgLibraryCollection": ("systemOnly",),
    "AgLibraryCollectionImage": ("positionInCollection",),
}


@dataclass(frozen=True)
class Collection:
    id: int
    name: str
    kind: str  # creationId
    parent_id: int | None
    system_only: bool  # e.g. the Quick Collection
    image_ids: tuple[int, ...] = ()

    @property
    def is_smart(self) -> bool:
        return self.kind.endswith("smart_collection")

    @property
    def is_group(self) -> bool:
        return self.kind.endswith(".group")


def read_collections(conn: sqlite3.Connection, schema: Probe) -> list[Collection]:
    schema.require(TABLES, "reading collections")
    position = schema.pick("AgLibraryCollectionImage", OPTIONAL["AgLibraryCollectionImage"])
    members: dict[int, list[int]] = defaultdict(list)
    for coll, image in conn.execute(
        f"SELECT collection, image FROM AgLibraryCollectionImage ORDER BY collection, {position}, id_local"
    ):
        if coll is not None and image is not None:
            members[int(coll)].append(int(image))
    system_only = schema.pick("AgLibraryCollection", OPTIONAL["AgLibraryCollection"])
    out = []
    for id_local, name, parent, kind, system in conn.execute(
        f"SELECT id_local, name, parent, creationId, {system_only} FROM AgLibraryCollection ORDER BY id_local"
    ):
        out.append(
            Collection(
                id=int(id_local),
                name=name or "",
                kind=kind or "",
                parent_id=None if parent is None else int(parent),
                system_only=bool(float(system)) if system not in (None, "") else False,
                image_ids=tuple(members.get(int(id_local), ())),
            )
        )
    return out
