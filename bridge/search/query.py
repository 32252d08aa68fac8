"""Search: by text, or by example photo, with metadata filters. Results carry the current paths from the
ledger (the authority on where files are now); hits whose files are gone are dropped.

Hybrid ranking (text queries): two rankings of the same candidates are fused.
1. the vector ranking: cosine similarity of the photo's CLIP vector to the query's;
2. a word ranking: photos whose AI caption, AI keywords, or the photographer's own title, caption or
   keywords contain query words (stop words dropped), ordered by the share of query words found,
   ties broken by vector similarity.
Fusion is Reciprocal Rank Fusion, score = Σ 1 / (RRF_K + rank) over the rankings a photo is in, with
RRF_K = 60 (Cormack et al. 2009; also what Qdrant and Elasticsearch use). Rank fusion needs no score
calibration between a cosine and a word count, and a photo both rankings agree on comes first. The
cosine stays the displayed `score`; `--min-score` applies to it. `--vector-only` turns words off.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bridge.engine import Engine
from bridge.files.objects import ObjectStoreError, encode_options, is_url, object_info
from bridge.indexing.payload import point_id
from bridge.indexing.scan import fingerprint, normalize_root
from bridge.state.ledger import Ledger
from bridge.store.filters import Condition, Filter

SHOWN_FIELDS = (
    "camera",
    "lens",
    "captured_at",
    "rating",
    "label",
    "keywords",
    "title",
    "caption",
    "width",
    "height",
    "ai_caption",
    "ai_keywords",
    "ai_keyword_paths",
    "q_overall",
    "q_sharpness",
    "q_exposure",
    "q_noise",
    "pixel_source",  # lightroom-preview / lightroom-smart-preview: an offline original seen through its preview
    "partial",  # share of a cut-short JPEG's rows that decoded (indexed from what there is)
    "file_format",  # what the content is, whatever the extension says
)
RRF_K = 60
TEXT_FIELDS = ("ai_caption", "title", "caption")  # full-text indexed (word tokenizer, lowercased)
KEYWORD_FIELDS = ("ai_keywords_lc", "keywords_lc")  # exact, casefolded
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "the",
        "that",
        "this",
        "to",
        "with",
        "without",
        "photo",
        "photos",
        "picture",
        "image",
        "shot",
        "of",
    ]
)


class SearchError(Exception):
    """A query that cannot be answered. `kind` (no_model, bad_query, not_found, unreadable) lets callers
    that talk to other programs (the Lightroom bridge) answer with a fixed message of their own."""

    def __init__(self, message: str, kind: str = "bad_query") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Result:
    rank: int
    score: float
    path: str
    paths: list[str]
    fingerprint: str
    fields: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "path": self.path,
            "paths": self.paths,
            "fingerprint": self.fingerprint,
            **self.fields,
        }


def _require_model(engine: Engine) -> None:
    if engine.embedder is None:
        m = engine.settings.model
        raise SearchError(
            f"searching by text or by example needs the weights of {m}, which are not on this machine: run "
            f"`pixel-detective models download {m}` on a connected machine, or `pixel-detective models import "
            f"FILE --model {m}` offline. Filters work without them: `pixel-detective search --where "
            "'camera=canon'`",
            "no_model",
        )


def text_vector(engine: Engine, text: str) -> np.ndarray:
    _require_model(engine)
    if not text.strip():
        raise SearchError("empty query: describe the photo you are looking for")
    assert engine.embedder is not None
    return engine.embedder.encode_text([text])[0]


def photo_vector(
    engine: Engine, photo: str | Path, *, ledger: Ledger | None = None
) -> tuple[np.ndarray, str | None]:
    """The stored vector when the photo is indexed (no decode); otherwise decode and embed it now.
    `ledger`: a read-only connection for callers on other threads than the engine's (the service)."""
    _require_model(engine)
    assert engine.embedder is not None
    path = normalize_root(photo)
    options = engine.settings.object_storage_options
    if is_url(path):  # an object in a bucket: `--like s3://bucket/photo.jpg`
        try:
            info = object_info(path, options)
            fp = fingerprint(path, info.size, options=options)
        except ObjectStoreError as e:
            raise SearchError(str(e), "not_found" if e.kind == "missing" else "unreadable") from None
    else:
        if not os.path.isfile(path):
            raise SearchError(f"photo not found: {photo}", "not_found")
        row = (ledger or engine.ledger).file_by_path(path)
        fp = row.fingerprint if row and row.fingerprint else fingerprint(path)
    got = engine.store().retrieve([point_id(fp, engine.model_id)], with_vectors=True)
    if got and got[0][2] is not None:
        return np.asarray(got[0][2], dtype=np.float32), fp
    from bridge.indexing.worker import Job, WorkerEnvironmentError, process  # the indexer's own step

    s = engine.settings
    job = Job(
        path=path,
        fingerprint=fp,
        want_metadata=False,
        want_pixels=True,
        image_size=engine.embedder.weights.spec.image_size,
        decode_size=s.decode_size,
        max_pixels=s.max_pixels,
        storage=encode_options(options) if is_url(path) else "",
    )
    try:
        result = process(job)
    except WorkerEnvironmentError as e:  # the bucket's store stopped answering between the two reads
        raise SearchError(str(e), "unreadable") from None
    if result.model_input is None:
        f = result.failures[0]
        # The reason only: a decoder's detail can quote the file's first bytes ("starts with b'root:$6$…'"),
        # and this message reaches the Lightroom bridge.
        raise SearchError(f"cannot read {photo} as a photo ({f.reason})", "unreadable")
    return engine.embedder.encode_images(result.model_input[None])[0], fp


