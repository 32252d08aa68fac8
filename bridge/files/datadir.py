"""The data dir's housekeeping: private permissions, a temp area inside it, stale-temp cleanup, the
switch journal that makes replacing the index (ledger + stores) all or nothing, and the notices a user
must see until the problem they describe is repaired.

Why temp work lives in `<data>/tmp/` and not in /tmp: a staged index is renamed into place, which is
atomic only within one filesystem; and a killed export/import leaves its folder where the next start
finds it (named `<kind>-<pid>-<token>`, removed once that pid is gone).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TMP_DIR = "tmp"
SWITCH_JOURNAL = "switch.json"  # present only while a staged index is being switched in
NOTICES_FILE = "notices.json"
DIR_MODE = 0o700  # photos' paths, captions and faces-adjacent metadata are nobody else's business
FILE_MODE = 0o600


class DataDirError(Exception):
    """A data-dir problem worded for the user."""


# -- permissions -------------------------------------------------------------------------------------


def secure_dir(path: Path) -> None:
    """Create `path` (and parents) if needed and make it 0700 when this user owns it."""
    p = Path(path)
    p.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(p, DIR_MODE)


def secure_file(path: Path) -> None:
    """Make an existing file 0600 (if this user owns it); a missing one is left alone."""
    _tighten(Path(path), FILE_MODE)


def create_private(path: Path) -> None:
    """Create an empty file with mode 0600 unless it exists, so no one else can ever open it.

    SQLite creates its -wal and -shm with the main file's mode, so the ledger's files all stay private.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        secure_file(path)
    else:
        os.close(fd)


def _tighten(p: Path, mode: int) -> None:
    try:
        st = p.stat()
    except FileNotFoundError:
        return
    # Only what we own (a shared --data-dir on a NAS may not be ours to chmod), and only if it is looser.
    if st.st_uid == os.getuid() and (st.st_mode & 0o777) != mode:
        os.chmod(p, mode)


# -- durable writes ----------------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    """Make renames and unlinks inside `path` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename itself is still atomic
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: Any, *, mode: int = FILE_MODE, indent: int | None = None) -> None:
    """Temp file, fsync, rename, fsync the folder: readers see the old or the new file, never half (R2).
    Temp files left by a writer killed mid-write are removed first; values JSON cannot hold are written as
    text. `mode`: private by default (the data dir's files); a file the user named may pass 0o644."""
    text = json.dumps(data, indent=indent, default=str)
    write_bytes_atomic(path, text.encode("utf-8"), mode=mode)


