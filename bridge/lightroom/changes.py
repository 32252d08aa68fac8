"""What the index has to say about a photo, as a Lightroom write-back: AI keywords (full hierarchical
paths from the keyword stage), keywords added by the user's rules, the AI caption and the quality
scores. `catalog write --from-index` and `xmp write --from-index` turn these into catalog changes or
sidecar updates; the catalog package itself never reads the index (it does not import the engine).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.state.ledger import Ledger

# Payload score field → the score name catalog rules and XMP `pd:` properties use.
SCORE_NAMES = {
    "q_overall": "quality",
    "q_sharpness": "sharpness",
    "q_exposure": "exposure",
    "q_noise": "noise",
    "q_motion_blur": "motion_blur",
    "q_highlights_clipped": "highlights_clipped",
    "q_shadows_clipped": "shadows_clipped",
}


@dataclass(frozen=True)
class Suggestion:
    path: str
    keywords: tuple[str, ...] = ()  # "A|B|C" paths (or flat names), AI first, then rules
    caption: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    def as_change(self, what: Iterable[str]) -> dict[str, Any]:
        """The catalog changes-file form of this suggestion (catalog/write/model.py)."""
        want = set(what)
        d: dict[str, Any] = {"path": self.path, "scores": dict(self.scores)}
        if "keywords" in want and self.keywords:
            d["keywords"] = list(self.keywords)
        if "caption" in want and self.caption:
            d["caption"] = self.caption
        return d


def rules_keywords(payload: Mapping[str, Any]) -> list[str]:
    """Keywords the user's rules added (recorded in `rules_undo`), as paths where they have one."""
    raw = payload.get("rules_undo")
    if not raw:
        return []
    undo = json.loads(raw)
    paths = list(undo.get("keyword_paths", []))
    leaves = {p.rsplit("|", 1)[-1] for p in paths}
    return paths + [k for k in undo.get("keywords", []) if k not in leaves]


def suggestions(
    ledger: Ledger,
    paths: Iterable[str],
    *,
    rules: Any = None,
    ai_keywords: bool = True,
    ai_caption: bool = True,
) -> dict[str, Suggestion]:
    """Per indexed path among `paths`: what to write back (paths not in the index are left out)."""
    fps = ledger.fingerprints_for(paths)
    analyses = ledger.analyses_for(set(fps.values()))
    metas = ledger.metadata_for(set(fps.values())) if rules is not None else {}
    out: dict[str, Suggestion] = {}
    for path, fp in fps.items():
        a = analyses.get(fp, {})
        kws: list[str] = []
        if ai_keywords and a.get("keywords"):
            kws += a["keywords"].get("paths", [])
        if rules is not None:
            kws += [k for k in rules_keywords(rules.apply(path, metas.get(fp, {}))) if k not in kws]
        caption = (a.get("caption") or {}).get("text") if ai_caption else None
        scores = {
            name: float(a["quality"][f])
            for f, name in SCORE_NAMES.items()
            if a.get("quality") and a["quality"].get(f) is not None
        }
        if kws or caption or scores:
            out[path] = Suggestion(path, tuple(kws), caption or None, scores)
    return out