def query_words(text: str) -> list[str]:
    """The words of a query that count for word matching: lowercased, no stop words, no duplicates."""
    words = re.findall(r"[^\W_]+", text.casefold())
    return list(dict.fromkeys(w for w in words if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())))


def _word_share(payload: dict[str, Any], words: list[str]) -> float:
    """Share of `words` found in the photo's text fields (whole words) or keywords (any word of one)."""
    found: set[str] = set()
    for f in TEXT_FIELDS:
        if isinstance(payload.get(f), str):
            found |= set(re.findall(r"[^\W_]+", payload[f].casefold()))
    for f in ("ai_keywords", "keywords"):
        for kw in payload.get(f) or ():
            found |= set(re.findall(r"[^\W_]+", str(kw).casefold()))
    return sum(w in found for w in words) / len(words)


def _word_filter(words: list[str]) -> Filter:
    conds = [Condition(f, "text", w) for f in TEXT_FIELDS for w in words]
    conds += [Condition(f, "any", tuple(words)) for f in KEYWORD_FIELDS]
    return Filter(any_of=tuple(conds))


def fuse(rankings: list[list[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal Rank Fusion of rankings of ids (best first): {id: Σ 1/(k + rank)}, rank from 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking, 1):
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (k + rank)
    return scores


def search(
    engine: Engine,
    vector: np.ndarray,
    *,
    limit: int = 20,
    min_score: float | None = None,
    where: Filter | None = None,
    exclude_fingerprint: str | None = None,
    text: str | None = None,
    ledger: Ledger | None = None,
) -> list[Result]:
    """Vector search; with `text`, the hybrid ranking described above."""
    store = engine.store()
    words = query_words(text) if text else []
    if not words:
        hits = store.search(vector, limit=limit * 2 + 1, min_score=min_score, where=where)
    else:
        depth = max(4 * limit, 100)  # candidates per ranking: deep enough that fusion can reorder
        by_vector = store.search(vector, limit=depth, min_score=min_score, where=where)
        flt = _word_filter(words) if where is None else where & _word_filter(words)
        worded = store.search(vector, limit=depth, min_score=min_score, where=flt)
        shares = {h.id: _word_share(h.payload, words) for h in worded}
        worded = sorted((h for h in worded if shares[h.id] > 0), key=lambda h: (-shares[h.id], -h.score))
        fused = fuse([[h.id for h in by_vector], [h.id for h in worded]])
        pool = {h.id: h for h in [*by_vector, *worded]}
        hits = sorted(pool.values(), key=lambda h: (-fused[h.id], -h.score))
    fps = [h.payload.get("fingerprint", "") for h in hits]
    live = (ledger or engine.ledger).paths_for(fp for fp in fps if fp)
    out: list[Result] = []
    for h in hits:
        fp = h.payload.get("fingerprint", "")
        if fp not in live or fp == exclude_fingerprint:
            continue  # file gone since it was indexed (sweep pending), or the query photo itself
        fields = {k: h.payload[k] for k in SHOWN_FIELDS if k in h.payload}
        out.append(Result(len(out) + 1, float(h.score), live[fp][0], live[fp], fp, fields))
        if len(out) == limit:
            break
    return with_cull(ledger or engine.ledger, out)


# The cull decision as the flag a photographer knows: a pick is flagged, a reject rejected (Lightroom keeps its
# own flags in the catalog only, never in XMP, so the index has no other flag to show).
_FLAG = {"pick": 1, "reject": -1}


def with_cull(ledger: Ledger, results: list[Result]) -> list[Result]:
    """`cull` (pick / reject / undecided, the user's own decision first) and `pick` (1 / -1) in the fields of
    the results a `pixel-detective cull` run has decided; one lookup bounded by the results."""
    from bridge.state import culling

    decisions = culling.decisions_for(ledger, [r.path for r in results])
    for r in results:
        decision = decisions.get(r.path)
        if decision is not None:
            r.fields["cull"] = decision
            if decision in _FLAG:
                r.fields.setdefault("pick", _FLAG[decision])
    return results


# --- metadata alone: no vector, no model ---------------------------------------------------------------------
# `search --where camera=canon` with no query, and any search on a machine without the model's weights (an
# index built metadata-only). The same payloads the store would hold are built from the ledger and the filter
# is judged here with the store's semantics (`bridge.store.filters`): text fields match when every word of
# the value is a word of the field (Qdrant's word tokenizer, lowercased); a list matches when any element
# does; `ne` keeps photos without the field. Newest capture first, then by path; the score is 0.


def metadata_search(
    engine: Engine, where: Filter | None, *, limit: int = 20, ledger: Ledger | None = None
) -> list[Result]:
    """Photos whose metadata (and quality scores) pass `where`, newest capture first."""
    from bridge.indexing.payload import build_payload
    from bridge.indexing.sidecars import content_metadata
    from bridge.records import Stage
    from bridge.store.schema import prepare_payload

    led = ledger or engine.ledger
    paths = led.path_index()
    metas = content_metadata(led, paths)
    stored: dict[str, dict[str, Any]] = {}  # the analyses whose payload fields --where filters on
    for kind in (Stage.QUALITY, Stage.FACES, Stage.PEOPLE):
        for fp, _, data in led.iter_analyses(kind):
            stored.setdefault(fp, {})[kind] = data
    hits: list[tuple[str, dict[str, Any]]] = []
    for fp, ps in paths.items():
        analyses = stored.get(fp)
        payload = prepare_payload(build_payload(fp, engine.model_id or "", ps, metas.get(fp, {}), analyses))
        if where is None or matches(where, payload):
            hits.append((fp, payload))
    hits.sort(key=lambda h: (-_number(h[1].get("captured_ts")), h[1].get("path", "")))
    out: list[Result] = []
    for fp, payload in hits[:limit]:
        fields = {k: payload[k] for k in SHOWN_FIELDS if k in payload}
        out.append(Result(len(out) + 1, 0.0, paths[fp][0], paths[fp], fp, fields))
    return with_cull(led, out)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("-inf")


def _words(value: Any) -> set[str]:
    return set(re.findall(r"[^\W_]+", str(value).casefold()))


def matches(spec: Filter, payload: dict[str, Any]) -> bool:
    """Whether a payload passes a filter, judged as the vector store judges it."""

    def one(cond: Condition) -> bool:
        value = payload.get(cond.field)
        values = list(value) if isinstance(value, list | tuple) else ([] if value is None else [value])
        if cond.op == "ne":
            return not any(_equal(cond, v, cond.value) for v in values)
        if cond.op == "text":
            want = _words(cond.value)
            return any(want <= _words(v) for v in values)
        if cond.op == "any":
            return any(_equal(cond, v, w) for v in values for w in cond.value)
        if cond.op == "eq":
            return any(_equal(cond, v, cond.value) for v in values)
        nums = [_number(v) for v in values if _number(v) != float("-inf")]
        compare = {
            "gte": lambda a, b: a >= b,
            "lte": lambda a, b: a <= b,
            "gt": lambda a, b: a > b,
            "lt": lambda a, b: a < b,
        }[cond.op]
        return any(compare(n, cond.value) for n in nums)

    if spec.any_of and not any(one(c) for c in spec.any_of):
        return False
    return all(one(c) for c in spec.conditions)


def _equal(cond: Any, have: Any, want: Any) -> bool:
    from bridge.store.filters import FLOAT_EQ_TOLERANCE
    from bridge.store.schema import PAYLOAD_FIELDS, Kind

    kind = PAYLOAD_FIELDS.get(cond.field)
    if kind is Kind.TEXT:
        return _words(want) <= _words(have)
    if isinstance(want, float) or kind is Kind.FLOAT:
        h = _number(have)
        return h != float("-inf") and abs(h - float(want)) <= FLOAT_EQ_TOLERANCE * max(1.0, abs(float(want)))
    if isinstance(have, bool) or isinstance(want, bool):
        return have is want
    return bool(have == want)
