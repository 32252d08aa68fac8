"""Zero-shot keywording with the real tiny CLIP text encoder (loaded through the real import/load path).

The tiny model has random weights, so its text vectors carry no meaning and are strongly correlated (~0.9:
every prompt shares "a photo of ..."). A naive photo like normalise(v_dog + 0.5 v_beach) would then sit close
to every term. Instead each test photo is built in the dual basis of the term vectors: the combination
x = Tᵀ G⁻¹ s (G = T Tᵀ) has cosine exactly proportional to the chosen profile s with every term, so the
expected keywords and their scores are known in advance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bridge.analyses.keywording import (
    KEYWORDS_VERSION,
    TEXT_BATCH,
    KeywordAssigner,
    KeywordHit,
    KeywordOptions,
)
from bridge.analyses.vocabulary import Vocabulary, build_vocabulary, terms_from_keyword_tree
from bridge.models.clip import Embedder
from catalog.keywords import Keyword, KeywordTree
from tests.model_factory import TINY_MODEL_ID

SCALE = 0.25  # cosines are SCALE x the profile: small, as raw CLIP cosines are
LABELS = ["Dog", "Beach", "Cat", "Car", "Mountain", "Snow", "Pizza", "Church", "Sunset", "Wedding"]


class CountingEncoder:
    """The real Embedder.encode_text, counting calls and prompts (to see cache hits)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.calls = 0
        self.prompts = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.prompts += len(texts)
        return self.embedder.encode_text(texts)


@pytest.fixture(scope="module")
def embedder(tiny_models_dir: Path) -> Embedder:
    return Embedder(TINY_MODEL_ID, tiny_models_dir, device="cpu")


@pytest.fixture
def encoder(embedder: Embedder) -> CountingEncoder:
    return CountingEncoder(embedder)


@pytest.fixture(scope="module")
def small_vocab() -> Vocabulary:
    vocab = build_vocabulary(allow=LABELS)
    assert sorted(t.label for t in vocab.terms) == sorted(LABELS)
    return vocab


def photo(
    terms: np.ndarray, labels: list[str], profile: dict[str, float], base: float, seed: int = 0
) -> np.ndarray:
    """A unit image vector whose cosine with term j is exactly SCALE·s_j (s_j = profile or base).

    Its part in the span of the term vectors is the dual-basis combination SCALE·Tᵀ G⁻¹ s; the rest of its
    unit length is random noise orthogonal to every term (so it moves no score).
    """
    s = np.array([profile.get(lab, base) for lab in labels], dtype=np.float64)
    t = terms.astype(np.float64)
    x = SCALE * (t.T @ np.linalg.solve(t @ t.T, s))
    left = 1.0 - float(x @ x)
    assert left > 0, "profile too far from the term vectors for SCALE"
    noise = np.random.default_rng(seed).standard_normal(x.shape)
    noise -= t.T @ np.linalg.solve(t @ t.T, t @ noise)  # project out the span of the terms
    v = x + noise * np.sqrt(left) / np.linalg.norm(noise)
    assert np.allclose(t @ v, SCALE * s, atol=1e-6)
    return v.astype(np.float32)


def labels_of(hits: list[KeywordHit]) -> list[str]:
    return [h.label for h in hits]


def test_term_vectors_are_prompt_means_and_cached_on_disk(
    encoder: CountingEncoder, embedder: Embedder, tmp_path: Path
) -> None:
    vocab = build_vocabulary(allow=["Subjects|Animals", "Scenes"])  # > TEXT_BATCH prompts, still quick
    cache = tmp_path / "cache"
    first = KeywordAssigner(vocab, encoder, TINY_MODEL_ID, cache, KeywordOptions())
    vectors = first.term_vectors()
    n_prompts = sum(len(t.effective_prompts) for t in vocab.terms)
    assert vectors.shape == (len(vocab), 64) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert n_prompts > TEXT_BATCH and encoder.prompts == n_prompts and encoder.calls >= 2  # batched
    dog = next(i for i, t in enumerate(vocab.terms) if t.full_path == "Subjects|Animals|Dog")
    mean = embedder.encode_text(list(vocab.terms[dog].effective_prompts)).mean(axis=0)
    assert np.allclose(vectors[dog], mean / np.linalg.norm(mean), atol=1e-5)
    assert [p.name for p in cache.iterdir()] == [f"terms-PD-Tiny-ViT_test-seed0-{vocab.version}.npz"]

    calls = encoder.calls
    second = KeywordAssigner(vocab, encoder, TINY_MODEL_ID, cache, KeywordOptions(max_per_photo=2))
    assert np.array_equal(second.term_vectors(), vectors)
    assert encoder.calls == calls  # cache hit: the vocabulary is not encoded again

    other = build_vocabulary(allow=LABELS)
    KeywordAssigner(other, encoder, TINY_MODEL_ID, cache).term_vectors()
    assert encoder.calls > calls  # a changed vocabulary is a different cache entry
    assert len(list(cache.glob("*.npz"))) == 2 and not list(cache.glob("*.tmp"))

    (cache / f"terms-PD-Tiny-ViT_test-seed0-{vocab.version}.npz").write_bytes(b"torn")
    calls = encoder.calls
    assert np.array_equal(KeywordAssigner(vocab, encoder, TINY_MODEL_ID, cache).term_vectors(), vectors)
    assert encoder.calls > calls  # a damaged cache is a miss, not a crash


