"""Faces grouped into people: incremental clustering of dlib's 128-d face embeddings. Pure code over arrays.

`assign(known, new, max_distance, min_faces)`:
1. Each new face joins the existing person owning its nearest already-assigned face, when that face is
   closer than `max_distance` (Euclidean) — nearest member, not centroid, so a person seen in several
   lights and ages keeps growing along its chain of faces.
2. The faces left over are clustered among themselves with dlib's Chinese Whispers (a graph clustering:
   an edge joins two faces closer than `max_distance`; no cluster count to choose). A cluster of at
   least `min_faces` becomes a new person; smaller ones stay unassigned and are clustered again with the
   faces that arrive next time.

Distances: dlib's model puts two photos of one person closer than ~0.6 (its LFW operating point). On the
shared test faces (three people, each under crops, exposure changes, an 8° rotation, a mirror and a
downscale) the same person measured at most 0.32 apart and two different people (two old black-and-white
portraits) 0.50, so the default `people_max_distance` is 0.45: better two clusters of one person, which
`people merge` joins, than one cluster of two people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PEOPLE_VERSION = "p1"
FaceRef = tuple[str, int]  # (content fingerprint, index of the face in its `faces` result)


@dataclass(frozen=True, slots=True)
class Assignment:
    joined: dict[FaceRef, int]  # face → existing person id
    new_people: list[list[FaceRef]]  # faces of each new person
    unassigned: list[FaceRef]


def assign(
    known: Mapping[FaceRef, tuple[int, Sequence[float]]],
    new: Mapping[FaceRef, Sequence[float]],
    *,
    max_distance: float = 0.45,
    min_faces: int = 2,
) -> Assignment:
    """`known`: assigned faces → (person id, embedding); `new`: faces to place → embedding."""
    refs = list(new)
    if not refs:
        return Assignment({}, [], [])
    vecs = np.asarray([new[r] for r in refs], dtype=np.float64)
    joined: dict[FaceRef, int] = {}
    rest: list[int] = list(range(len(refs)))
    if known:
        kref = list(known)
        kvec = np.asarray([known[r][1] for r in kref], dtype=np.float64)
        kpid = [known[r][0] for r in kref]
        rest = []
        for i, chunk in _chunks(len(refs), 2048):
            d = _distances(vecs[i:chunk], kvec)
            best = d.argmin(axis=1)
            for j, b in enumerate(best):
                if d[j, b] < max_distance:
                    joined[refs[i + j]] = kpid[b]
                else:
                    rest.append(i + j)
    labels = cluster(vecs[rest], max_distance) if rest else []
    groups: dict[int, list[FaceRef]] = {}
    for idx, lab in zip(rest, labels, strict=True):
        groups.setdefault(lab, []).append(refs[idx])
    new_people = [g for g in groups.values() if len(g) >= min_faces]
    unassigned = [r for g in groups.values() if len(g) < min_faces for r in g]
    new_people.sort(key=lambda g: (-len(g), g[0]))
    return Assignment(joined, new_people, sorted(unassigned))


def cluster(vectors: np.ndarray, max_distance: float) -> list[int]:
    """Chinese Whispers labels (dlib) of face embeddings; faces closer than `max_distance` are linked."""
    if len(vectors) == 0:
        return []
    if len(vectors) == 1:
        return [0]
    from bridge.analyses.faces import load_dlib

    dlib = load_dlib()
    descriptors = [dlib.vector(v.tolist()) for v in np.asarray(vectors, dtype=np.float64)]
    return [int(x) for x in dlib.chinese_whispers_clustering(descriptors, float(max_distance))]


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(i, min(n, i + size)) for i in range(0, n, size)]
