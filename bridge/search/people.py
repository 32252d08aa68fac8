"""People across the index: faces clustered into persons, named from the CLI or from a catalog's person
keywords, and shown in the payload (`persons`, filtered by `--where person=NAME`).

`update(engine)` is incremental (`bridge/indexing/people.py`, which the indexer also runs after a run that
analysed faces, once people are in use): faces already placed keep their person; new faces join the person
of their nearest placed face when close enough, the rest are clustered among themselves
(`bridge.analyses.people.assign`). A content whose faces were analysed again (another `faces` version)
is placed again. Names live in the ledger's `people` table (`bridge.state.people`); each content's named
people are stored as its `people` analysis and copied into its payload, so search filters on them without
reading the ledger.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.indexing.people import PeopleReport, Target, refresh
from bridge.indexing.people import update as update_people
from bridge.state.people import People

if TYPE_CHECKING:
    from bridge.engine import Engine


def target(engine: Engine) -> Target:
    return Target(engine.model_id, engine.store)


def update(engine: Engine) -> PeopleReport:
    """Place every face not yet in a person; new people for clusters of faces seen at least twice."""
    return update_people(engine.ledger, target(engine), engine.settings.people_max_distance)


def name(engine: Engine, pid: int, new_name: str, source: str = "cli") -> int:
    people = People(engine.ledger)
    before = people.names_for()
    people.name(pid, new_name, source)
    return refresh(engine.ledger, target(engine), people, people.fingerprints_of([pid]), before)


def merge(engine: Engine, into: int, others: list[int]) -> int:
    people = People(engine.ledger)
    before = people.names_for()
    fps = people.fingerprints_of([into, *others])
    people.merge(into, others)
    refresh(engine.ledger, target(engine), people, fps, before)
    return len(people.faces_of(into))


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
