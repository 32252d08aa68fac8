"""Typed rows at the ledger's boundary: what callers hand to `Ledger.commit_batch` and what its queries
return. Plain frozen values; the ledger alone turns them into SQL parameters and back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.records import Failure, Stage


@dataclass(frozen=True, slots=True)
class FileRow:
    id: int
    path: str
    root: str
    size: int
    mtime_ns: int
    fingerprint: str | None
    seen_scan: int


@dataclass(frozen=True, slots=True)
class FailureRow:
    path: str
    stage: Stage
    reason: str
    detail: str
    attempts: int
    size: int | None
    mtime_ns: int | None
    last_at: float


@dataclass(frozen=True, slots=True)
class StageDone:
    """`stage@version` is done for one content; `point_id` names its vector (embed stages only)."""

    fingerprint: str
    stage: Stage
    version: str
    point_id: str | None = None


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """One analysis of one content (quality, duplicate signature, keywords, caption) as JSON-able data;
    recording it also marks `kind@version` done."""

    fingerprint: str
    kind: Stage
    version: str
    data: Any


@dataclass(frozen=True, slots=True)
class FailedFile:
    """A failure with the file's size and mtime when it failed: it is retried only once they change."""

    failure: Failure
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Removed:
    """A file row that was deleted (swept, or reported gone), with the content it had."""

    path: str
    fingerprint: str | None


@dataclass(frozen=True, slots=True)
class SidecarRow:
    """The XMP sidecar read for one file path: its file name (beside the photo), size and mtime when read
    (a change of either, or its appearing or going, makes the next run read it again), and its fields."""

    path: str
    name: str
    size: int
    mtime_ns: int
    fields: dict[str, Any]

    @property
    def stamp(self) -> tuple[str, int, int]:
        return (self.name, self.size, self.mtime_ns)
