"""Write keywords, captions, ratings, labels and picks into a Lightroom catalog while Lightroom is closed.

    from catalog.write import PhotoChange, WriteOptions, plan, apply, remove_ours
    p = plan("Cat.lrcat", [PhotoChange(path="/pics/a.jpg", keywords=("Animals|Dog",), rating=4)])
    print(p)                       # dry run
    report = apply("Cat.lrcat", p)  # lock check, backup, one transaction, integrity check

See catalog/README.md "Writing (catalog/write/)" for every table and column written.
"""

from catalog.write.apply import apply
from catalog.write.model import (
    DEFAULT_PARENT,
    FIELDS,
    UNSET,
    ApplyReport,
    FieldChange,
    Link,
    NewKeyword,
    PhotoChange,
    PlanStale,
    WriteOptions,
    WritePlan,
    load_changes,
)
from catalog.write.plan import plan
from catalog.write.remove import RemoveReport, remove_ours
from catalog.write.rules import Rule, evaluate

__all__ = [
    "DEFAULT_PARENT", "FIELDS", "UNSET", "ApplyReport", "FieldChange", "Link", "NewKeyword", "PhotoChange",
    "PlanStale", "RemoveReport", "Rule", "WriteOptions", "WritePlan", "apply", "evaluate", "load_changes", "plan",
    "remove_ours",
]  # fmt: skip
