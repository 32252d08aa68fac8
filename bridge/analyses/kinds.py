"""The analysis stages' results, as the ledger stores them and the vector store's payload shows them.

Four kinds, each recorded per content fingerprint with the version that produced it (ledger `analyses`
table, plus a `stages` row `kind@version`), so enabling or upgrading one stage redoes only that stage:

| kind | computed where | version | payload fields |
|---|---|---|---|
| `quality` | decode worker, from the decoded bitmap | `quality.QUALITY_VERSION` | `q_*` (see `bridge/analyses/quality.py`) |
| `dupsig` | decode worker, from the decoded bitmap | `dupsig.DUPSIG_VERSION` | none (read by `duplicates`) |
| `keywords` | main process, from the CLIP vector | `KeywordAssigner.version` | `ai_keywords`, `ai_keyword_paths` |
| `caption` | main process, BLIP on the decoded bitmap | `Captioner.model_id` | `ai_caption` |
| `composition` | decode worker, from the decoded bitmap | `composition.COMPOSITION_VERSION` | `c_level`, `c_thirds`, `c_edge_cut`, `c_tilt_deg` (see `bridge/analyses/composition.py`) |
| `faces` | decode worker, from the decoded bitmap (opt-in, `faces` extra) | `FaceOptions.version` (`faces.FACES_VERSION` + options) | `face_count`, `eyes_open`, `face_sharpness` |
| `people` | main process, `pixel-detective people` (clustering and naming) | `people.PEOPLE_VERSION` | `persons`, `persons_lc` |

`faces` payload: `face_count` (int, 0 when the stage ran and found none), `eyes_open` (float in [0, 1], the
lowest over the photo's faces: one blink makes the photo a blink; None without faces), `face_sharpness`
(float in [0, 1], the highest over the faces; None without faces). `persons`: the names of the named
people in the photo (sorted; unnamed clusters are left out), `persons_lc` the same lower-cased (for
`--where person=`). Per-face boxes, eye centres, scores and embeddings stay in the ledger
(`bridge/analyses/faces.py`, `bridge/analyses/README.md`).

This module is the one place that maps a stored result to payload fields, so the indexer, the
re-payload after a later stage and `rules apply` agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bridge.records import Stage

# The composition fields the payload shows (the subject's box and centre stay in the ledger only).
COMPOSITION_PAYLOAD = ("c_level", "c_thirds", "c_edge_cut", "c_tilt_deg")


def pixel_versions() -> dict[Stage, str]:
    """The analyses computed from a decoded bitmap (in the decode workers), with their current versions."""
    from bridge.analyses.composition import COMPOSITION_VERSION
    from bridge.analyses.dupsig import DUPSIG_VERSION
    from bridge.analyses.quality import QUALITY_VERSION

    return {Stage.QUALITY: QUALITY_VERSION, Stage.DUPSIG: DUPSIG_VERSION, Stage.COMPOSITION: COMPOSITION_VERSION}


def face_versions(enabled: bool, detector: str = "hog", upsample: int = 0, eye_method: str = "profile") -> dict[Stage, str]:
    """The faces stage's {kind: version} when it is enabled and installed (the `faces` extra), else {}."""
    from bridge.analyses import faces

    if not enabled or not faces.available():
        return {}
    return {Stage.FACES: faces.FaceOptions(detector, upsample, eye_method).version}


def compute(kind: str, pixels: np.ndarray, version: str = "") -> Any:
    """A pixel analysis of one decoded bitmap, as JSON-able data (runs in a worker process). `version`:
    the stage version asked for (the faces stage reads its options from it)."""
    if kind == Stage.FACES:
        from bridge.analyses.faces import FaceOptions
        from bridge.analyses.faces import analyse as analyse_faces

        return analyse_faces(pixels, FaceOptions.from_version(version)).to_json()
    if kind == Stage.QUALITY:
        from bridge.analyses.quality import score

        return score(pixels).as_payload()
    if kind == Stage.DUPSIG:
        from bridge.analyses.dupsig import signature

        return signature(pixels).to_json()
    if kind == Stage.COMPOSITION:
        from bridge.analyses.composition import analyse

        return analyse(pixels).as_payload()
    raise ValueError(f"unknown pixel analysis {kind!r}")


def keywords_data(hits: Any) -> dict[str, Any]:
    """Stored form of one photo's keyword hits (best first)."""
    return {
        "paths": [h.path for h in hits],
        "labels": [h.label for h in hits],
        "scores": [round(float(h.score), 4) for h in hits],
    }


def payload_fields(analyses: Mapping[str, Any]) -> dict[str, Any]:
    """Payload fields for the stored results of one content (kinds absent → fields absent)."""
    out: dict[str, Any] = {}
    quality = analyses.get(Stage.QUALITY)
    if quality:
        out.update(quality)
    composition = analyses.get(Stage.COMPOSITION)
    if composition:
        out.update({k: v for k, v in composition.items() if k in COMPOSITION_PAYLOAD})
    faces = analyses.get(Stage.FACES)
    if faces is not None:
        from bridge.analyses.faces import summary

        out.update(summary(faces))
    people = analyses.get(Stage.PEOPLE)
    if people is not None:
        names = sorted(people.get("names", []))
        out["persons"] = names
        out["persons_lc"] = [n.casefold() for n in names]
    kw = analyses.get(Stage.KEYWORDS)
    if kw is not None:
        out["ai_keywords"] = list(kw.get("labels", []))
        out["ai_keyword_paths"] = list(kw.get("paths", []))
    cap = analyses.get(Stage.CAPTION)
    if cap is not None:
        out["ai_caption"] = cap.get("text", "")
    return out