def test_version_names_model_vocabulary_and_options(
    encoder: CountingEncoder, small_vocab: Vocabulary
) -> None:
    a = KeywordAssigner(small_vocab, encoder, TINY_MODEL_ID, None, KeywordOptions())
    assert a.version.startswith(f"{KEYWORDS_VERSION}:{TINY_MODEL_ID}:{small_vocab.version}:")
    assert a.version == KeywordAssigner(small_vocab, encoder, TINY_MODEL_ID, None).version
    assert (
        a.version
        != KeywordAssigner(small_vocab, encoder, TINY_MODEL_ID, None, KeywordOptions(min_score=0.3)).version
    )
    assert (
        a.version != KeywordAssigner(build_vocabulary(allow=LABELS[:5]), encoder, TINY_MODEL_ID, None).version
    )
    assert encoder.calls == 0  # the version needs no model


def test_assign_known_combinations(encoder: CountingEncoder, small_vocab: Vocabulary) -> None:
    labels = [t.label for t in small_vocab.terms]
    terms = KeywordAssigner(small_vocab, encoder, TINY_MODEL_ID, None).term_vectors()
    dog_beach = photo(terms, labels, {"Dog": 0.5, "Beach": 0.35}, base=0.2)
    snowy_church = photo(terms, labels, {"Church": 0.6, "Snow": 0.5, "Mountain": 0.45}, base=0.2, seed=1)
    photos = np.stack([dog_beach, snowy_church])
    a = KeywordAssigner(small_vocab, encoder, TINY_MODEL_ID, None, KeywordOptions(8, 0.3 * SCALE, 0.0))
    hits = a.assign(photos)
    assert labels_of(hits[0]) == ["Dog", "Beach"]
    assert hits[0][0] == KeywordHit("Subjects|Animals|Dog", "Dog", pytest.approx(0.5 * SCALE, abs=1e-5))
    assert hits[0][1].path == "Scenes|Beach" and hits[0][1].score == pytest.approx(0.35 * SCALE, abs=1e-5)
    assert labels_of(hits[1]) == ["Church", "Snow", "Mountain"]  # best first

    # max_per_photo caps, keeping the best
    capped = KeywordAssigner(small_vocab, encoder, TINY_MODEL_ID, None, KeywordOptions(2, 0.3 * SCALE, 0.0))
    assert [labels_of(h) for h in capped.assign(photos)] == [["Dog", "Beach"], ["Church", "Snow"]]
    # min_score is inclusive and applies to the raw cosine
    strict = KeywordAssigner(
        small_vocab, encoder, TINY_MODEL_ID, None, KeywordOptions(8, 0.5 * SCALE - 1e-6, 0.0)
    )
    assert [labels_of(h) for h in strict.assign(photos)] == [["Dog"], ["Church", "Snow"]]
    # min_margin: over the photo's median (0.2·SCALE) Dog leads by 0.3·SCALE, Beach by only 0.15·SCALE
    margin = KeywordAssigner(small_vocab, encoder, TINY_MODEL_ID, None, KeywordOptions(8, -1.0, 0.2 * SCALE))
    assert labels_of(margin.assign(dog_beach)[0]) == ["Dog"]  # a single (dim,) vector is one photo


def test_all_below_min_score_gives_no_keywords(encoder: CountingEncoder, small_vocab: Vocabulary) -> None:
    labels = [t.label for t in small_vocab.terms]
    terms = KeywordAssigner(small_vocab, encoder, TINY_MODEL_ID, None).term_vectors()
    dog_beach = photo(terms, labels, {"Dog": 0.5, "Beach": 0.35}, base=0.2)
    a = KeywordAssigner(small_vocab, encoder, TINY_MODEL_ID, None, KeywordOptions(8, 0.55 * SCALE, 0.0))
    assert a.assign(np.stack([dog_beach, -dog_beach])) == [[], []]
    # A photo equally similar to everything passes min_score, but nothing stands out from its median.
    flat = photo(terms, labels, {}, base=0.5)
    calibrated = KeywordAssigner(
        small_vocab, encoder, TINY_MODEL_ID, None, KeywordOptions(8, 0.1 * SCALE, 0.01)
    )
    assert calibrated.assign(flat[None]) == [[]]
    assert a.assign(np.zeros((0, 64), dtype=np.float32)) == []


def test_most_specific_keyword_wins_over_its_ancestor(encoder: CountingEncoder) -> None:
    rows = [(1, "Nature", None), (2, "Sunset", 1), (3, "Places", None), (4, "Lisbon", 3), (5, "Tram", None)]
    names = {kid: (name, parent) for kid, name, parent in rows}

    def path(kid: int | None) -> tuple[str, ...]:
        return () if kid is None else (*path(names[kid][1]), names[kid][0])

    tree = KeywordTree(0, {kid: Keyword(kid, f"U{kid}", n, p, path(kid)) for kid, n, p in rows})
    vocab = build_vocabulary(catalog_terms=terms_from_keyword_tree(tree), builtin=False)
    labels = [t.label for t in vocab.terms]
    assert labels == ["Nature", "Places", "Tram", "Sunset", "Lisbon"]
    terms = KeywordAssigner(vocab, encoder, TINY_MODEL_ID, None).term_vectors()
    v = photo(terms, labels, {"Nature": 0.6, "Sunset": 0.5, "Tram": 0.4}, base=0.1)
    a = KeywordAssigner(vocab, encoder, TINY_MODEL_ID, None, KeywordOptions(2, 0.2 * SCALE, 0.0))
    (hits,) = a.assign(v[None])
    # Nature scores highest, but Lightroom implies it from Nature|Sunset: it neither appears nor takes a slot.
    assert [h.path for h in hits] == ["Nature|Sunset", "Tram"]


def test_empty_vocabulary(encoder: CountingEncoder) -> None:
    a = KeywordAssigner(Vocabulary(()), encoder, TINY_MODEL_ID, None)
    assert a.assign(np.zeros((3, 64), dtype=np.float32)) == [[], [], []]
    assert encoder.calls == 0
