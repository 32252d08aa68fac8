"""Zero-shot keywords: CLIP cosine between a photo's image embedding and each vocabulary term's text embedding.

Calibration. Raw CLIP cosines sit in a narrow band (about 0.15-0.35 for ViT-B-32), and the whole band moves
from photo to photo (a busy photo is a little similar to everything). So a hit must pass two gates:
* `min_score`, on the raw cosine (`KeywordHit.score`): the photo really resembles the text. For real ViT-B-32
  weights a matching "a photo of a dog." scores about 0.26-0.32 and unrelated terms 0.12-0.20, hence 0.22.
* `min_margin`, on cosine minus the photo's median cosine over the whole vocabulary: the term stands out from
  this photo's background similarity. With ~500 terms the median is a robust "unrelated" level; real
  matches lead it by 0.05 or more, hence 0.04.
A softmax over the vocabulary (CLIP's logit scale 100) was not used: it is single-label by construction, so
"Dog" and "Beach" on the same photo would compete for one unit of probability.

Hierarchy. Lightroom adds a keyword's parents implicitly on export, so when a term and one of its ancestors
both pass the gates only the most specific one is kept ("Nature|Sunset" rather than "Nature" and
"Nature|Sunset"); the ancestor does not use up a slot of `max_per_photo`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bridge.analyses.vocabulary import SEPARATOR, Vocabulary

KEYWORDS_VERSION = "kw1"
TEXT_BATCH = 256  # prompts per encode_text call: bounded memory on CPU, few calls on GPU


@dataclass(frozen=True, slots=True)
class KeywordHit:
    path: str  # "Subjects|Animals|Dog"
    label: str
    score: float  # raw CLIP cosine between the photo and the term


@dataclass(frozen=True)
class KeywordOptions:
    max_per_photo: int = 8  # at most this many keywords per photo, best first
    min_score: float = 0.22  # raw cosine floor (see module docstring for ViT-B-32 numbers)
    min_margin: float = 0.04  # cosine minus the photo's median cosine over the vocabulary

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:8]


def _normalize_rows(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    return (m / np.where(n == 0, 1.0, n)).astype(np.float32)


class KeywordAssigner:
    def __init__(
        self,
        vocab: Vocabulary,
        encode_text: Callable[[list[str]], np.ndarray],
        model_id: str,
        cache_dir: Path | None,
        options: KeywordOptions = KeywordOptions(),  # noqa: B008 - frozen, so a shared default is safe
    ) -> None:
        self.vocab = vocab
        self.encode_text = encode_text
        self.model_id = model_id
        self.cache_dir = cache_dir
        self.options = options
        # The ledger stage version: a new model, vocabulary or option set re-runs keywording.
        self.version = f"{KEYWORDS_VERSION}:{model_id}:{vocab.version}:{options.digest}"
        self._paths = [t.full_path for t in vocab.terms]
        self._labels = [t.label for t in vocab.terms]
        self._vectors: np.ndarray | None = None
        self._ancestors = self._ancestor_index()

    # --- term vectors -------------------------------------------------------------------------------------

    @property
    def cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        safe_model = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model_id)
        return self.cache_dir / f"terms-{safe_model}-{self.vocab.version}.npz"

    @property
    def prompt_count(self) -> int:
        """How many text prompts the vocabulary embeds (what a progress bar counts)."""
        return sum(len(t.effective_prompts) for t in self.vocab.terms)

    def term_vectors(self, on_progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(n_terms, dim) float32, L2-normalised mean of each term's prompt embeddings; cached on disk.
        `on_progress(n)`: n more prompts embedded (a new model or vocabulary: ~40 s on a CPU)."""
        if self._vectors is not None:
            return self._vectors
        vectors = self._load_cache()
        if vectors is None:
            vectors = self._encode(on_progress)
            self._save_cache(vectors)
        self._vectors = vectors
        return vectors

    def ready(self) -> bool:
        """True when the term vectors are in memory or in the cache (no text to embed first)."""
        if self._vectors is None:
            self._vectors = self._load_cache()
        return self._vectors is not None

    def _encode(self, on_progress: Callable[[int], None] | None = None) -> np.ndarray:
        prompts = [t.effective_prompts for t in self.vocab.terms]
        flat = [p for ps in prompts for p in ps]
        if not flat:
            return np.zeros((0, 0), dtype=np.float32)
        parts = []
        for i in range(0, len(flat), TEXT_BATCH):
            parts.append(np.asarray(self.encode_text(flat[i : i + TEXT_BATCH])))
            if on_progress is not None:
                on_progress(len(flat[i : i + TEXT_BATCH]))
        emb = _normalize_rows(np.concatenate(parts, axis=0))
        out = np.empty((len(prompts), emb.shape[1]), dtype=np.float32)
        start = 0
        for i, ps in enumerate(prompts):
            out[i] = emb[start : start + len(ps)].mean(axis=0)  # prompt ensembling, as in the CLIP paper
            start += len(ps)
        return _normalize_rows(out)

    def _load_cache(self) -> np.ndarray | None:
        path = self.cache_path
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                paths = [str(p) for p in z["paths"]]
                vectors = np.asarray(z["vectors"], dtype=np.float32)
                model = str(z["model_id"])
        except (OSError, ValueError, KeyError):
            return None  # a damaged cache is just a miss
        # The name is already keyed by model and vocabulary hash; this guards a hash collision or a hand copy.
        if model != self.model_id or paths != self._paths or vectors.shape[0] != len(paths):
            return None
        return vectors

    def _save_cache(self, vectors: np.ndarray) -> None:
        path = self.cache_path
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # temp file + os.replace: a crash or a concurrent run never leaves a half-written cache behind
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(
                    f,
                    vectors=vectors,
                    paths=np.array(self._paths, dtype=str),
                    model_id=np.array(self.model_id),
                )
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # --- assignment ---------------------------------------------------------------------------------------

    def _ancestor_index(self) -> list[list[int]]:
        """For each term, the indices of the vocabulary terms that are its ancestors."""
        pos = {p.casefold(): i for i, p in enumerate(self._paths)}
        out: list[list[int]] = []
        for p in self._paths:
            parts = p.split(SEPARATOR)
            anc = [SEPARATOR.join(parts[:k]).casefold() for k in range(1, len(parts))]
            out.append([pos[a] for a in anc if a in pos])
        return out

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """(N, n_terms) raw cosines for L2-normalised image vectors (N, dim)."""
        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim == 1:
            v = v[None, :]
        return v @ self.term_vectors().T

    def assign(self, vectors: np.ndarray) -> list[list[KeywordHit]]:
        """Per photo: hits best first, at most max_per_photo, each passing min_score and min_margin."""
        opt = self.options
        v = np.asarray(vectors, dtype=np.float32)
        n = 1 if v.ndim == 1 else v.shape[0]
        if not self._paths or opt.max_per_photo <= 0:
            return [[] for _ in range(n)]
        cos = self.scores(v)
        median = np.median(cos, axis=1, keepdims=True)
        ok = (cos >= opt.min_score) & (cos - median >= opt.min_margin)
        out: list[list[KeywordHit]] = []
        for row, row_ok in zip(cos, ok, strict=True):
            candidates = np.flatnonzero(row_ok)
            # Ancestors of another candidate are implied by it in Lightroom: keep only the most specific.
            implied = {a for i in candidates for a in self._ancestors[i]}
            ranked = sorted(
                (i for i in candidates if i not in implied), key=lambda i: (-row[i], self._paths[i])
            )
            out.append(
                [
                    KeywordHit(path=self._paths[i], label=self._labels[i], score=float(row[i]))
                    for i in ranked[: opt.max_per_photo]
                ]
            )
        return out
