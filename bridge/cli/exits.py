"""The exit codes every command uses (a small module: the last-resort handler imports it before anything)."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """Exit codes scripts can rely on (documented in `pixel-detective --help` and the README)."""

    OK = 0
    ERROR = 1  # something went wrong; the message says what
    USAGE = 2  # bad command line
    DEGRADED = 4  # finished, but a stage was skipped (e.g. no model weights: metadata only)
    BUSY = 75  # another process owns this index (EX_TEMPFAIL: try again later)
    LOCKED = 75  # Lightroom has the catalog open: the same "try again later" code (an alias of BUSY)
    INTERRUPTED = 130  # stopped by Ctrl-C after finishing the current batch


EXIT_HELP = (
    "Exit codes: 0 ok; 1 error; 2 usage; 4 finished without a stage (e.g. weights missing); "
    "75 busy: another process owns the index, or Lightroom has the catalog open; "
    "130 stopped by Ctrl-C (work so far is kept)."
)
