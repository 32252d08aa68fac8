"""The process's one door to Exiv2: a lock and the log level each caller needs.

Exiv2 keeps global state (its XMP parser, its log level) and is not thread-safe, so every pyexiv2 call in the
process — the engine's metadata reader and this library's embedded-XMP writer alike — runs inside `session`.
The log level is process-wide and decides whether pyexiv2 raises on a logged error, so each session sets the
level it needs instead of trusting whoever set it last: a reader mutes Exiv2 (some maker notes are logged as
errors yet read fine), a writer keeps errors (they must stop a rewrite).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

LOCK = threading.Lock()

QUIET = 4  # mute: a logged error is skipped, not raised (reading)
ERRORS = 3  # errors raise; warnings are noise (writing)


@contextmanager
def session(level: int) -> Iterator[None]:
    """Hold the Exiv2 lock with pyexiv2's log level set to `level`."""
    import pyexiv2  # imported lazily: sidecar-only users never load Exiv2

    with LOCK:
        pyexiv2.set_log_level(level)
        yield
