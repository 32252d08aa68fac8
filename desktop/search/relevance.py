"""How many of a search's nearest photos really match: the engine always returns its `limit` nearest
photos, most of which are merely the least unlike the query. A photo counts as a match when its score
(the cosine the engine shows) is within `MARGIN` of the best one and not under the minimum score, or when
the query's words are in its own words (title, caption, keywords, AI caption or keywords).

Why a margin from the best: CLIP cosines are not calibrated across queries (a good hit scores 0.24 for one
query, 0.33 for another), but within one query the photos that show the thing sit in a band near the top
and the rest fall away below it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bridge.search.query import query_words

MARGIN = 0.05  # cosine below the best hit that still counts as a match
WORD_FIELDS = ("title", "caption", "ai_caption", "keywords", "ai_keywords")


def _words_of(fields: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for key in WORD_FIELDS:
        v = fields.get(key)
        for text in v if isinstance(v, list) else [v]:
            if isinstance(text, str):
                out |= set(re.findall(r"[^\W_]+", text.casefold()))
    return out


def matches(
    results: Sequence[Any], text: str | None, *, margin: float = MARGIN, min_score: float | None = None
) -> list[Any]:
    """The results that match, in their order. `text` empty (a like-this search): the score rule alone."""
    if not results:
        return []
    words = set(query_words(text)) if text else set()
    top = max(float(r.score) for r in results)
    floor = top - margin
    if min_score is not None:
        floor = max(floor, min_score)
    out = []
    for r in results:
        if float(r.score) >= floor or (words and words & _words_of(r.fields)):
            out.append(r)
    return out
