"""Faces into people at the ledger and store level: the incremental pass `pixel-detective people` runs, and
the indexer runs after each run that analysed faces once people are in use (the `people` table exists), so
a new photo of a named person carries the name at once (`bridge/search/people.py` wraps this for commands).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bridge.analyses.kinds import payload_fields
from bridge.analyses.people import PEOPLE_VERSION, FaceRef, assign
from bridge.indexing.context import RunContext
from bridge.indexing.payload import point_id
from bridge.records import Stage
from bridge.state.ledger import Ledger
from bridge.state.people import People
from bridge.state.rows import AnalysisResult
from bridge.store.base import VectorStore


@dataclass
class PeopleReport:
    faces: int = 0  # faces in the index
    joined: int = 0  # new faces that joined an existing person
    new_people: int = 0
    unassigned: int = 0  # faces in no person yet (seen once)
    payloads: int = 0  # contents whose `persons` changed
    named: dict[int, str] = field(default_factory=dict)  # from-catalog: person id → name
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Target:
    """Where `persons` payloads go: the model whose points show them, and its store (opened on demand)."""

    model_id: str
    store: Callable[[], VectorStore]


def in_use(ledger: Ledger) -> bool:
    """Whether people have been clustered in this index before (its `people` table exists)."""
    row = ledger.db.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'people'")
    return row.fetchone() is not None


def live_faces(ledger: Ledger) -> tuple[dict[FaceRef, list[float]], dict[str, str]]:
    """Every face of live content with its embedding, and each content's `faces` version."""
    faces: dict[FaceRef, list[float]] = {}
    versions: dict[str, str] = {}
    for fp, version, data in ledger.iter_analyses(Stage.FACES):
        versions[fp] = version
        for i, f in enumerate(data.get("faces") or []):
            if f.get("embedding"):
                faces[(fp, i)] = f["embedding"]
    return faces, versions


# One placement pass at a time in this process: the indexer's pass after a run and the tray's People view
# (or a command run by the owner) would otherwise both cluster the same new faces into two people each.
_UPDATE = threading.Lock()


def update(ledger: Ledger, target: Target | None, max_distance: float) -> PeopleReport:
    """Place every face not yet in a person; new people for clusters of faces seen at least twice."""
    with _UPDATE:
        return _update(ledger, target, max_distance)


def _update(ledger: Ledger, target: Target | None, max_distance: float) -> PeopleReport:
    people = People(ledger)
    faces, versions = live_faces(ledger)
    report = PeopleReport(faces=len(faces))
    before = people.names_for()
    stale = people.forget_stale(versions)
    placed = people.placed()
    known = {ref: (pid, faces[ref]) for ref, (pid, _) in placed.items() if pid is not None and ref in faces}
    new = {ref: emb for ref, emb in faces.items() if placed.get(ref, (None, ""))[0] is None}
    result = assign(known, new, max_distance=max_distance, min_faces=2)
    people.record(result.joined, result.new_people, result.unassigned, versions)
    report.joined, report.new_people = len(result.joined), len(result.new_people)
    report.unassigned = len(result.unassigned)
    touched = stale | {fp for fp, _ in result.joined} | set(before)
    report.payloads = refresh(ledger, target, people, touched, before)
    return report


def refresh(
    ledger: Ledger,
    target: Target | None,
    people: People,
    fingerprints: Iterable[str],
    before: dict[str, list[str]],
) -> int:
    """Store each content's named people (`people` analysis) and show them in its payload when they changed."""
    fps = set(fingerprints)
    now = people.names_for(fps)
    changed = [fp for fp in sorted(fps) if now.get(fp, []) != before.get(fp, [])]
    if not changed:
        return 0
    results = [AnalysisResult(fp, Stage.PEOPLE, PEOPLE_VERSION, {"names": now.get(fp, [])}) for fp in changed]
    ledger.commit_batch(analyses=results)
    if target is not None:
        points = ledger.stage_points(Stage.EMBED, target.model_id)
        if any(fp in points for fp in changed):
            store = target.store()
            for r in results:
                if r.fingerprint in points:
                    fields = payload_fields({Stage.PEOPLE: r.data})
                    store.set_payload([point_id(r.fingerprint, target.model_id)], fields)
    return len(changed)


def after_run(ctx: RunContext) -> PeopleReport | None:
    """The indexer's incremental pass: only in an index where people were clustered before."""
    if not in_use(ctx.ledger):
        return None
    vec = ctx.vectors
    target = None
    if vec is not None:
        store, model_id = vec[1], vec[2]
        target = Target(model_id, lambda: store)
    return update(ctx.ledger, target, ctx.settings.people_max_distance)
