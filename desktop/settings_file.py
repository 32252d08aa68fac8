"""The TOML settings file, read and written by the settings dialog: values are merged into what is
there (unknown keys kept, so other tools' settings survive), and the file is replaced atomically.

There is no TOML writer among the dependencies, so `dumps` writes the subset settings use: strings,
numbers, booleans, lists of those, and tables (one level, e.g. [desktop]).
"""

from __future__ import annotations

import math
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from bridge.settings import default_config_file

DESKTOP = "desktop"  # the app's own table; Settings ignores it (extra="ignore")


def read(path: Path | None = None) -> dict[str, Any]:
    path = path or default_config_file()
    if not path.exists():
        return {}
    with open(path, "rb") as f:
        return tomllib.load(f)


def _str(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise ValueError("TOML settings need finite numbers")
        return repr(v)
    if isinstance(v, (str, os.PathLike)):
        return _str(str(v))
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "-_" for c in k) else _str(k)


def dumps(data: dict[str, Any]) -> str:
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if v is not None and not isinstance(v, dict)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{_key(k)}]")
            lines += [f"{_key(kk)} = {_value(vv)}" for kk, vv in v.items() if vv is not None]
    return "\n".join(lines) + "\n"


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
