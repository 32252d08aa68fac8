"""Clustering faces into people on real face embeddings: three people of ../shared/data, each under a crop,
an exposure change, an 8° rotation and a mirror image; then incremental placement of new faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bridge.analyses import faces
from bridge.analyses.people import assign, cluster
from bridge.indexing.decode import decode_image

pytestmark = pytest.mark.skipif(not faces.available(), reason="the faces extra (dlib) is not installed")

SOURCES = {
    "astro": "png/photo_portrait_astronaut.png",
    "curie": "jpeg/immich_portrait-orientation-6.jpg",
    "dudley": "tiff/DudleyLeavittUtah.tiff",
}


@pytest.fixture(scope="module")
def embeddings(shared_data) -> dict[tuple[str, int], list[float]]:
    """(photo name, face index) → embedding, for five variants of each person's photo."""
    out: dict[tuple[str, int], list[float]] = {}
    for who, rel in SOURCES.items():
        img = decode_image(shared_data / rel).pixels
        h, w = img.shape[:2]
        rot = cv2.warpAffine(img, cv2.getRotationMatrix2D((w / 2, h / 2), 8, 1.0), (w, h), borderMode=cv2.BORDER_REFLECT)
        for name, v in {
            "orig": img,
            "crop": img[int(h * 0.05) : int(h * 0.85), int(w * 0.1) : int(w * 0.9)],
            "dark": (img * 0.55).astype(np.uint8),
            "rot8": rot,
            "flip": img[:, ::-1],
        }.items():
            for i, f in enumerate(faces.analyse(np.ascontiguousarray(v)).faces):
                out[(f"{who}_{name}", i)] = list(f.embedding)
    return out


def test_every_variant_of_a_person_is_one_cluster_and_people_stay_apart(embeddings):
    assert len(embeddings) == 15  # one face in each of the 15 photos (no false faces)
    result = assign({}, embeddings)
    assert result.joined == {} and result.unassigned == []
    groups = sorted(sorted({fp.split("_")[0] for fp, _ in g}) for g in result.new_people)
    assert groups == [["astro"], ["curie"], ["dudley"]]
    assert all(len(g) == 5 for g in result.new_people)


def test_new_faces_join_their_person_and_a_lone_stranger_waits(embeddings):
    first = {ref: e for ref, e in embeddings.items() if not ref[0].endswith("flip")}
    placed = assign({}, first)
    known = {ref: (pid, first[ref]) for pid, g in enumerate(placed.new_people, start=1) for ref in g}
    later = {ref: e for ref, e in embeddings.items() if ref[0].endswith("flip")}
    stranger = list(np.random.default_rng(0).normal(0, 0.09, 128))  # far from every face
    later[("stranger", 0)] = stranger
    nxt = assign(known, later)
    assert nxt.new_people == [] and nxt.unassigned == [("stranger", 0)]
    for (name, _), pid in nxt.joined.items():
        who = name.split("_")[0]
        assert {r[0].split("_")[0] for r, (p, _) in known.items() if p == pid} == {who}


def test_chinese_whispers_edges():
    assert cluster(np.zeros((0, 128)), 0.45) == []
    assert cluster(np.zeros((1, 128)), 0.45) == [0]
    a, b = np.zeros(128), np.zeros(128)
    b[0] = 1.0
    labels = cluster(np.stack([a, a + 0.01, b, b + 0.01]), 0.45)
    assert labels[0] == labels[1] != labels[2] == labels[3]
