"""People across the index: faces clustered into persons, named from the CLI or from a catalog's person
keywords, and shown in the payload (`persons`, filtered by `--where person=NAME`).

`update(engine)` is incremental: faces already placed keep their person; new faces join the person of
their nearest placed face when close enough, the rest are clustered among themselves
(`bridge.analyses.people.assign`). A content whose faces were analysed again (another `faces` version)
is placed again. Names live in the ledger's `people` table (`bridge.state.people`); each content's named
people are stored as its `people` analysis and copied into its payload, so search filters on them without
reading the ledger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.analyses.kinds import payload_fields
from bridge.analyses.people import PEOPLE_VERSION, FaceRef, assign
from bridge.indexing.payload import point_id
from bridge.records import Stage
from bridge.state.people import People
from bridge.state.rows import AnalysisResult

if TYPE_CHECKING:
    from bridge.engine import Engine


@dataclass
class PeopleReport:
    faces: int = 0  # faces in the index
    joined: int = 0  # new faces that joined an existing person
    new_people: int = 0
    unassigned: int = 0  # faces in no person yet (seen once)
    payloads: int = 0  # contents whose `persons` changed
    named: dict[int, str] = field(default_factory=dict)  # from-catalog: person id → name
    notes: list[str] = field(default_factory=list)


def live_faces(engine: Engine) -> tuple[dict[FaceRef, list[float]], dict[str, str]]:
    """Every face of live content with its embedding, and each content's `faces` version."""
    faces: dict[FaceRef, list[float]] = {}
    versions: dict[str, str] = {}
    for fp, version, data in engine.ledger.iter_analyses(Stage.FACES):
        versions[fp] = version
        for i, f in enumerate(data.get("faces") or []):
            if f.get("embedding"):
                faces[(fp, i)] = f["embedding"]
    return faces, versions


def update(engine: Engine) -> PeopleReport:
    """Place every face not yet in a person; new people for clusters of faces seen at least twice."""
    people = People(engine.ledger)
    faces, versions = live_faces(engine)
    report = PeopleReport(faces=len(faces))
    before = people.names_for()
    stale = people.forget_stale(versions)
    placed = people.placed()
    known = {ref: (pid, faces[ref]) for ref, (pid, _) in placed.items() if pid is not None and ref in faces}
    new = {ref: emb for ref, emb in faces.items() if placed.get(ref, (None, ""))[0] is None}
    result = assign(known, new, max_distance=engine.settings.people_max_distance, min_faces=2)
    people.record(result.joined, result.new_people, result.unassigned, versions)
    report.joined, report.new_people, report.unassigned = (
        len(result.joined),
        len(result.new_people),
        len(result.unassigned),
    )
    touched = stale | {fp for fp, _ in result.joined} | set(before)
    report.payloads = refresh(engine, people, touched, before)
    return report


def name(engine: Engine, pid: int, new_name: str, source: str = "cli") -> int:
    people = People(engine.ledger)
    before = people.names_for()
    people.name(pid, new_name, source)
    return refresh(engine, people, people.fingerprints_of([pid]), before)


def merge(engine: Engine, into: int, others: list[int]) -> int:
    people = People(engine.ledger)
    before = people.names_for()
    fps = people.fingerprints_of([into, *others])
    people.merge(into, others)
    refresh(engine, people, fps, before)
    return len(people.faces_of(into))


def refresh(engine: Engine, people: People, fingerprints: Iterable[str], before: dict[str, list[str]]) -> int:
    """Store each content's named people (`people` analysis) and show them in its payload when they changed."""
    fps = set(fingerprints)
    now = people.names_for(fps)
    changed = [fp for fp in sorted(fps) if now.get(fp, []) != before.get(fp, [])]
    if not changed:
        return 0
    results = [
        AnalysisResult(fp, Stage.PEOPLE, PEOPLE_VERSION, {"names": now.get(fp, [])}) for fp in changed
    ]
    engine.ledger.commit_batch(analyses=results)
    model_id = engine.model_id
    points = engine.ledger.stage_points(Stage.EMBED, model_id)
    if any(fp in points for fp in changed):
        store = engine.store()
        for r in results:
            if r.fingerprint in points:
                store.set_payload([point_id(r.fingerprint, model_id)], payload_fields({Stage.PEOPLE: r.data}))
    return len(changed)


def photos_of(engine: Engine, pid: int) -> list[str]:
    fps = {fp for fp, _ in People(engine.ledger).faces_of(pid)}
    paths = engine.ledger.paths_for(fps)
    return sorted(p for ps in paths.values() for p in ps)


def person_keywords(catalog: Path) -> dict[str, dict[str, Any]]:
    """The catalog's person keywords (`keywordType = 'person'`): name → {"path": full path, "photos": [paths
    as the index spells them]}. Lightroom writes these when a face is named in its People view."""
    from bridge.indexing.scan import normalize_root
    from catalog.reader import open_catalog

    out: dict[str, dict[str, Any]] = {}
    with open_catalog(catalog) as cat:
        tree = cat.keyword_tree()
        persons = {k.full_path: k for k in tree.by_id.values() if k.keyword_type == "person"}
        for k in persons.values():
            out.setdefault(k.name, {"path": k.full_path, "photos": []})
        for photo in cat.photos():
            for kw in photo.keywords:
                if kw in persons:
                    out[persons[kw].name]["photos"].append(normalize_root(str(photo.pure_path)))
    return out


def from_catalog(engine: Engine, catalog: Path) -> PeopleReport:
    """Name unnamed people after the catalog's person keywords: a keyword names the person whose faces
    are in most of the photos it is on (photos with one face count twice: the keyword can only mean that
    face). A person already named, or a vote without a clear winner, is left alone and noted."""
    report = update(engine)
    people = People(engine.ledger)
    placed = people.placed()
    by_fp: dict[str, list[int]] = {}
    for (fp, _), (pid, _) in placed.items():
        if pid is not None:
            by_fp.setdefault(fp, []).append(pid)
    names = {p.id: p.name for p in people.people()}
    for kw_name, info in sorted(person_keywords(catalog).items()):
        fps = engine.ledger.fingerprints_for(info["photos"])
        votes: Counter[int] = Counter()
        for fp in set(fps.values()):
            pids = by_fp.get(fp, [])
            for pid in pids:
                votes[pid] += 2 if len(pids) == 1 else 1
        if not votes:
            report.notes.append(f"{kw_name}: none of its {len(info['photos'])} photo(s) has a face in the index")
            continue
        ranked = votes.most_common(2)
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            report.notes.append(f"{kw_name}: its photos show several people equally often; name one by hand")
            continue
        pid = ranked[0][0]
        if names.get(pid) and names[pid] != kw_name:
            report.notes.append(f"{kw_name}: person {pid} is already named {names[pid]!r}; left as it is")
            continue
        if names.get(pid) == kw_name:
            continue
        name(engine, pid, kw_name, source="catalog")
        names[pid] = kw_name
        report.named[pid] = kw_name
    return report


def catalog_names(engine: Engine, catalog: Path) -> dict[str, list[str]]:
    """{photo path as the catalog spells it: names of the named people the index sees in it}."""
    from bridge.indexing.scan import normalize_root
    from catalog.reader import open_catalog

    with open_catalog(catalog) as cat:
        spelled = {normalize_root(str(p.pure_path)): p.path for p in cat.photos() if not p.is_virtual_copy}
    fps = engine.ledger.fingerprints_for(spelled)
    names = People(engine.ledger).names_for(set(fps.values()))
    return {spelled[path]: names[fp] for path, fp in sorted(fps.items()) if names.get(fp)}