def write_bytes_atomic(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """`data` as the whole of `path`, atomically (see write_json_atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


# -- temp work ---------------------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


@contextmanager
def temp_work(data_dir: Path, kind: str) -> Iterator[Path]:
    """A private scratch folder `<data>/tmp/<kind>-<pid>-<token>/`, removed on the way out."""
    root = Path(data_dir) / TMP_DIR
    secure_dir(root)
    path = root / f"{kind}-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir(mode=DIR_MODE)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _owner_pid(name: str) -> int | None:
    parts = name.split("-")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None


def clean_stale_temp(data_dir: Path) -> list[Path]:
    """Remove temp folders whose process is gone (a killed export/import); return what was removed.

    Call only while owning the data dir, after `recover_switch` (a pending switch still needs its files).
    """
    root = Path(data_dir) / TMP_DIR
    if not root.is_dir() or (Path(data_dir) / SWITCH_JOURNAL).exists():
        return []
    removed = []
    for entry in root.iterdir():
        pid = _owner_pid(entry.name)
        if pid is None or pid == os.getpid() or pid_alive(pid):
            continue  # not ours to judge, in use by us, or its process still runs
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


# -- the switch journal ------------------------------------------------------------------------------
# Replacing the index means swapping several paths (ledger.sqlite, store/<collection>/ …). Each rename is
# atomic; the set is made atomic by a journal written before the first rename: no journal, nothing
# changed (the staged copy is stale temp); a journal, the switch is decided and is rolled forward by
# whoever opens the data dir next. Rolling forward is idempotent, so a crash while recovering is fine.


def commit_switch(
    data_dir: Path, staged: Path, backup: Path, replace: Sequence[str], remove: Sequence[str]
) -> None:
    """Switch the staged paths into `data_dir`, moving what they replace (and `remove`) into `backup`.

    Paths are relative to `data_dir` (and mirrored under `staged` / `backup`). `remove` is handled first:
    list a ledger's -wal/-shm there so an old WAL is never replayed into the new ledger.
    """
    data_dir = Path(data_dir)
    journal = {
        "version": 1,
        "staged": os.path.relpath(staged, data_dir),
        "backup": os.path.relpath(backup, data_dir),
        "replace": list(replace),
        "remove": list(remove),
        "at": time.time(),
    }
    write_json_atomic(data_dir / SWITCH_JOURNAL, journal)
    _roll_forward(data_dir, journal)


def recover_switch(data_dir: Path) -> str | None:
    """Finish a switch a crash interrupted; return a sentence for the user, or None if there was none."""
    data_dir = Path(data_dir)
    path = data_dir / SWITCH_JOURNAL
    if not path.exists():
        return None
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
        _roll_forward(data_dir, journal)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataDirError(
            f"an interrupted index replacement in {data_dir} could not be completed ({e}). "
            f"The staged files are kept under {data_dir / TMP_DIR}; see {path}."
        ) from e
    return "an index replacement (import-db) was interrupted; it has now been completed"


def switch_pending(data_dir: Path) -> bool:
    return (Path(data_dir) / SWITCH_JOURNAL).exists()


def _roll_forward(data_dir: Path, journal: dict[str, Any]) -> None:
    staged = data_dir / journal["staged"]
    backup = data_dir / journal["backup"]
    for rel in journal["remove"]:
        _move(data_dir / rel, backup / rel)
    for rel in journal["replace"]:
        new = staged / rel
        if new.exists():  # not yet switched: put the old one aside, then the new one in
            _move(data_dir / rel, backup / rel)
            (data_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(new, data_dir / rel)
            fsync_dir((data_dir / rel).parent)
    (data_dir / SWITCH_JOURNAL).unlink()
    fsync_dir(data_dir)


def _move(src: Path, dst: Path) -> None:
    if not src.exists() and not src.is_symlink():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():  # a previous attempt got this far: keep the first copy of the old one
        shutil.rmtree(src) if src.is_dir() else src.unlink()
    else:
        os.replace(src, dst)
    fsync_dir(src.parent)


# -- notices -----------------------------------------------------------------------------------------
# Said once is not enough: "your store was damaged and is being rebuilt" must show in status, doctor and
# every command until an index run has rebuilt it. A notice lasts until a completed `index` run of its
# model started after it.


def add_notice(data_dir: Path, model: str, text: str) -> None:
    path = Path(data_dir) / NOTICES_FILE
    notes = _read_notices(path)
    notes.append({"model": model, "text": text, "at": time.time()})
    write_json_atomic(path, notes)


def open_notices(data_dir: Path, runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The notices not yet resolved by a completed index run (`runs`: the ledger's latest runs)."""
    return [n for n in _read_notices(Path(data_dir) / NOTICES_FILE) if not _resolved(n, runs)]


def prune_notices(data_dir: Path, runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop resolved notices from the file (owner only); return the open ones."""
    path = Path(data_dir) / NOTICES_FILE
    notes = _read_notices(path)
    keep = [n for n in notes if not _resolved(n, runs)]
    if len(keep) != len(notes):
        if keep:
            write_json_atomic(path, keep)
        else:
            path.unlink(missing_ok=True)
    return keep


def _resolved(note: dict[str, Any], runs: Sequence[dict[str, Any]]) -> bool:
    return any(
        r.get("kind") == "index"
        and r.get("status") == "completed"
        and float(r.get("started_at") or 0) >= float(note.get("at") or 0)
        and (r.get("args") or {}).get("model") in (None, note.get("model"))
        for r in runs
    )


def _read_notices(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        return []  # written atomically, so unreadable means tampered with; nothing to show
    return [n for n in data if isinstance(n, dict) and "text" in n] if isinstance(data, list) else []
