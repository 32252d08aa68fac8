"""The keyword vocabulary: the photographer's own Lightroom keywords first, a built-in photography list second.

Why this shape: keywording tools that invent synonyms and root-level duplicates ("Dog" next to the user's
"Animals|Dogs") make catalogs worse. So every built-in term that names the same concept as an existing catalog
keyword (its name or one of its synonyms, case-insensitive, singular/plural folded) is mapped onto that catalog
node and never becomes a second node. Built-in terms the catalog does not know keep their built-in path: when
written to Lightroom they go under it (e.g. "Subjects|Animals|Dog"), which keeps new keywords grouped instead
of scattered at the root.

Catalog keyword decisions (`terms_from_keyword_tree`):
* person keywords (keywordType 'person', faces) are skipped: who is in a photo is not a zero-shot question.
* keywords with "Include on Export" off are skipped as assignable terms: photographers use that flag for
  organisational/category keywords ("Places", "[People]") they do not want on a photo. They still block a
  built-in duplicate (a built-in term matching one is dropped, not added a second time).
* every other node is kept, parents included: from the tree alone we cannot tell an organisational parent
  ("Places") from a real concept ("Nature"); junk names (below) and the bracket/prefix convention for
  category keywords ("[Places]", "_Misc", "@Events") are dropped.
* two catalog keywords with the same name in different branches (Europe|Paris, USA|Paris) cannot be told apart
  by an image model: the shallower (then alphabetically first) path is kept.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalog.keywords import KeywordTree

SEPARATOR = "|"  # Lightroom's lr:hierarchicalSubject separator
BUILTIN_PATH = Path(__file__).with_name("data") / "vocabulary.toml"
DEFAULT_TEMPLATES: tuple[str, ...] = ("a photo of {label}.", "a photograph showing {label}.")
MAX_SYNONYM_PROMPTS = 4  # synonyms add prompts, but a keyword with 30 synonyms should not drown its name

# Camera/software/brand names: they describe the gear, not the picture, and CLIP would match them on logos.
DEFAULT_DENY: tuple[str, ...] = (
    "Canon", "Nikon", "Sony", "Fujifilm", "Fuji", "Olympus", "OM System", "Panasonic", "Lumix", "Leica",
    "Pentax", "Ricoh", "Hasselblad", "Sigma", "Tamron", "Tokina", "Zeiss", "Samyang", "GoPro", "DJI",
    "Insta360", "iPhone", "iPad", "Samsung", "Google Pixel", "Huawei", "Xiaomi",
    "Lightroom", "Lightroom Classic", "Photoshop", "Adobe", "Capture One", "Snapseed", "VSCO", "Instagram",
)  # fmt: skip

_DATE_LIKE = re.compile(
    r"^(\d{4}[-_./ ]\d{1,2}([-_./ ]\d{1,2})?|\d{1,2}[-_./ ]\d{1,2}[-_./ ]\d{2,4}|\d{4}s?)$"
)
_FILE_LIKE = re.compile(
    r"^(_?(img|dsc|dscn|dscf|dsc_|pxl|gopr|dji|mvimg|vid|mov|p\d|r\d|screenshot)[ _-]?\d{2,}.*"
    r"|.*\.(jpe?g|png|tiff?|heic|heif|dng|nef|cr2|cr3|arw|raf|orf|rw2|psd|xmp|mp4|mov|lrcat))$",
    re.IGNORECASE,
)
_CATEGORY_MARK = re.compile(r"^[\[\](){}<>_@~#*.!+=-]")  # "[Places]", "_People", "@Events": category keywords


@dataclass(frozen=True, slots=True)
class Term:
    path: tuple[str, ...]  # full hierarchical path, e.g. ("Subjects", "Animals", "Dog")
    synonyms: tuple[str, ...] = ()
    source: str = "builtin"  # "catalog" | "builtin"
    prompts: tuple[str, ...] = ()  # CLIP text prompts; empty = DEFAULT_TEMPLATES applied to the label

    @property
    def label(self) -> str:
        return self.path[-1]

    @property
    def full_path(self) -> str:
        return SEPARATOR.join(self.path)

    @property
    def effective_prompts(self) -> tuple[str, ...]:
        return self.prompts or default_prompts(self.label, self.synonyms)


@dataclass(frozen=True)
class Vocabulary:
    terms: tuple[Term, ...]

    @property
    def version(self) -> str:
        """Short stable hash of paths and prompts, in order (the order is the row order of term vectors)."""
        h = hashlib.sha256()
        for t in self.terms:
            h.update(t.full_path.encode())
            h.update(b"\x00")
            h.update("\x1f".join(t.effective_prompts).encode())
            h.update(b"\x1e")
        return h.hexdigest()[:12]

    def __len__(self) -> int:
        return len(self.terms)

    def by_path(self, full_path: str) -> Term | None:
        return next((t for t in self.terms if t.full_path == full_path), None)


def default_prompts(
    label: str, synonyms: Sequence[str] = (), templates: Sequence[str] = DEFAULT_TEMPLATES
) -> tuple[str, ...]:
    """Every template on the label, then the first template on a few synonyms (other words, same concept)."""
    out = [t.format(label=label) for t in templates]
    out += [templates[0].format(label=s) for s in synonyms[:MAX_SYNONYM_PROMPTS]]
    return tuple(dict.fromkeys(out))


# --- names ------------------------------------------------------------------------------------------------


def _singular(word: str) -> str:
    """Crude English singular, enough to fold "Dogs"/"Dog", "Puppies"/"Puppy", "Buses"/"Bus"."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses", "ses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def normalize(name: str) -> str:
    """Comparison key: NFKC, casefold, single spaces, last word singular ("Hot Air Balloons" → "hot air balloon")."""
    words = unicodedata.normalize("NFKC", name).casefold().replace("-", " ").split()
    if not words:
        return ""
    words[-1] = _singular(words[-1])
    return " ".join(words)


