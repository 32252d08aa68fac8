"""What the index has to say about a photo, as a Lightroom write-back: one `LightroomChange` per photo,
made by one function (`changes_from_index`) for every consumer — `catalog write --from-index`,
`xmp write --from-index`, the plugin's Apply (the `metadata` reply) and the tray's Sync (`apply` pushes).

A change holds the AI keywords (full hierarchical paths from the keyword stage), the keywords the user's
rules add, the AI caption, the quality scores, and the rating / label / pick the score rules decide. Small
methods render it for each target; the catalog package itself never reads the index (it does not import
the engine), so the conversion lives here.

Score rules: the rules a caller was given (the CLI's `--rule`s, the `rules` of the plugin's `metadata`
request) **replace** the `writeback_rules` setting; none given, the setting's rules apply (`score_rules`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.indexing.sidecars import metadata_by_path
from bridge.metadata.rules import RuleSet
from bridge.settings import Settings
from bridge.state.ledger import Ledger
from catalog.write.rules import Rule, evaluate
from catalog.xmp import XmpUpdate

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
class LightroomChange:
    """One photo's write-back. None for rating / label / pick: no score rule decided it (left alone);
    a rule that clears one says so with 0 (rating) or "" (label)."""

    path: str
    keywords: tuple[str, ...] = ()  # "A|B|C" paths (or flat names), AI first, then the user's rules
    caption: str | None = None
    scores: Mapping[str, float] = field(default_factory=dict)  # score name (SCORE_NAMES) → value
    rating: int | None = None
    label: str | None = None
    pick: int | None = None

    @property
    def decided(self) -> dict[str, Any]:
        """rating / label / pick as the score rules set them (only those a rule decided)."""
        out = {"rating": self.rating, "label": self.label, "pick": self.pick}
        return {k: v for k, v in out.items() if v is not None}

    @property
    def written(self) -> dict[str, Any]:
        """keywords and caption, where the index has them (an absent field is left alone by every target)."""
        out: dict[str, Any] = {}
        if self.keywords:
            out["keywords"] = list(self.keywords)
        if self.caption:
            out["caption"] = self.caption
        return out

    def catalog_change(self, path: str | None = None) -> dict[str, Any]:
        """The catalog changes-file form (catalog/write/model.py, `PhotoChange.from_dict`). The decided
        rating / label / pick are explicit values, so the write needs no rules of its own; `--what` still
        picks the fields (WriteOptions.what). `path`: the photo as the catalog spells it."""
        return {"path": path or self.path, "scores": dict(self.scores), **self.written, **self.decided}

    def xmp_update(
        self,
        *,
        overwrite_caption: bool = False,
        keyword_parent: str | None = None,
        keyword_tops: tuple[str, ...] = (),
    ) -> XmpUpdate:
        """The sidecar form: scores as `pd:` properties (pd:Quality, pd:MotionBlur …). XMP has no pick
        flag (Lightroom keeps picks in the catalog only), so a decided pick is not written there.
        `keyword_parent` (the setting): the keywords go under it by the rule every writer shares
        (catalog/keyword_parent.py); `keyword_tops`: the vocabulary catalog's top-level keywords, kept in place
        as a catalog write keeps them."""
        return XmpUpdate(
            keywords=self.keywords,
            keyword_parent=keyword_parent or None,
            keyword_tops=keyword_tops,
            caption=self.caption,
            overwrite_caption=overwrite_caption,
            rating=self.rating,
            label=self.label,
            scores={pd_name(k): round(v, 4) for k, v in self.scores.items()},
        )

    def apply_photo(self) -> dict[str, Any] | None:
        """The photo of the plugin's `apply` push (protocol.ApplyPhoto); None when there is nothing to
        write (scores alone are not pushed: `apply` has no field for them)."""
        photo = {"path": self.path, **self.decided, **self.written}
        return photo if len(photo) > 1 else None

    def metadata_photo(self, path: str | None = None) -> dict[str, Any]:
        """The photo of the `metadata` reply (what the plugin's Apply writes), without the handler's own
        `duplicate_group` and `analyzed_at`. `path`: the photo as the plugin spelled it."""
        return {
            "path": path or self.path,
            "keywords": list(self.keywords),
            "caption": self.caption,
            "scores": dict(self.scores),
            **self.decided,
        }


def pd_name(score: str) -> str:
    """quality → Quality, motion_blur → MotionBlur: the pd: property names of the sidecar schema."""
    return "".join(part.capitalize() for part in score.split("_"))


def score_rules(given: Iterable[str | Mapping[str, Any]] | None, settings: Settings) -> tuple[Rule, ...]:
    """The score rules of a write-back: those given replace the `writeback_rules` setting; none given
    (None or empty), the setting's. Raises ValueError for a rule that does not parse."""
    specs = list(given or ()) or list(settings.writeback_rules)
    return tuple(Rule.parse(r) for r in specs)


def rules_keywords(payload: Mapping[str, Any]) -> list[str]:
    """Keywords the user's rules added (recorded in `rules_undo`), as paths where they have one."""
    raw = payload.get("rules_undo")
    if not raw:
        return []
    undo = json.loads(raw)
    paths = list(undo.get("keyword_paths", []))
    leaves = {p.rsplit("|", 1)[-1] for p in paths}
    return paths + [k for k in undo.get("keywords", []) if k not in leaves]


def changes_from_index(
    ledger: Ledger,
    paths: Iterable[str],
    *,
    keyword_rules: RuleSet | None,
    score_rules: Sequence[Rule],
    keywords: bool = True,
    caption: bool = True,
) -> dict[str, LightroomChange]:
    """Per indexed path among `paths`: what to write back. Paths not in the index, and indexed photos
    with nothing to say (no keyword, caption or score), are left out.

    `keyword_rules`: the user's rules (`bridge.engine.load_rules(settings)`, None for none), whose added
    keywords follow the AI's; `score_rules`: see `score_rules()`. `keywords` / `caption`: take the AI's
    (the rules' keywords come with `keywords` too)."""
    fps = ledger.fingerprints_for(paths)
    analyses = ledger.analyses_for(set(fps.values()))
    rules = keyword_rules if keywords else None
    # each path's own metadata (its sidecar merged in): the rules see what Lightroom shows for that photo
    metas = metadata_by_path(ledger, fps) if rules is not None else {}
    out: dict[str, LightroomChange] = {}
    for path, fp in fps.items():
        a = analyses.get(fp, {})
        kws: list[str] = []
        if keywords and a.get("keywords"):
            kws += a["keywords"].get("paths", [])
        if rules is not None:
            kws += [k for k in rules_keywords(rules.apply(path, metas.get(path, {}))) if k not in kws]
        text = ((a.get("caption") or {}).get("text") if caption else None) or None
        quality = a.get("quality") or {}
        scores = {name: float(quality[f]) for f, name in SCORE_NAMES.items() if quality.get(f) is not None}
        if kws or text or scores:
            out[path] = LightroomChange(path, tuple(kws), text, scores, **_decide(score_rules, scores))
    return out


def _decide(rules: Sequence[Rule], scores: Mapping[str, float]) -> dict[str, Any]:
    """rating / label / pick from the first matching rule of each (catalog.write.rules.evaluate); a rule's
    null means "clear", spelled the way every target clears: rating 0, label ""."""
    got = evaluate(rules, scores)
    out: dict[str, Any] = {}
    if "rating" in got:
        out["rating"] = int(got["rating"] or 0)
    if "label" in got:
        out["label"] = "" if got["label"] is None else str(got["label"])
    if "pick" in got:
        out["pick"] = int(got["pick"])
    return out
