"""Reading the user's rules file (TOML or YAML; the format is documented in `rules.py`) into a `RuleSet`, with
errors that name the file, the rule and the key, and suggest the field meant by a typo."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bridge.metadata.read import field_names
from bridge.metadata.rules import (
    FIELD_NAME,
    PSEUDO_FIELDS,
    RULE_KEYS,
    UNSETTABLE,
    Condition,
    Rule,
    RuleError,
    RuleSet,
    Template,
    parse_condition,
    parse_template,
    plain_value,
)

__all__ = ["load_rules", "parse_rules", "rules_from_data"]


def load_rules(path: str | Path, *, extra_fields: Iterable[str] = ()) -> RuleSet:
    """Rules from a `.toml`, `.yaml` or `.yml` file; RuleError names the file and the rule.

    `extra_fields`: payload fields other stages add (scores, AI labels) that conditions and
    templates may name besides the metadata fields.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise RuleError(f"{path}: rules files must end in .toml, .yaml or .yml")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read rules file: {exc}") from exc
    return parse_rules(
        text, "toml" if suffix == ".toml" else "yaml", source=str(path), extra_fields=extra_fields
    )


def parse_rules(text: str, fmt: str, *, source: str = "<rules>", extra_fields: Iterable[str] = ()) -> RuleSet:
    """Rules from TOML or YAML text."""
    if fmt == "toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RuleError(f"{source}: not valid TOML: {exc}") from exc
    elif fmt == "yaml":
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RuleError(f"{source}: not valid YAML: {exc}") from exc
    else:
        raise ValueError(f"unknown rules format {fmt!r} (toml or yaml)")
    return rules_from_data(data, source=source, extra_fields=extra_fields)


def rules_from_data(data: Any, *, source: str = "<rules>", extra_fields: Iterable[str] = ()) -> RuleSet:
    """Rules from already-parsed data: {"rule": [...]}, {"rules": [...]} or a bare list."""
    entries = _rule_entries(data, source)
    known = {*field_names(), *PSEUDO_FIELDS, "rules_applied", *extra_fields}
    rules: list[Rule] = []
    for index, entry in enumerate(entries, start=1):
        rule = _parse_rule(entry, index, known, source)
        if rule is None:
            continue
        if any(r.name == rule.name for r in rules):
            raise RuleError(f"{source}: rule {index}: the name {rule.name!r} is used twice")
        rules.append(rule)
        known.update(name for name, _ in rule.set)  # later rules may use fields this one sets
    return RuleSet(rules, source)


def _rule_entries(data: Any, source: str) -> list[Any]:
    if data is None:
        return []
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        raise RuleError(f"{source}: expected a list of rules under 'rule' or 'rules'")
    unknown = set(data) - {"rule", "rules"}
    if unknown:
        raise RuleError(f"{source}: unknown top-level key(s) {sorted(unknown)}: rules go under [[rule]]")
    if "rule" in data and "rules" in data:
        raise RuleError(f"{source}: use either 'rule' or 'rules', not both")
    entries = data.get("rule", data.get("rules")) or []
    if not isinstance(entries, list):
        raise RuleError(f"{source}: 'rule' must be a list of tables ([[rule]] in TOML)")
    return entries


def _parse_rule(entry: Any, index: int, known: set[str], source: str) -> Rule | None:
    if not isinstance(entry, dict):
        raise RuleError(f"{source}: rule {index}: expected a table of settings, got {type(entry).__name__}")
    name = entry.get("name", f"rule {index}")
    where = f"{source}: rule {index} ({name!r})"
    try:
        return _build_rule(entry, index, known)
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from exc


def _build_rule(entry: dict[str, Any], index: int, known: set[str]) -> Rule | None:
    unknown = set(entry) - RULE_KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)}; a rule has {sorted(RULE_KEYS)}")
    name = entry.get("name", f"rule {index}")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("'name' must be non-empty text")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("'enabled' must be true or false")
    if not enabled:
        return None
    path = _compile_path(entry.get("path"))
    when = _parse_when(entry.get("when", {}), known)
    groups = set(path.groupindex) if path else set()
    for condition in when:
        if condition.regex is not None:
            groups.update(condition.regex.groupindex)
    variables = known | groups
    keywords = tuple(
        _template(t, variables, "keywords") for t in _string_list(entry.get("keywords", []), "keywords")
    )
    settings = _parse_set(entry.get("set", {}), variables)
    return Rule(name.strip(), index, path, when, keywords, settings)


def _compile_path(pattern: Any) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("'path' must be a non-empty regular expression")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regex in 'path' {pattern!r}: {exc}") from exc


def _parse_when(when: Any, known: set[str]) -> tuple[Condition, ...]:
    if not isinstance(when, dict):
        raise ValueError("'when' must be a table of field = condition")
    conditions = []
    for field, spec in when.items():
        _check_field(str(field), known, "'when'")
        conditions.append(parse_condition(str(field), spec))
    return tuple(conditions)


def _parse_set(values: Any, variables: set[str]) -> tuple[tuple[str, Any], ...]:
    if not isinstance(values, dict):
        raise ValueError("'set' must be a table of field = value")
    result = []
    for field, value in values.items():
        field = str(field)
        if not FIELD_NAME.match(field):
            raise ValueError(f"'set': {field!r} is not a valid field name (letters, digits, _)")
        if field in UNSETTABLE:
            hint = " (use keywords = [...])" if field.startswith("keyword") else ""
            raise ValueError(f"'set' cannot change {field!r}{hint}")
        value = plain_value(value)
        if isinstance(value, str):
            value = _template(value, variables, f"set.{field}")
        elif isinstance(value, list):
            value = [plain_value(v) for v in value]
            if not all(isinstance(v, str) for v in value):
                raise ValueError(f"'set.{field}': a list may hold text only")
        elif not isinstance(value, bool | int | float):
            raise ValueError(f"'set.{field}': values are text, numbers, booleans or lists of text")
        result.append((field, value))
    return tuple(result)


def _string_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{key}' must be a list of text")
    return value


def _template(text: str, variables: set[str], where: str) -> Template:
    template = parse_template(text)
    for name in template.names:
        if name not in variables:
            raise ValueError(f"{where}: template {text!r} names {{{name}}}, {_unknown_hint(name, variables)}")
    return template


def _check_field(field: str, known: set[str], where: str) -> None:
    if field not in known:
        raise ValueError(f"{where}: unknown field {field!r}{_did_you_mean(field, known)}")


def _unknown_hint(name: str, known: set[str]) -> str:
    hint = "which is neither a named group of this rule's regexes nor a known field"
    return hint + _did_you_mean(name, known)


def _did_you_mean(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=3)
    return f"; did you mean {', '.join(close)}?" if close else ""
