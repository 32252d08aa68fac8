"""Where the CLI's log records go: one plain line per warning on stderr, the details in a private file.

Without this, the first library that logs through the root logger (open_clip does) makes Python install its
default stderr handler, and any warning logged with `exc_info` then prints a whole traceback at the user
(R49). Here the terminal gets `warning: <message>` only; the file `pixel-detective.log` in the per-user log
folder (0600, rotated) keeps every record of INFO and above with its traceback, for bug reports.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from bridge.cli.last_resort import crash_log_dir

LOG_NAME = "pixel-detective.log"
_MAX_BYTES = 2_000_000
_BACKUPS = 3


class _OneLine(logging.Formatter):
    """The message alone: no traceback, no stack (they are in the log file)."""

    def format(self, record: logging.LogRecord) -> str:
        level = "warning" if record.levelno < logging.ERROR else "error"
        return f"{level}: {record.getMessage()}"


def log_file() -> Path:
    return crash_log_dir() / LOG_NAME


def _private_file_handler() -> logging.Handler | None:
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))  # created private
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8", errors="backslashreplace"
        )
    except OSError:
        return None  # a read-only home or a full disk must not stop the command itself
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    return handler


def configure() -> None:
    """Install the CLI's handlers on the root logger (once; later calls change nothing)."""
    root = logging.getLogger()
    if any(getattr(h, "_pixel_detective", False) for h in root.handlers):
        return
    terminal = logging.StreamHandler()
    terminal.setLevel(logging.WARNING)
    terminal.setFormatter(_OneLine())
    handlers: list[logging.Handler] = [terminal]
    if (file_handler := _private_file_handler()) is not None:
        handlers.append(file_handler)
    for h in handlers:
        h._pixel_detective = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.setLevel(logging.INFO)
