"""Typed records passed between pipeline stages.

scan → ScannedFile → (worker: decode + metadata + preprocess) → FileResult → embed → store/ledger.
Per-file failure is a value (`Failure` with a `Reason`), never an abort.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class Reason(StrEnum):
    """Named reasons a file can fail. Stable strings: they are stored in the ledger and shown to users."""

    EMPTY_FILE = "empty_file"  # 0 bytes
    NOT_AN_IMAGE = "not_an_image"  # content is not an image format we know (text renamed .jpg, ...)
    TRUNCATED = "truncated"  # image data ends early (partial copy, interrupted download)
    CORRUPT = "corrupt"  # decoder rejected the data for another reason
    TOO_LARGE = "too_large"  # pixel count or file size above its format's limit (bombs, 1 GB "JPEGs")
    UNSUPPORTED_FORMAT = "unsupported_format"  # an image, but no decoder here (e.g. a plugin missing)
    UNSUPPORTED_RAW = "unsupported_raw"  # LibRaw cannot open this RAW variant
    RAW_NO_IMAGE = "raw_no_image_data"  # RAW container whose image data is stripped or empty
    IO_ERROR = "io_error"  # the OS failed to read it
    PERMISSION_DENIED = "permission_denied"
    MISSING = "missing"  # deleted or moved between scan and processing
    DECODER_CRASHED = "decoder_crashed"  # the decoding worker process died on this file
    METADATA_ERROR = "metadata_error"  # metadata could not be read (the image itself may be fine)
    NOT_A_REGULAR_FILE = "not_a_regular_file"  # a FIFO, device or socket named like a photo: never read


class Stage(StrEnum):
    """The steps a file or its content goes through. Stable strings: stored in the ledger's `stages` and
    `failures` tables (a stage row is `stage@version` done for one content fingerprint)."""

    SCAN = "scan"  # the file could not be listed or fingerprinted (failures only)
    DECODE = "decode"  # the pixels could not be read (failures only)
    METADATA = "metadata"  # EXIF/IPTC/XMP read; version: the extractor's version
    EMBED = "embed"  # a vector in the store; version: the model id
    QUALITY = "quality"  # quality scores; version: the analysis version
    DUPSIG = "dupsig"  # duplicate signature; version: the analysis version
    KEYWORDS = "keywords"  # zero-shot keywords; version: model + vocabulary
    CAPTION = "caption"  # a caption; version: the caption model
    FACES = "faces"  # face boxes, eyes, sharpness, embeddings; version: analysis version + options (opt-in)
    PEOPLE = "people"  # the named people a content shows (bridge/search/people.py); version: its PEOPLE_VERSION
    COMPOSITION = "composition"  # horizon tilt, subject placement, edge cut; version: the analysis version


# Stages whose failure means the file itself could not be read: it waits until it changes (R8).
FILE_STAGES = (Stage.DECODE, Stage.SCAN)


class RunFailure(Exception):
    """The run cannot go on, and no file is to blame: the decode workers cannot start, a log or the disk
    cannot be written, the model vanished. Raised to the caller (a message, a non-zero exit); files in
    flight are not recorded as failed, so the next run does them (R44, R45)."""


class SourceOutage(RunFailure):
    """A RunFailure because a source's store (an object store behind an `s3://` URL) stopped answering or
    stopped accepting the credentials: nothing is wrong with the files or this machine, so a watcher keeps
    going and tries the same changes again later; `index` stops with the message like any RunFailure."""


class DecodeError(Exception):
    """A decode failure with a named reason; `str()` gives the human detail."""

    def __init__(self, reason: Reason, detail: str, *, size: tuple[int, int] | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        # The displayed (oriented) width and height when the decoder learnt them before failing (a stripped
        # RAW's LibRaw sizes): better than the metadata's, which for RAWs is often the sensor's.
        self.size = size


class MetadataError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.reason = Reason.METADATA_ERROR
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """One file found by the scan. `fingerprint` is filled for new or changed files only."""

    path: str
    size: int
    mtime_ns: int
    root: str
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    stage: Stage
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded, oriented RGB bitmap, small enough to reuse for embedding, scores and thumbnails."""

    pixels: np.ndarray  # H x W x 3, uint8, EXIF/container orientation applied
    # The displayed size: full resolution, after orientation, as Lightroom shows it (for RAWs LibRaw's
    # output image, its default crop applied, never the raw sensor size)
    width: int
    height: int
    source: str  # how it was decoded: "jpeg-draft", "pillow", "heif", "raw-preview", "raw-halfsize"
    format: str = ""  # the format the content is, whatever the extension says: jpeg, png, tiff, raw ...
    # A JPEG whose last rows are missing (cut a little short): the share of rows decoded; None when whole
    partial: float | None = None


@dataclass(frozen=True, slots=True)
class FileResult:
    """What a decode worker sends back for one file."""

    path: str
    fingerprint: str
    metadata: dict[str, Any] | None = None
    model_input: np.ndarray | None = None  # S x S x 3 uint8, ready for the model's normalisation
    failures: tuple[Failure, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)  # CPU seconds per phase in the worker
    analyses: dict[str, tuple[str, Any]] = field(default_factory=dict)  # kind → (version, data)
    bitmap: np.ndarray | None = None  # the decoded bitmap itself, when asked for (captions)
    vector: np.ndarray | None = (
        None  # the embedding, when a cluster's model actor made it (no model_input then)
    )

    @property
    def failed(self) -> bool:
        return any(f.stage == Stage.DECODE for f in self.failures)
