"""User rules that turn per-photo scores into rating / pick / colour label.

A rule is `score op value → field = to`, e.g. `Rule("sharpness", "<", 0.2, "pick", -1)` or
`Rule("quality", ">=", 0.8, "rating", 4)`. JSON form: `{"score": "quality", "op": ">=", "value": 0.8,
"set": "rating", "to": 4}`; text form for the CLI: `"quality >= 0.8 -> rating 4"`.

Evaluation (`evaluate`): rules are tried in order and the **first** matching rule for each field wins; a photo
missing the score never matches. An explicit value in the photo's change overrides any rule.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
FIELDS = ("rating", "pick", "label")
_TEXT = re.compile(r"^\s*(\w+)\s*(<=|>=|==|!=|<|>)\s*(-?[\d.]+)\s*(?:->|→)\s*(rating|pick|label)\s+(.+?)\s*$")


@dataclass(frozen=True)
class Rule:
    score: str
    op: str
    value: float
    set: str  # rating | pick | label
    to: Any  # rating 0-5, pick 1/0/-1, label text

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"rule operator must be one of {', '.join(OPS)}: {self.op!r}")
        if self.set not in FIELDS:
            raise ValueError(f"rule target must be one of {', '.join(FIELDS)}: {self.set!r}")
        if self.set == "rating" and self.to is not None and int(self.to) not in range(6):
            raise ValueError(f"rating must be 0-5: {self.to!r}")
        if self.set == "pick" and int(self.to) not in (-1, 0, 1):
            raise ValueError(f"pick must be 1, 0 or -1: {self.to!r}")

    def matches(self, scores: Mapping[str, float]) -> bool:
        v = scores.get(self.score)
        return v is not None and OPS[self.op](float(v), float(self.value))

    @classmethod
    def parse(cls, spec: str | Mapping[str, Any]) -> Rule:
        if isinstance(spec, Mapping):
            return cls(
                str(spec["score"]), str(spec["op"]), float(spec["value"]), str(spec["set"]), spec["to"]
            )
        m = _TEXT.match(spec)
        if not m:
            raise ValueError(f"cannot parse rule {spec!r} (expected e.g. 'quality >= 0.8 -> rating 4')")
        score, op, value, field, to = m.groups()
        target: Any = to if field == "label" else int(to)
        return cls(score, op, float(value), field, target)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(rules: Iterable[Rule], scores: Mapping[str, float]) -> dict[str, Any]:
    """field → value from the first matching rule per field."""
    out: dict[str, Any] = {}
    for rule in rules:
        if rule.set not in out and rule.matches(scores):
            out[rule.set] = rule.to
    return out