def is_junk(label: str) -> bool:
    """Names that are not visual concepts: numbers, dates, file names, category markers, 1-char names."""
    s = label.strip()
    return (
        len(s) < 2
        or s.replace(" ", "").isdigit()
        or bool(_DATE_LIKE.match(s))
        or bool(_FILE_LIKE.match(s))
        or bool(_CATEGORY_MARK.match(s))
    )


# --- sources ----------------------------------------------------------------------------------------------


def load_builtin(path: Path | None = None) -> list[Term]:
    """Terms of the built-in vocabulary file (format documented at its top), in file order."""
    with open(path or BUILTIN_PATH, "rb") as f:
        data = tomllib.load(f)
    out: list[Term] = []
    seen: dict[str, str] = {}

    def walk(group: dict[str, Any], prefix: tuple[str, ...], templates: tuple[str, ...]) -> None:
        templates = tuple(group.get("templates", templates))
        for entry in group.get("terms", ()):
            spec = {"name": entry} if isinstance(entry, str) else dict(entry)
            unknown = set(spec) - {"name", "synonyms", "prompts"}
            if unknown or not isinstance(spec.get("name"), str):
                raise ValueError(f"{path or BUILTIN_PATH}: bad term {entry!r} in {'|'.join(prefix)}")
            synonyms = tuple(spec.get("synonyms", ()))
            term = Term(
                path=(*prefix, spec["name"]),
                synonyms=synonyms,
                source="builtin",
                prompts=tuple(spec.get("prompts", ())) or default_prompts(spec["name"], synonyms, templates),
            )
            # One concept, one keyword: a duplicate name in the file is a data bug, not something to merge.
            for name in (term.label, *synonyms):
                key = normalize(name)
                if key in seen and seen[key] != term.full_path:
                    raise ValueError(f"duplicate vocabulary name {name!r}: {seen[key]} and {term.full_path}")
                seen[key] = term.full_path
            out.append(term)
        for key, value in group.items():
            if isinstance(value, dict):
                walk(value, (*prefix, key), templates)

    walk(data, (), tuple(data.get("templates", DEFAULT_TEMPLATES)))
    return out


