"""The TOML settings file, read and written by the settings dialog: values are merged into what is
there (unknown keys kept, so other tools' settings survive), and the file is replaced atomically.

Written with tomli-w (the TOML writer that pairs with the standard library's tomllib reader).
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from bridge.settings import default_config_file

DESKTOP = "desktop"  # the app's own table; Settings ignores it (extra="ignore")


def read(path: Path | None = None) -> dict[str, Any]:
    path = path or default_config_file()
    if not path.exists():
        return {}
    with open(path, "rb") as f:
        return tomllib.load(f)


def dumps(data: dict[str, Any]) -> str:
    """TOML text (tomli-w; None values dropped, paths as strings)."""

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return str(v) if isinstance(v, os.PathLike) else v

    return tomli_w.dumps(clean(data))


def write(values: dict[str, Any], path: Path | None = None) -> Path:
    """Merge `values` into the file (a None value removes the key) and replace it atomically."""
    path = path or default_config_file()
    data = read(path)
    for k, v in values.items():
        if isinstance(v, dict) and isinstance(data.get(k), dict):
            merged = dict(data[k])
            for kk, vv in v.items():
                if vv is None:
                    merged.pop(kk, None)
                else:
                    merged[kk] = vv
            data[k] = merged
        elif v is None:
            data.pop(k, None)
        else:
            data[k] = v
    text = dumps(data)
    tomllib.loads(text)  # never replace a good file with one that cannot be read back
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def desktop_section(path: Path | None = None) -> dict[str, Any]:
    d = read(path).get(DESKTOP, {})
    return d if isinstance(d, dict) else {}
