"""The CLI's last line of defence: no Python traceback ever reaches a user.

Commands turn the errors users can act on into messages themselves (`common.user_errors`, `fail`). Whatever
escapes them lands here: a known environment condition (disk full, permission denied, a bad settings file)
gets its own plain message; anything else is an internal error whose traceback goes to a private crash log
(0600, in the per-user log folder) and the user sees one line saying where it is.
"""

from __future__ import annotations

import errno
import os
import sys
import time
import traceback
from pathlib import Path

import platformdirs
from pydantic import ValidationError

from bridge.cli.exits import Exit
from bridge.files.diskspace import DiskFullError, is_disk_full
from bridge.settings import StoreSwitchError

APP_NAME = "pixel-detective"


def crash_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME))


def _say(message: str) -> None:
    # Plain stderr, not rich: this must work even when the console machinery is what failed.
    try:
        sys.stderr.write(f"error: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _settings_message(exc: ValidationError) -> str:
    fields = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ())) or 'value'}: {err.get('msg', 'invalid')}"
        for err in exc.errors()[:5]
    )
    return f"invalid settings ({fields}); check the settings file and PIXEL_DETECTIVE_* variables"


_PATH_ERRNOS = {
    errno.ENAMETOOLONG: "the file name is too long",
    errno.ENOENT: "not found",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EROFS: "the disk is read-only",
    errno.ELOOP: "too many symbolic links",
    errno.EEXIST: "already exists",
    errno.ENXIO: "not a file that can be opened (a FIFO without a writer, a socket or a device)",
}


def _short(name: object, keep: int = 120) -> str:
    """A path as the user can read it: decoded, and cut in the middle when it is absurdly long."""
    text = os.fsdecode(name) if isinstance(name, str | bytes | os.PathLike) else str(name)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return repr(text if len(text) <= keep else f"{text[: keep // 2]}…{text[-keep // 2 :]}")


def explain(exc: BaseException) -> tuple[str, int] | None:
    """A user-facing message and exit code for conditions users can fix themselves, or None."""
    if isinstance(exc, DiskFullError):
        return str(exc), Exit.ERROR
    if is_disk_full(exc):
        where = getattr(exc, "filename", None)
        place = f" (writing {os.fsdecode(where)!s})" if where else ""
        return (
            f"no space left on the disk{place}; free some space and run the command again "
            "(work already recorded is kept)",
            Exit.ERROR,
        )
    if isinstance(exc, PermissionError):
        where = getattr(exc, "filename", None)
        target = _short(where) if where else "a file it needs"
        return f"permission denied on {target}", Exit.ERROR
    if isinstance(exc, OSError) and exc.filename is not None and exc.errno in _PATH_ERRNOS:
        # A path the user gave (or one derived from it) the system refuses: name it and the reason.
        return f"{_PATH_ERRNOS[exc.errno]}: {_short(exc.filename)}", Exit.ERROR
    if isinstance(exc, ValidationError):
        return _settings_message(exc), Exit.USAGE
    if isinstance(exc, StoreSwitchError):
        return str(exc), Exit.ERROR
    if isinstance(exc, UnicodeError):
        return "a name or value is not valid text in this locale; see the crash log", Exit.ERROR
    return None


def write_crash_log(exc: BaseException) -> Path | None:
    """Write the traceback to a private file; None when even that is impossible (e.g. the disk is full)."""
    try:
        folder = crash_log_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"pixel-detective {' '.join(sys.argv[1:])!r}\n")
            f.write("".join(traceback.format_exception(exc)))
        return path
    except OSError:
        return None


def report(exc: BaseException) -> int:
    """Tell the user what happened in one line; return the exit code."""
    known = explain(exc)
    if known is not None:
        write_crash_log(exc)  # kept for support; the message alone is what the user needs
        message, code = known
        _say(message)
        return code
    log = write_crash_log(exc)
    where = f"; details in {log}" if log else ""
    _say(f"internal error ({type(exc).__name__}){where}. Please report it with that file.")
    return Exit.ERROR