@dataclass(frozen=True)
class _Blocked:
    """Catalog names that are not assignable (person, not exported) but must still stop built-in duplicates."""

    names: frozenset[str] = field(default_factory=frozenset)


def _catalog_keywords(tree: KeywordTree) -> tuple[list[Term], _Blocked]:
    terms: list[Term] = []
    blocked: set[str] = set()
    for kw in sorted(tree.by_id.values(), key=lambda k: (len(k.path), [p.casefold() for p in k.path])):
        if not kw.name or any(not p for p in kw.path):
            continue  # damaged row (no name somewhere on its path): it cannot be written back either
        names = (kw.name, *kw.synonyms)
        if kw.keyword_type == "person" or not kw.include_on_export:
            blocked.update(normalize(n) for n in names)
            continue
        synonyms = tuple(s for s in kw.synonyms if s.strip())
        terms.append(
            Term(
                path=kw.path,
                synonyms=synonyms,
                source="catalog",
                prompts=default_prompts(kw.name, synonyms),
            )
        )
    return terms, _Blocked(frozenset(blocked))


def terms_from_keyword_tree(tree: KeywordTree) -> list[Term]:
    """Assignable terms of a Lightroom keyword tree (decisions in the module docstring), shallow paths first."""
    terms, _ = _catalog_keywords(tree)
    return _dedupe_labels(t for t in terms if not is_junk(t.label))


def terms_from_catalog(lrcat: Path) -> list[Term]:
    """Open `lrcat` through the safe reader (lock check, verified copy, read-only) and read its keyword tree."""
    return terms_from_keyword_tree(catalog_keyword_tree(lrcat))


def catalog_keyword_tree(lrcat: Path) -> KeywordTree:
    from catalog.reader import open_catalog

    with open_catalog(lrcat) as cat:
        return cat.keyword_tree()


def remember_vocabulary_catalog(data_dir: Path, lrcat: Path) -> Path | None:
    """Keep `index --vocabulary-catalog LRCAT` for the next runs of this data dir (vocabulary.json, read by
    `Settings.with_data_dir_vocabulary`), so a plain `index` goes on with the same vocabulary instead of
    re-keywording the library with the built-in one. An empty path (`--vocabulary-catalog ''`) forgets it: back
    to the built-in vocabulary. A path that is not a file is not remembered (the run says it was not used).
    Returns the catalog this run uses (absolute), or None when forgotten."""
    from bridge.files import datadir
    from bridge.settings import DATA_DIR_VOCABULARY_FILE

    record = Path(data_dir) / DATA_DIR_VOCABULARY_FILE
    if str(lrcat) in ("", "."):
        record.unlink(missing_ok=True)
        return None
    chosen = Path(lrcat).expanduser().absolute()
    if chosen.is_file():
        record.parent.mkdir(parents=True, exist_ok=True)
        datadir.write_json_atomic(record, {"vocabulary_catalog": str(chosen)}, indent=2)
    return chosen


def catalog_top_keywords(lrcat: Path | None) -> tuple[tuple[str, ...], str | None]:
    """The top-level keyword names of the vocabulary catalog (what the keyword-parent rule keeps in place when
    writing XMP: catalog/keyword_parent.py), and a sentence when it could not be read (Lightroom has it open,
    it is missing …). No catalog: ((), None)."""
    if lrcat is None:
        return (), None
    try:
        tree = catalog_keyword_tree(Path(lrcat))
    except Exception as e:  # CatalogError, OSError: the caller says so and goes on without
        return (), f"the vocabulary catalog {lrcat} could not be read ({e})"
    return tuple(sorted(k.name for k in tree.by_id.values() if k.parent_id is None and k.name)), None


def _dedupe_labels(terms: Iterable[Term]) -> list[Term]:
    out: list[Term] = []
    labels: set[str] = set()
    paths: set[str] = set()
    for t in terms:
        key = normalize(t.label)
        if key in labels or t.full_path.casefold() in paths:
            continue
        labels.add(key)
        paths.add(t.full_path.casefold())
        out.append(t)
    return out


