"""User-defined metadata rules: add keywords and fields from the path and the metadata.

Rules are applied at index time and re-applied on demand over stored payloads; everything here
works on `(path, fields)` alone, without touching the file.

The rules file (TOML, or YAML with the same structure)
=======================================================

```toml
[[rule]]
name = "wedding clients"                       # shown in `rules_applied`; default "rule N"
path = '/Weddings/(?P<client>[^/]+)/'          # regex searched in the POSIX path
keywords = ["Clients|{client}"]                # '|' separates hierarchy levels

[[rule]]
name = "sony high iso"
when = { camera_model = "~ ^ILCE", iso = ">= 3200" }
set = { project = "Sony high ISO {camera_model}" }
keywords = ["Technical|High ISO"]
```

The same in YAML (quote conditions: a bare `>` or `|` starts a YAML block scalar):

```yaml
rules:
  - name: wedding clients
    path: '/Weddings/(?P<client>[^/]+)/'
    keywords: ["Clients|{client}"]
```

Keys of a rule (any other key is an error, to catch typos):

- `name`: unique text. Defaults to "rule N" (N counts from 1 in file order).
- `path`: a regular expression (Python syntax) searched anywhere in the photo's path with `/`
  separators (Windows backslashes are converted). Add `(?i)` for case-insensitive matching.
  Named groups `(?P<name>...)` can be used in templates.
- `when`: conditions on payload fields, all of which must hold. A value is one of
  `"= v"` (equal; text compares case-insensitively, numbers numerically), `"!= v"`,
  `"~ regex"` (search; named groups usable in templates), `"!~ regex"`, `">= n"`, `"<= n"`,
  `"> n"`, `"< n"` (numbers, or ISO dates compared as text at the precision written:
  `"> 2020-06-01"` means from 2020-06-02 on), `"exists"`,
  `"missing"`. Text without an operator means equality, a number or boolean means equality,
  and a list means "equal to any of these". On list fields (keywords) a condition holds when
  any element satisfies it. A missing field satisfies only `!=`, `!~` and `missing`.
  Besides payload fields, `path`, `folder`, `file_name` and `extension` (lower case, no dot)
  can be tested, and `rules_applied` holds the names of the rules that fired before this one.
- `keywords`: keyword templates. `"A|B|C"` is added to `keyword_paths` and its leaf `C` to
  `keywords`; a keyword without `|` is added to `keywords` only.
- `set`: payload fields to add or override; text values are templates, numbers, booleans and
  lists of text are stored as given. `keywords`, `keyword_paths` and the `rules_*` bookkeeping
  fields cannot be set.
- `enabled = false` keeps a rule in the file without applying it.

Templates: `{name}` is replaced by a named group of the rule's regexes, else by a payload field
(lists are joined with ", "); `{{` and `}}` are literal braces. Naming a group or field that
does not exist anywhere is an error when loading. When a photo lacks a field a template names,
the rule does not fire for that photo (a keyword "Lens|" would be worse than none).

Rules run in file order, each seeing the fields that earlier rules set. A rule with no `path`
and no `when` applies to every photo.

Applying
========

`RuleSet.apply(path, fields)` returns a new dict: the input with rule effects, plus
`rules_applied` (names of the rules that fired), `rules_version` (the rule set's version) and,
when rules changed anything, `rules_undo` (a JSON string recording what they added and what
they overwrote). Applying first removes the effects recorded in `rules_undo`, so re-applying
to a stored payload gives the same result as applying to the original (idempotent, no
duplicate keywords), and re-applying after the rules changed drops what old rules added.
`RuleSet.version` is a short hash of the parsed rules (not of the file's text): comments and
formatting do not change it, and equivalent TOML and YAML files have the same version.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

__all__ = [
    "Condition",
    "Rule",
    "RuleError",
    "RuleSet",
    "Template",
    "parse_condition",
    "parse_template",
    "strip_rules",
]

RULE_KEYS = frozenset({"name", "path", "when", "keywords", "set", "enabled"})
PSEUDO_FIELDS = ("path", "folder", "file_name", "extension")
BOOKKEEPING = ("rules_applied", "rules_version", "rules_undo")
UNSETTABLE = frozenset(
    {"keywords", "keyword_paths", "metadata_sources", "field_sources", *BOOKKEEPING, *PSEUDO_FIELDS}
)
OPERATORS = ("=", "!=", "~", "!~", ">=", "<=", ">", "<")
ENGINE_VERSION = "pixel-detective-rules/1"  # bump when rule semantics change: forces re-application

FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPERATOR_PREFIX = re.compile(r"^([=!<>~]+)\s*(.*)$", re.DOTALL)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}(?:-\d{2}(?:[T ][\d:.+\-Z]*)?)?$")
_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_Ordered = TypeVar("_Ordered", str, float)  # ISO date text or a number


class RuleError(ValueError):
    """A rules file that cannot be used; the message names the file, the rule and the problem."""


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    parts: tuple[str | tuple[str], ...]  # literal text, or (name,) placeholders

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p[0] for p in self.parts if isinstance(p, tuple))

    def render(self, variables: Mapping[str, Any], *, sanitize_bars: bool = False) -> str | None:
        """The filled-in text, or None when a placeholder has no value for this photo."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = variables.get(part[0])
            if value is None:
                return None
            text = value_text(value)
            # A field value must not invent hierarchy levels inside a keyword path.
            out.append(text.replace("|", "/") if sanitize_bars else text)
        return "".join(out)


