"""Which paths a plugin request may name (R42).

The plugin is authenticated, but a path from the wire still decides which file the service opens, so it
is checked against what the user already told Pixel Detective to look at:

- **inside the index**: a file the index holds, or anything under a folder it indexed (the `root` of the
  ledger's `files` rows: every folder or photo an index run was given);
- resolved: `..` is refused outright (Lightroom never sends it), and the real path (symlinks followed) must
  still lie under the real path of one of those roots, so a symlink cannot lead out of them;
- regular files only: FIFOs, devices and sockets are never opened (a FIFO would hang the decoder, a
  device could be read forever).

`analyze` may also name single photos outside the index, because indexing new photos from Lightroom is
what it is for: those must be regular files with a photo extension Lightroom can hold in a catalog (never a
folder, never `/etc/shadow`), and an `analyze` reply only ever carries counts.

Messages are fixed texts naming the path as the plugin sent it; nothing read from a file is ever in them.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import stat

from bridge.files.formats import is_supported
from bridge.indexing.scan import normalize_root
from bridge.state.ledger import Ledger


class PathRefused(Exception):
    """A request path the service will not touch; `code` is the bridge error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _shown(raw: str) -> str:
    return repr(raw[:300])  # the plugin's own text, quoted (control characters escaped)


def lexical(raw: str) -> str:
    """The normalized absolute path, or `PathRefused` for relative paths, `..` and NUL bytes."""
    if "\x00" in raw or not (posixpath.isabs(raw) or ntpath.isabs(raw)):
        raise PathRefused("bad_request", f"not an absolute path: {_shown(raw)}")
    if ".." in raw.replace("\\", "/").split("/"):
        raise PathRefused("refused", f"a path with '..' is refused: {_shown(raw)}")
    return normalize_root(raw)


def _ancestors(path: str) -> list[str]:
    out = [path]
    while (parent := os.path.dirname(out[-1])) != out[-1]:
        out.append(parent)
    return out


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives (Windows)
        return False


class PathGate:
    """Checks request paths against one (read-only) ledger connection; one per handler call."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def roots_of(self, path: str) -> list[str]:
        """The indexed roots that contain `path` (lexically): at most one indexed lookup per ancestor."""
        ancestors = _ancestors(path)
        q = ",".join("?" * len(ancestors))
        rows = self.ledger.db.conn.execute(f"SELECT DISTINCT root FROM files WHERE root IN ({q})", ancestors)
        return [r[0] for r in rows]

    def photo(self, raw: str, *, new_photo_ok: bool = False, folder_ok: bool = False) -> str:
        """The normalized path of a file the service may open for this request, or `PathRefused`.
        `new_photo_ok`: a regular photo file outside the index is fine (analyze); `folder_ok`: a folder
        inside the indexed roots is fine (analyze re-indexes it)."""
        path = lexical(raw)
        roots = self.roots_of(path)
        real = os.path.realpath(path)
        if roots and not any(_inside(real, os.path.realpath(r)) for r in roots):
            raise PathRefused("refused", f"leads outside the indexed folders (a symlink?): {_shown(raw)}")
        if not roots and not new_photo_ok:
            raise PathRefused("refused", f"not in a folder Pixel Detective has indexed: {_shown(raw)}")
        st = stat_of(real, raw)
        if stat.S_ISDIR(st.st_mode) and folder_ok and roots:
            return path
        return regular_photo(path, st, raw, check_format=not roots, real=real)


def stat_of(path: str, raw: str) -> os.stat_result:
    """`os.stat(path)`, or `PathRefused` naming the path as the plugin sent it (`raw`)."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise PathRefused("not_found", f"no such photo: {_shown(raw)}") from None
    except OSError:
        raise PathRefused("refused", f"cannot be examined: {_shown(raw)}") from None


def regular_photo(
    path: str, st: os.stat_result, raw: str, *, check_format: bool, real: str | None = None
) -> str:
    """`path` when `st` is a regular file (never a FIFO or a device) and, with `check_format`, a photo format
    Pixel Detective reads; else `PathRefused`."""
    if not stat.S_ISREG(st.st_mode):
        raise PathRefused("refused", f"not a regular file: {_shown(raw)}")
    if check_format and not is_supported(real or path):
        raise PathRefused("refused", f"not a photo file Pixel Detective reads: {_shown(raw)}")
    return path
