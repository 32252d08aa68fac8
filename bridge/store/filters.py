"""A small backend-neutral filter spec, and its translation to Qdrant Edge and qdrant-client filters.

A `Filter` is a conjunction of `Condition`s (field, op, value). How an op is translated depends on the
field's index kind (`PAYLOAD_FIELDS`): equality on a float is a tiny range (Qdrant only matches exact
bool/int/str values), and equality on a text field is a full-text match. Fields that are not indexed
are still filterable (Qdrant scans their payload), judged by the value's Python type.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal, get_args

from bridge.store.schema import PAYLOAD_FIELDS, Kind

Op = Literal["eq", "ne", "gte", "lte", "gt", "lt", "text", "any"]
OPS: frozenset[str] = frozenset(get_args(Op))
RANGE_OPS = frozenset({"gte", "lte", "gt", "lt"})
FLOAT_EQ_TOLERANCE = 1e-6  # relative: f/2.8 read from EXIF as 2.8000000000000003 still equals 2.8


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: Op
    value: Any  # a number for range ops, a str for text, a non-empty tuple for any

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"unknown filter operator {self.op!r}; expected one of {sorted(OPS)}")
        if self.op in RANGE_OPS and not _is_number(self.value):
            raise ValueError(f"{self.field} {self.op} needs a number, not {self.value!r}")
        if self.op == "text" and not isinstance(self.value, str):
            raise ValueError(f"{self.field} text match needs a string, not {self.value!r}")
        if self.op == "any":
            if isinstance(self.value, str | bytes) or not isinstance(self.value, Sequence) or not self.value:
                raise ValueError(f"{self.field} any-of needs a non-empty list, not {self.value!r}")
            object.__setattr__(self, "value", tuple(self.value))  # hashable, like the rest of the spec


@dataclass(frozen=True, slots=True)
class Filter:
    """All `conditions` must hold, and when `any_of` is given at least one of those. An empty filter
    matches everything. (`any_of` serves hybrid search: "a query word in the caption, or the title, or
    the keywords"; two filters with `any_of` cannot be combined with `&`.)"""

    conditions: tuple[Condition, ...] = ()
    any_of: tuple[Condition, ...] = ()

    @classmethod
    def of(cls, *conditions: Condition) -> Filter:
        return cls(tuple(conditions))

    def __and__(self, other: Filter) -> Filter:
        if self.any_of and other.any_of:
            raise ValueError("cannot combine two filters that each have an any-of group")
        return Filter(self.conditions + other.conditions, self.any_of or other.any_of)

    def __bool__(self) -> bool:
        return bool(self.conditions or self.any_of)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _kind(cond: Condition) -> Kind:
    kind = PAYLOAD_FIELDS.get(cond.field)
    if kind is not None:
        return kind
    sample = cond.value[0] if cond.op == "any" else cond.value  # unindexed field: judge by the value
    if isinstance(sample, float):
        return Kind.FLOAT
    if isinstance(sample, int) and not isinstance(sample, bool):
        return Kind.INTEGER
    return Kind.TEXT if cond.op == "text" else Kind.KEYWORD


def _translate(spec: Filter, m: SimpleNamespace) -> Any:
    """Build a backend filter with the constructors in `m` (Filter, FieldCondition, MatchValue, MatchText,
    MatchAny, Range). Both bindings take the same keyword names, so one translation serves both."""
    must: list[Any] = []
    must_not: list[Any] = []
    if spec.any_of:
        # One nested filter whose `should` needs at least one match (Qdrant's OR).
        must.append(m.Filter(should=[_translate(Filter.of(c), m) for c in spec.any_of]))

    def field(cond: Condition, **kw: Any) -> Any:
        return m.FieldCondition(key=cond.field, **kw)

    def equal(cond: Condition, kind: Kind, value: Any) -> Any:
        if kind is Kind.TEXT:
            return field(cond, match=m.MatchText(text=str(value)))
        if kind is Kind.FLOAT:
            if not _is_number(value):
                raise ValueError(f"{cond.field} needs a number, not {value!r}")
            eps = FLOAT_EQ_TOLERANCE * max(1.0, abs(value))
            return field(cond, range=m.Range(gte=value - eps, lte=value + eps))
        if kind is Kind.INTEGER:
            if not _is_number(value) or value != int(value):
                raise ValueError(f"{cond.field} needs a whole number, not {value!r}")
            value = int(value)
        return field(cond, match=m.MatchValue(value=value))

    for cond in spec.conditions:
        kind = _kind(cond)
        if cond.op in RANGE_OPS:
            if kind in (Kind.KEYWORD, Kind.TEXT):
                raise ValueError(f"{cond.field} is not a number, so it cannot be compared with {cond.op}")
            must.append(field(cond, range=m.Range(**{cond.op: cond.value})))
        elif cond.op == "text":
            must.append(field(cond, match=m.MatchText(text=cond.value)))
        elif cond.op == "any":
            if kind in (Kind.KEYWORD, Kind.INTEGER) and all(isinstance(v, str | int) for v in cond.value):
                must.append(field(cond, match=m.MatchAny(any=list(cond.value))))
            else:  # floats and text have no any-of match: an OR of equalities does the same
                must.append(m.Filter(should=[equal(cond, kind, v) for v in cond.value]))
        elif cond.op == "eq":
            must.append(equal(cond, kind, cond.value))
        else:  # ne: points without the field match too ("label != Red" keeps unlabelled photos)
            must_not.append(equal(cond, kind, cond.value))
    return m.Filter(must=must or None, must_not=must_not or None)


@functools.cache  # import lazily: the Edge path never pays for qdrant_client
def _edge() -> SimpleNamespace:
    import qdrant_edge as qe

    return SimpleNamespace(
        Filter=qe.Filter,
        FieldCondition=qe.FieldCondition,
        MatchValue=qe.MatchValue,
        MatchText=qe.MatchText,
        MatchAny=qe.MatchAny,
        Range=qe.RangeFloat,  # takes ints too: it is also the range type for integer indexes
    )


@functools.cache
def _client() -> SimpleNamespace:
    from qdrant_client import models

    return SimpleNamespace(
        Filter=models.Filter,
        FieldCondition=models.FieldCondition,
        MatchValue=models.MatchValue,
        MatchText=models.MatchText,
        MatchAny=models.MatchAny,
        Range=models.Range,
    )


def to_edge(spec: Filter | None) -> Any:
    """A `qdrant_edge.Filter`, or None for no filtering."""
    return _translate(spec, _edge()) if spec else None


def to_client(spec: Filter | None) -> Any:
    """A `qdrant_client.models.Filter`, or None for no filtering."""
    return _translate(spec, _client()) if spec else None