def parse_template(text: str) -> Template:
    parts: list[str | tuple[str]] = []
    pos = 0
    for match in _TEMPLATE_TOKEN.finditer(text):
        parts.append(text[pos : match.start()])
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif token in ("{", "}"):
            raise ValueError(f"unbalanced {token!r} in {text!r} (write {token * 2} for a literal brace)")
        else:
            name = match.group(1).strip()
            if not FIELD_NAME.match(name):
                raise ValueError(f"bad placeholder {token!r} in {text!r}: expected {{field_or_group}}")
            parts.append((name,))
        pos = match.end()
    parts.append(text[pos:])
    return Template(text, tuple(p for p in parts if p != ""))


def value_text(value: Any) -> str:
    """How a field value reads inside a template or a regex condition."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str  # one of OPERATORS, "exists", "missing" or "in"
    operand: Any  # text, float, bool, tuple of choices (for "in"), or None
    regex: re.Pattern[str] | None = None

    def canonical(self) -> list[Any]:
        operand = list(self.operand) if isinstance(self.operand, tuple) else self.operand
        return [self.field, self.op, operand]

    def test(self, present: bool, value: Any) -> tuple[bool, dict[str, str]]:
        """Whether the condition holds, and the named groups of a regex match."""
        if self.op == "exists":
            return present, {}
        if self.op == "missing":
            return not present, {}
        if not present:
            return self.op in ("!=", "!~"), {}
        values = value if isinstance(value, list) else [value]
        if self.op == "~":
            for v in values:
                match = self.regex.search(value_text(v)) if self.regex else None
                if match:
                    return True, {k: g or "" for k, g in match.groupdict().items()}
            return False, {}
        if self.op == "!~":
            return not any(self.regex and self.regex.search(value_text(v)) for v in values), {}
        if self.op == "=":
            return any(_equal(v, self.operand) for v in values), {}
        if self.op == "!=":
            return not any(_equal(v, self.operand) for v in values), {}
        if self.op == "in":
            return any(_equal(v, choice) for v in values for choice in self.operand), {}
        return any(_compare(v, self.op, self.operand) for v in values), {}


def _equal(value: Any, operand: Any) -> bool:
    if isinstance(value, bool) or isinstance(operand, bool):
        return _as_bool(value) is not None and _as_bool(value) == _as_bool(operand)
    number, target = _as_number(value), _as_number(operand)
    if number is not None and target is not None:
        return math.isclose(number, target, rel_tol=1e-9, abs_tol=1e-9)
    return value_text(value).casefold() == value_text(operand).casefold()


def _compare(value: Any, op: str, operand: Any) -> bool:
    if isinstance(operand, str):  # an ISO date: compare the text form (same format, same order)
        if not isinstance(value, str):
            return False
        return _ordered(value[: len(operand)], op, operand)
    number = _as_number(value)
    if number is None or isinstance(value, bool):
        return False
    return _ordered(number, op, operand)


def _ordered(left: _Ordered, op: str, right: _Ordered) -> bool:
    return {
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
    }[op]


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = value_text(value).strip().casefold()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    return None


def parse_condition(field: str, spec: Any) -> Condition:
    """One `when` entry; raises ValueError with a plain explanation."""
    spec = plain_value(spec)
    if isinstance(spec, bool | int | float):
        return Condition(field, "=", spec)
    if isinstance(spec, list):
        if not spec or not all(isinstance(plain_value(s), str | int | float | bool) for s in spec):
            raise ValueError(f"condition on {field!r}: a list must hold plain values to compare with")
        return Condition(field, "in", tuple(plain_value(s) for s in spec))
    if not isinstance(spec, str):
        raise ValueError(f"condition on {field!r}: expected text like '>= 3200', got {type(spec).__name__}")
    text = spec.strip()
    if text.casefold() in ("exists", "missing"):
        return Condition(field, text.casefold(), None)
    match = _OPERATOR_PREFIX.match(text)
    if not match:
        return Condition(field, "=", text)  # bare text: equality
    op, operand = match.group(1), match.group(2).strip()
    op = "=" if op == "==" else op
    if op not in OPERATORS:
        known = ", ".join(repr(o) for o in (*OPERATORS, "exists", "missing"))
        raise ValueError(f"condition on {field!r}: unknown operator {op!r} in {spec!r} (known: {known})")
    if op in ("~", "!~"):
        try:
            return Condition(field, op, operand, re.compile(operand))
        except re.error as exc:
            raise ValueError(f"condition on {field!r}: bad regex {operand!r}: {exc}") from exc
    if op in ("=", "!="):
        return Condition(field, op, operand)
    number = _as_number(operand)
    if number is not None:
        return Condition(field, op, number)
    if _ISO_DATE.match(operand):
        return Condition(field, op, operand)
    raise ValueError(f"condition on {field!r}: {op!r} needs a number or an ISO date, got {operand!r}")


def plain_value(value: Any) -> Any:
    """TOML/YAML dates and times as ISO text, so both formats read the same."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    index: int  # 1-based position in the file
    path: re.Pattern[str] | None
    when: tuple[Condition, ...]
    keywords: tuple[Template, ...]
    set: tuple[tuple[str, Template | Any], ...]

    def canonical(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path.pattern if self.path else None,
            "when": [c.canonical() for c in self.when],
            "keywords": [t.text for t in self.keywords],
            "set": [[k, v.text if isinstance(v, Template) else v] for k, v in self.set],
        }

    def match(self, posix_path: str, fields: Mapping[str, Any]) -> dict[str, str] | None:
        """Named groups of the matched regexes, or None when the rule does not apply."""
        groups: dict[str, str] = {}
        if self.path is not None:
            found = self.path.search(posix_path)
            if not found:
                return None
            groups.update({k: g or "" for k, g in found.groupdict().items()})
        for condition in self.when:
            ok, found_groups = condition.test(condition.field in fields, fields.get(condition.field))
            if not ok:
                return None
            groups.update(found_groups)
        return groups

    def render(self, variables: Mapping[str, Any]) -> tuple[list[str], list[tuple[str, Any]]] | None:
        """Keyword paths and field values for this photo; None if a template lacks a value."""
        paths = []
        for template in self.keywords:
            text = template.render(variables, sanitize_bars=True)
            if text is None:
                return None
            paths.append(text)
        values = []
        for name, value in self.set:
            if isinstance(value, Template):
                value = value.render(variables)
                if value is None:
                    return None
            values.append((name, copy.deepcopy(value)))
        return paths, values


