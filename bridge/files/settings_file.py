"""The TOML settings file as a whole: read (every failure a ValueError with a sentence) and written atomically,
readable by this user only (it may hold an API key). Used by `pixel-detective config` / `remote use` and the
tray app's settings dialog, so both write the file the same way."""

from __future__ import annotations

import contextlib
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any


def read_settings_file(path: Path) -> dict[str, Any]:
    """The TOML table of a settings file ({} when there is none); raises ValueError on a syntax error, on a
    path that is not a regular file (a FIFO never blocks: R48) or on a file too large to be settings."""
    from bridge.files.paths import FileTooLarge, NotRegularFile, read_regular

    try:
        data = read_regular(path, 16 * 1024 * 1024)
    except FileNotFoundError:
        return {}
    except NotRegularFile:
        raise ValueError(
            f"{path}: not a regular file (a folder, FIFO or device): not a settings file"
        ) from None
    except FileTooLarge:
        raise ValueError(f"{path}: larger than 16 MB: not a settings file") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror or type(e).__name__})") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not valid TOML: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML: {e}") from None


def write_settings_file(path: Path, data: dict[str, Any], header: str = "") -> None:
    """Write atomically (temp file, fsync, replace), readable by this user only: it may hold API keys."""
    import tomli_w

    text = header + tomli_w.dumps(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".toml")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