# --- building ---------------------------------------------------------------------------------------------


def _matches(entry: str, term_paths: Sequence[str], label: str) -> bool:
    """An allow/deny entry matches a term by label (normalised) or as a path prefix ("Subjects|Animals")."""
    e = entry.strip().strip(SEPARATOR)
    if not e:
        return False
    if SEPARATOR not in e and normalize(e) == normalize(label):
        return True
    ef = e.casefold()
    return any(p.casefold() == ef or p.casefold().startswith(ef + SEPARATOR) for p in term_paths)


def build_vocabulary(
    *,
    catalog_terms: Sequence[Term] = (),
    builtin: bool = True,
    allow: Sequence[str] = (),
    deny: Sequence[str] = (),
    tree: KeywordTree | None = None,
) -> Vocabulary:
    """Catalog terms first (they win), then built-in terms not already in the catalog.

    A built-in term whose label or synonym names a catalog keyword (by its name or synonym) is merged into
    that catalog term: the catalog path is kept, the built-in synonyms and prompts are added to it (better
    CLIP prompts for the user's own keyword). `tree`, when given, also supplies person/not-exported keywords
    so that a built-in term never duplicates one of them either.

    `allow` (if non-empty) keeps only terms matching an entry; `deny` removes matching terms; DEFAULT_DENY
    (camera/brand/software names) is always removed unless the exact label is listed in `allow`. Entries are
    labels (case-insensitive, plural-folded) or path prefixes; a merged built-in term also answers to its
    built-in path, so allow=["Subjects|Animals"] keeps "Animals|Dogs" that absorbed the built-in "Dog".
    """
    blocked = _catalog_keywords(tree)[1] if tree is not None else _Blocked()
    base = _dedupe_labels(t for t in catalog_terms if not is_junk(t.label))
    # name → index into `merged`; a keyword's own name wins over another keyword's synonym.
    index: dict[str, int] = {}
    for i, t in enumerate(base):
        index.setdefault(normalize(t.label), i)
    for i, t in enumerate(base):
        for s in t.synonyms:
            index.setdefault(normalize(s), i)
    merged: list[Term] = list(base)
    aliases: list[list[str]] = [[t.full_path] for t in base]
    names_taken = {normalize(t.label) for t in base}

    if builtin:
        for b in load_builtin():
            if is_junk(b.label):
                continue
            keys = [normalize(n) for n in (b.label, *b.synonyms)]
            hit = next((index[k] for k in keys if k in index), None)
            if hit is not None:
                cat = merged[hit]
                extra_syn = tuple(s for s in (b.label, *b.synonyms) if normalize(s) != normalize(cat.label))
                prompts = cat.prompts or default_prompts(cat.label, cat.synonyms)
                merged[hit] = replace(
                    cat,
                    synonyms=tuple(dict.fromkeys((*cat.synonyms, *extra_syn))),
                    prompts=tuple(dict.fromkeys((*prompts, *b.effective_prompts))),
                )
                aliases[hit].append(b.full_path)
                continue
            if any(k in blocked.names for k in keys) or normalize(b.label) in names_taken:
                continue  # the catalog already has this name (person / not exported): never a second node
            names_taken.add(normalize(b.label))
            for k in keys:
                index.setdefault(k, len(merged))
            merged.append(b)
            aliases.append([b.full_path])

    out: list[Term] = []
    for term, paths in zip(merged, aliases, strict=True):
        explicitly_allowed = any(normalize(a) == normalize(term.label) for a in allow)
        if not explicitly_allowed and any(normalize(d) == normalize(term.label) for d in DEFAULT_DENY):
            continue
        if allow and not any(_matches(a, paths, term.label) for a in allow):
            continue
        if any(_matches(d, paths, term.label) for d in deny):
            continue
        out.append(term)
    return Vocabulary(tuple(out))