class RuleSet:
    """Parsed, validated rules; immutable and safe to share between threads."""

    def __init__(self, rules: Sequence[Rule], source: str = "<rules>") -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.source = source
        canonical = json.dumps(
            [ENGINE_VERSION, [r.canonical() for r in self.rules]], sort_keys=True, ensure_ascii=False
        )
        self.version: str = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"RuleSet({len(self.rules)} rules from {self.source}, version {self.version})"

    def apply(self, path: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A new payload with the rules applied (see the module docstring); `fields` is untouched."""
        work = strip_rules(fields)
        posix = to_posix(path)
        pseudo = _pseudo_fields(posix)
        added_keywords: list[str] = []
        added_paths: list[str] = []
        overwritten: dict[str, Any] = {}
        fired: list[str] = []
        work["rules_applied"] = fired  # visible to later rules' conditions
        for rule in self.rules:
            groups = rule.match(posix, {**pseudo, **work})
            if groups is None:
                continue
            rendered = rule.render({**pseudo, **work, **groups})
            if rendered is None:
                continue
            keyword_paths, values = rendered
            for name, value in values:
                overwritten.setdefault(name, work.get(name))  # None: the field was absent
                work[name] = value
            for keyword_path in keyword_paths:
                _add_keyword(work, keyword_path, added_keywords, added_paths)
            fired.append(rule.name)
        work["rules_version"] = self.version
        if added_keywords or added_paths or overwritten:
            undo = {"keywords": added_keywords, "keyword_paths": added_paths, "set": overwritten}
            work["rules_undo"] = json.dumps(undo, sort_keys=True, ensure_ascii=False)
        return work


def _add_keyword(work: dict[str, Any], text: str, added_keywords: list[str], added_paths: list[str]) -> None:
    parts = [p.strip() for p in text.split("|")]
    parts = [p for p in parts if p]
    if not parts:
        return
    if len(parts) > 1:
        keyword_path = "|".join(parts)
        if _append_unique(work, "keyword_paths", keyword_path):
            added_paths.append(keyword_path)
    if _append_unique(work, "keywords", parts[-1]):
        added_keywords.append(parts[-1])


def _append_unique(work: dict[str, Any], name: str, value: str) -> bool:
    current = work.get(name)
    items = list(current) if isinstance(current, list) else []
    if value.casefold() in {v.casefold() for v in items if isinstance(v, str)}:
        return False
    work[name] = [*items, value]
    return True


def strip_rules(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `fields` without the effects and bookkeeping of previously applied rules."""
    work = copy.deepcopy(dict(fields))
    undo_text = work.pop("rules_undo", None)
    for name in BOOKKEEPING:
        work.pop(name, None)
    if not isinstance(undo_text, str):
        return work
    try:
        undo = json.loads(undo_text)
    except ValueError:
        return work  # damaged bookkeeping: keep the fields as they are
    for name, original in (undo.get("set") or {}).items():
        if original is None:
            work.pop(name, None)
        else:
            work[name] = original
    for name in ("keywords", "keyword_paths"):
        added = set(undo.get(name) or [])
        if added and isinstance(work.get(name), list):
            remaining = [v for v in work[name] if v not in added]
            if remaining:
                work[name] = remaining
            else:
                del work[name]
    return work


def to_posix(path: str | Path) -> str:
    return str(path).replace("\\", "/")


def _pseudo_fields(posix_path: str) -> dict[str, str]:
    p = PurePosixPath(posix_path)
    return {
        "path": posix_path,
        "folder": str(p.parent),
        "file_name": p.name,
        "extension": p.suffix.lower().lstrip("."),
    }
