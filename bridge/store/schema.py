"""The payload schema shared by both store backends and the `--where` parser: the fields the stores index
(`PAYLOAD_FIELDS`, with how each is indexed) and the derived fields computed from them (`prepare_payload`),
so every part agrees on one meaning per field."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

STORE_SCHEMA_VERSION = 1  # bump when the payload layout changes incompatibly: a new collection is built


class Kind(StrEnum):
    """How a payload field is indexed, which decides how each filter operator is translated."""

    INTEGER = "integer"
    FLOAT = "float"
    KEYWORD = "keyword"  # exact match; a list value matches when any element does
    TEXT = "text"  # full text: word tokenizer, lowercased, so "canon" matches "Canon EOS 600D"


# Payload fields with an index. Lists (keywords, folders, ...) use the kind of their elements.
# Every index costs upsert time (~4-9 us per point each in Edge), so only fields that `--where` filters
# on often are indexed; others (width, height, exact keywords, path) still filter, by payload scan.
PAYLOAD_FIELDS: dict[str, Kind] = {
    "rating": Kind.INTEGER,
    "iso": Kind.INTEGER,
    "captured_ts": Kind.FLOAT,  # POSIX seconds, UTC
    "focal_length": Kind.FLOAT,
    "aperture": Kind.FLOAT,
    "label": Kind.KEYWORD,
    "keywords_lc": Kind.KEYWORD,  # derived: casefolded keywords, what `keyword=` filters use
    "keyword_paths": Kind.KEYWORD,  # hierarchical keywords, "Events|Wedding"
    "ext": Kind.KEYWORD,  # derived from path when absent: lowercase, no dot ("cr3")
    "folders": Kind.KEYWORD,  # derived: every ancestor folder (see folder_key), for "folder under X"
    "camera": Kind.TEXT,
    "camera_make": Kind.TEXT,
    "camera_model": Kind.TEXT,
    "lens": Kind.TEXT,
    # analysis stages (bridge/analyses/kinds.py)
    "q_overall": Kind.FLOAT,
    "q_sharpness": Kind.FLOAT,
    "q_exposure": Kind.FLOAT,
    "q_noise": Kind.FLOAT,
    "ai_keywords_lc": Kind.KEYWORD,  # derived: casefolded AI keywords (labels)
    "ai_caption": Kind.TEXT,  # BLIP caption, word-matched by hybrid search
    "title": Kind.TEXT,  # the photographer's own title and caption, word-matched by hybrid search
    "caption": Kind.TEXT,
}


def folder_key(path: str) -> str:
    """The comparable form of a folder path: forward slashes, casefolded, normalised, no trailing slash.

    Casefolded because the photo folders that matter live on case-insensitive file systems (macOS,
    Windows) and users type them by hand; two folders differing only in case are not worth a surprise.
    `normpath` keeps a UNC share's leading "//".
    """
    return posixpath.normpath(path.replace("\\", "/").casefold())


def ancestor_folders(path: str) -> list[str]:
    """Every folder containing the file at `path`, nearest first: "/a/b/c.jpg" → ["/a/b", "/a", "/"].

    String slicing rather than PurePosixPath.parents: this runs for every upserted point.
    """
    key = folder_key(path)
    out: list[str] = []
    cut = key.rfind("/")
    while cut > 0:
        key = key[:cut]
        out.append(key)
        cut = key.rfind("/")
    if cut == 0 and key != "/":
        out.append("/")  # an absolute path's root
    return out


def _ext(value: str) -> str:
    return value.strip().lstrip(".").casefold()


def prepare_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `payload` with the derived fields filled in, so filters see one normalised form.

    Applied on every upsert and set_payload: keywords → keywords_lc, ai_keywords → ai_keywords_lc; path (and `paths`, every place a
    duplicate lives) → folders, replacing any given, so they always match `folder_key`; ext from the path
    when absent, lowercased, without the dot.
    """
    out = dict(payload)
    for src, dst in (("keywords", "keywords_lc"), ("ai_keywords", "ai_keywords_lc")):
        if src in out:
            kws = out[src]
            out[dst] = None if kws is None else sorted({str(k).casefold() for k in kws})
    paths = [p for p in [out.get("path"), *(out.get("paths") or ())] if isinstance(p, str)]
    if paths:
        out["folders"] = list(dict.fromkeys(f for p in paths for f in ancestor_folders(p)))
        if "ext" not in out:
            out["ext"] = _ext(posixpath.splitext(paths[0].replace("\\", "/"))[1])
    if isinstance(out.get("ext"), str):
        out["ext"] = _ext(out["ext"])
    return out
