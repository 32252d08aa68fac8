"""The VectorStore contract, run against both backends: Qdrant Edge (a shard in a temp dir) and
qdrant-client's local mode (what stands in for a Qdrant server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bridge.search.where import parse_where
from bridge.store import Condition, Filter, Point, StoreError, collection_name, open_store

DIM = 8


def pid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def vec(i: int, noise: float = 0.0) -> np.ndarray:
    """A unit vector mostly along axis i: distinct photos are near-orthogonal."""
    v = np.full(DIM, 0.05, dtype=np.float32)
    v[i % DIM] = 1.0
    v[(i + 1) % DIM] += noise
    return v / np.linalg.norm(v)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


PHOTOS = {
    "wedding": dict(
        path="/photos/2024/Wedding/IMG_0001.CR3",
        camera="Canon EOS 600D",
        camera_make="Canon",
        camera_model="Canon EOS 600D",
        lens="EF 50mm f/1.8 STM",
        rating=5,
        label="Red",
        keywords=["Wedding", "Bride"],
        keyword_paths=["Events|Wedding"],
        iso=400,
        focal_length=50.0,
        aperture=1.8,
        captured_ts=ts("2024-05-01T14:30:00"),
        width=5184,
        height=3456,
        fingerprint="fp-wedding",
    ),
    "party": dict(
        path="/photos/2024/party/DSC_0002.NEF",
        camera="NIKON CORPORATION NIKON D750",
        lens="AF-S 24-70mm f/2.8",
        rating=3,
        label="Green",
        keywords=["Party"],
        iso=3200,
        focal_length=35.0,
        aperture=2.8,
        captured_ts=ts("2024-05-02T22:00:00"),
        width=6016,
        height=4016,
        fingerprint="fp-party",
    ),
    "beach": dict(
        path="/photos/2023/beach/IMG_0003.JPG",
        camera="Canon EOS R5",
        lens="RF 24-105mm F4 L IS USM",
        rating=4,
        keywords=["beach", "Summer"],
        iso=100,
        focal_length=24.0,
        aperture=8.0,
        captured_ts=ts("2023-07-15T10:00:00"),
        width=8192,
        height=5464,
        fingerprint="fp-beach",
    ),
    "dog": dict(
        path="/archive/misc/dog.heic",
        camera="Apple iPhone 13 Pro",
        rating=1,
        keywords=[],
        iso=50,
        focal_length=5.7,
        aperture=1.5,
        captured_ts=ts("2022-01-03T08:00:00"),
        width=4032,
        height=3024,
        fingerprint="fp-dog",
    ),
    "scan": dict(path="/photos/2024/scans/old.tif", fingerprint="fp-scan"),  # no EXIF at all
}
NAMES = list(PHOTOS)


@pytest.fixture(params=["edge", "qdrant"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "edge":
        s = open_store("edge", collection="pd_v1_test", dim=DIM, path=tmp_path / "store")
    else:
        s = open_store("qdrant", collection="pd_v1_test", dim=DIM, path=tmp_path / "qdrant-local")
    yield s
    s.close()


@pytest.fixture
def photos(store):
    store.upsert([Point(pid(n), vec(i), PHOTOS[n]) for i, n in enumerate(NAMES)])
    return store


def names(ids) -> set[str]:
    by_id = {pid(n): n for n in NAMES}
    return {by_id[i] for i in ids}


def test_upsert_is_idempotent_by_id(store):
    store.upsert([Point(pid("a"), vec(0), {"rating": 1})])
    store.upsert([Point(pid("a"), vec(0), {"rating": 2})])
    assert store.count() == 1
    assert store.retrieve([pid("a")])[0][1]["rating"] == 2  # the second write replaced the payload


def test_upsert_derives_filter_fields(photos):
    _, payload, _ = photos.retrieve([pid("wedding")])[0]
    assert payload["keywords_lc"] == ["bride", "wedding"]
    assert payload["folders"] == ["/photos/2024/wedding", "/photos/2024", "/photos", "/"]
    assert payload["ext"] == "cr3"


def test_set_payload_merges_and_skips_unknown_ids(photos):
    photos.set_payload([pid("party"), pid("nobody")], {"rating": 5, "title": "Dance"})
    _, payload, _ = photos.retrieve([pid("party")])[0]
    assert payload["rating"] == 5 and payload["title"] == "Dance"
    assert payload["camera"] == PHOTOS["party"]["camera"]  # untouched keys stay
    assert photos.count() == len(NAMES)  # the unknown id was not created
    photos.set_payload([pid("party")], {"keywords": ["DANCE"]})
    assert photos.count(parse_where("keyword=dance")) == 1  # derived fields follow set_payload too


def test_delete(photos):
    photos.delete([pid("dog"), pid("nobody")])
    assert photos.count() == len(NAMES) - 1
    assert photos.retrieve([pid("dog")]) == []


def test_search_orders_by_cosine(photos):
    hits = photos.search(vec(2), limit=3)
    assert hits[0].id == pid("beach")
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(hits) == 3
    assert hits[0].payload["camera"] == "Canon EOS R5"


def test_search_min_score(photos):
    near = vec(2, noise=0.3)  # close to beach, far from the rest
    hits = photos.search(near, min_score=0.9)
    assert [h.id for h in hits] == [pid("beach")]
    assert photos.search(near, min_score=0.999999) == []


WHERE_CASES = [
    ("rating>=3", {"wedding", "party", "beach"}),
    ("rating>3", {"wedding", "beach"}),
    ("rating<=3", {"party", "dog"}),
    ("rating<3", {"dog"}),
    ("rating=4", {"beach"}),
    ("rating!=4", {"wedding", "party", "dog", "scan"}),  # no rating counts as "not 4"
    ("camera=canon", {"wedding", "beach"}),
    ("camera='EOS 600D'", {"wedding"}),
    ("camera!=canon", {"party", "dog", "scan"}),
    ("make=CANON", {"wedding"}),
    ("body=600d", {"wedding"}),
    ("lens='EF 50mm'", {"wedding"}),
    ("date=2024", {"wedding", "party"}),
    ("date=2024-05-01", {"wedding"}),
    ("date>=2024-05-02", {"party"}),
    ("date>2023", {"wedding", "party"}),
    ("date<2023-07-15T10:00:00", {"dog"}),
    ("date<=2023-07", {"beach", "dog"}),
    ("keyword=wedding", {"wedding"}),
    ("keyword=SUMMER", {"beach"}),
    ("keyword=party,beach", {"party", "beach"}),
    ("label=red", {"wedding"}),
    ("label!=Red", {"party", "beach", "dog", "scan"}),
    ("label=red,green", {"wedding", "party"}),
    ("folder=/photos/2024", {"wedding", "party", "scan"}),
    ("folder=/Photos", {"wedding", "party", "beach", "scan"}),
    ("folder!=/photos/2024", {"beach", "dog"}),
    ("path=/archive", {"dog"}),
    ("ext=cr3", {"wedding"}),
    ("ext=.JPG,heic", {"beach", "dog"}),
    ("iso<=400", {"wedding", "beach", "dog"}),
    ("iso>400", {"party"}),
    ("focal=50mm", {"wedding"}),
    ("focal>=24 focal<50", {"party", "beach"}),
    ("f<=f/2.8", {"wedding", "party", "dog"}),
    ("aperture=1.8", {"wedding"}),
    ("width>=6000", {"party", "beach"}),
    ("height<3500", {"wedding", "dog"}),
    ("rating>=3 camera=canon date>=2024-01-01 keyword=Wedding label=Red iso<=800", {"wedding"}),
    ("", set(NAMES)),
]


@pytest.mark.parametrize(("where", "expected"), WHERE_CASES, ids=[w or "empty" for w, _ in WHERE_CASES])
def test_where_filters(photos, where: str, expected: set[str]):
    flt = parse_where(where)
    assert photos.count(flt) == len(expected)
    assert names(h.id for h in photos.search(vec(0), limit=20, where=flt)) == expected


SPEC_CASES = [
    (Condition("aperture", "gt", 2.8), {"beach"}),
    (Condition("aperture", "lt", 1.8), {"dog"}),
    (Condition("aperture", "ne", 2.8), {"wedding", "beach", "dog", "scan"}),
    (Condition("focal_length", "any", [24.0, 50.0]), {"wedding", "beach"}),
    (Condition("rating", "any", [1, 5]), {"wedding", "dog"}),
    (Condition("iso", "eq", 100), {"beach"}),
    (Condition("camera", "text", "iphone"), {"dog"}),
    (Condition("camera_model", "eq", "eos 600d"), {"wedding"}),  # eq on a text field is a text match
    (Condition("keywords", "eq", "Wedding"), {"wedding"}),  # exact, case-sensitive
    (Condition("keywords", "eq", "wedding"), set()),
    (Condition("keyword_paths", "eq", "Events|Wedding"), {"wedding"}),
    (Condition("fingerprint", "any", ["fp-dog", "fp-scan"]), {"dog", "scan"}),
    (Condition("path", "eq", "/photos/2023/beach/IMG_0003.JPG"), {"beach"}),
    (Condition("captured_ts", "gte", ts("2024-01-01T00:00:00")), {"wedding", "party"}),
    (Condition("title", "eq", "none"), set()),  # an unindexed field is still filterable
]


@pytest.mark.parametrize(("cond", "expected"), SPEC_CASES, ids=[f"{c.field}-{c.op}" for c, _ in SPEC_CASES])
def test_filter_spec_ops(photos, cond: Condition, expected: set[str]):
    flt = Filter.of(cond)
    assert photos.count(flt) == len(expected)
    assert names(h.id for h in photos.search(vec(0), where=flt)) == expected


def test_filters_combine_with_and(photos):
    both = Filter.of(Condition("rating", "gte", 3)) & Filter.of(Condition("camera", "text", "canon"))
    assert photos.count(both) == 2


def test_search_with_a_filter_still_ranks(photos):
    hits = photos.search(vec(0), where=parse_where("rating>=3"))
    assert hits[0].id == pid("wedding") and hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_retrieve_with_vectors_in_order_asked(photos):
    got = photos.retrieve([pid("beach"), pid("nobody"), pid("wedding")], with_vectors=True)
    assert [g[0] for g in got] == [pid("beach"), pid("wedding")]
    assert np.allclose(got[0][2], vec(2), atol=1e-5)
    assert got[1][1]["label"] == "Red"
    assert all(v is None for _, _, v in photos.retrieve([pid("beach")]))


def test_scroll_yields_every_point(photos):
    seen = list(photos.scroll(batch=2, with_vectors=True))
    assert names(i for i, _, _ in seen) == set(NAMES)
    assert len(seen) == len(NAMES)
    assert all(v is not None and v.shape == (DIM,) for _, _, v in seen)


def test_count(photos):
    assert photos.count() == len(NAMES)
    assert photos.count(Filter()) == len(NAMES)
    assert photos.count(parse_where("rating>=4")) == 2


def test_bad_input_is_a_store_error(store):
    with pytest.raises(StoreError, match="has 3 numbers"):
        store.upsert([Point(pid("a"), [1.0, 0.0, 0.0], {})])
    with pytest.raises(StoreError, match="NaN"):
        store.upsert([Point(pid("a"), [float("nan")] * DIM, {})])
    with pytest.raises(StoreError, match="not a UUID"):
        store.upsert([Point("photo-1", vec(0), {})])
    with pytest.raises(StoreError, match="query vector"):
        store.search([1.0, 2.0])
    with pytest.raises(StoreError, match="cannot be compared"):
        store.count(Filter.of(Condition("label", "gte", 3)))
    assert store.count() == 0


def test_closed_store_says_so(store):
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count()
    store.close()  # closing twice is fine


def test_collection_name():
    assert collection_name("ViT-B-32/laion2b_s34b_b79k", 1) == "pd_v1_vit-b-32__laion2b_s34b_b79k"
    odd = collection_name("hf-hub:timm/ViT-SO400M-14-SigLIP", 2)
    assert odd.startswith("pd_v2_hf-hub-timm__vit-so400m-14-siglip_") and len(odd) == len("pd_v2_") + 33 + 9
    assert collection_name("a:b", 1) != collection_name("a-b", 1)  # lossy names get a hash
    assert len(collection_name("x" * 300, 1)) <= 100
    with pytest.raises(ValueError):
        collection_name(" ", 1)
