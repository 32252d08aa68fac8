"""Scan stage: walk folders, filter by the user's include/exclude globs, detect what changed.

Change detection is by size + mtime (no reading). New or changed files get a cheap content fingerprint
(size + first and last 64 KiB), which finds moves and renames without hashing whole RAW files.

A root may be an object-storage URL (`s3://bucket/prefix`, `bridge.files.objects`): it is listed in one flat
listing instead of walked, its objects' mtime is their change stamp (last-modified + ETag), and their
fingerprints come from two ranged reads, the same bytes hashed the same way, so a photo has one fingerprint
on a disk and in a bucket.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from bridge.files import objects
from bridge.files.formats import is_supported
from bridge.files.objects import ObjectStoreError, StorageOptions, is_url
from bridge.files.paths import NotRegularFile, open_regular
from bridge.metadata.sidecar import is_sidecar_name, sidecar_candidates, sidecar_name
from bridge.records import Failure, Reason, ScannedFile, Stage
from bridge.state.ledger import FileRow

FINGERPRINT_VERSION = "fp1"
CHUNK = 64 * 1024


def fingerprint(
    path: str | os.PathLike[str], size: int | None = None, *, options: StorageOptions | None = None
) -> str:
    """Hash of size + first and last 64 KiB (the whole file when small). Stable across renames and moves.
    Reads at most 128 KiB whatever the size; a FIFO or device is refused (NotRegularFile), never waited on.
    A URL is read with ranged requests (`options`: object_storage_options); raises ObjectStoreError."""
    if is_url(path):
        size, head, tail = objects.read_ends(str(path), size, CHUNK, options)
        h = hashlib.blake2b(digest_size=16)
        h.update(size.to_bytes(8, "little"))
        h.update(head)  # whole when small: hashing is streamed, so head + rest hashes as the local reads do
        h.update(tail)
        return f"{FINGERPRINT_VERSION}:{h.hexdigest()}"
    with open_regular(path) as f:
        if size is None:
            size = os.fstat(f.fileno()).st_size
        h = hashlib.blake2b(digest_size=16)
        h.update(size.to_bytes(8, "little"))
        h.update(f.read(CHUNK))
        if size > 2 * CHUNK:
            f.seek(size - CHUNK)
            h.update(f.read(CHUNK))
        elif size > CHUNK:
            h.update(f.read())
    return f"{FINGERPRINT_VERSION}:{h.hexdigest()}"


def normalize_root(path: str | os.PathLike[str]) -> str:
    """Absolute, normalized, without resolving symlinks: paths stay as the user named them. A URL stays as
    it is but for a trailing slash (`s3://b/p/` is `s3://b/p`); `file://` URLs become local paths."""
    if isinstance(path, str) and path.startswith("file://"):
        path = path[len("file://") :]
    elif is_url(path):
        url = os.fspath(path)
        return url.rstrip("/") if not url.endswith("://") else url
    return os.path.normpath(os.path.abspath(os.fspath(Path(path).expanduser())))


class PathFilter:
    """gitignore-style include/exclude patterns, matched against the path relative to the scanned root."""

    def __init__(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> None:
        inc = list(include)
        self.include = pathspec.PathSpec.from_lines("gitignore", inc) if inc else None
        self.exclude = pathspec.PathSpec.from_lines("gitignore", list(exclude))

    def dir_excluded(self, rel_dir: str) -> bool:
        return self.exclude.match_file(rel_dir.rstrip("/") + "/")

    def file_wanted(self, rel_path: str) -> bool:
        if self.exclude.match_file(rel_path):
            return False
        return self.include is None or self.include.match_file(rel_path)


@dataclass
class ScanResult:
    root: str
    seen: list[ScannedFile] = field(default_factory=list)  # every wanted file found
    changed: list[ScannedFile] = field(default_factory=list)  # new or modified (fingerprint computed)
    unchanged: int = 0
    errors: list[Failure] = field(default_factory=list)
    complete: bool = True  # False when stopped early or a folder was unreadable: then nothing may be swept
    unreadable_dirs: list[str] = field(default_factory=list)  # or a URL whose listing failed
    # photo path → (sidecar name, size, mtime_ns) of every seen photo with an XMP sidecar beside it;
    # `sidecars_listed`: False where sidecars were not looked for (URLs, stand-ins): nothing to compare
    sidecars: dict[str, SidecarStamp] = field(default_factory=dict)
    sidecars_listed: bool = False


SidecarStamp = tuple[str, int, int]  # (sidecar file name, size, mtime_ns)


def walk(
    root: str,
    flt: PathFilter,
    *,
    follow_symlinks: bool = False,
    unreadable: list[str] | None = None,
    sidecars: dict[str, SidecarStamp] | None = None,
) -> Iterator[tuple[str, os.stat_result]]:
    """Yield (path, stat) of wanted supported files under root (or root itself when it is a file).
    Folders that cannot be listed are appended to `unreadable`. With `sidecars`, each yielded photo's XMP
    sidecar is added to it (photo path → stamp), found in the same folder listing: one stat per sidecar,
    none per photo."""
    try:
        st = os.stat(root)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode):
        if is_supported(root):
            if sidecars is not None:
                _probe_sidecar(root, sidecars)  # a single file (a watch event): no listing to look in
            yield root, st
        return
    if not stat.S_ISDIR(st.st_mode):
        return  # a FIFO, device or socket named on the command line or by a watch event: never opened
    visited: set[tuple[int, int]] = {(st.st_dev, st.st_ino)}
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            if unreadable is not None:
                unreadable.append(d)  # the caller must not treat its files as deleted
            continue
        subdirs = []
        xmps = {e.name: e for e in entries if is_sidecar_name(e.name)} if sidecars is not None else {}
        for e in entries:
            rel = os.path.relpath(e.path, root).replace(os.sep, "/")
            try:
                if e.is_dir(follow_symlinks=follow_symlinks):
                    if flt.dir_excluded(rel):
                        continue
                    dst = e.stat(follow_symlinks=True)
                    key = (dst.st_dev, dst.st_ino)
                    if key not in visited:  # symlink loops
                        visited.add(key)
                        subdirs.append(e.path)
                elif (
                    e.is_file(follow_symlinks=follow_symlinks)
                    and is_supported(e.name)
                    and flt.file_wanted(rel)
                ):
                    est = e.stat(follow_symlinks=True)
                    if sidecars is not None and (name := sidecar_name(e.name, xmps)):
                        _sidecar_stamp(e.path, name, xmps[name], sidecars)
                    yield e.path, est
            except OSError:
                continue
        stack.extend(reversed(subdirs))


def _sidecar_stamp(photo: str, name: str, entry: os.DirEntry[str], sidecars: dict[str, SidecarStamp]) -> None:
    try:
        st = entry.stat(follow_symlinks=True)
    except OSError:
        return  # gone since the listing: as if there were none
    if stat.S_ISREG(st.st_mode):
        sidecars[photo] = (name, st.st_size, st.st_mtime_ns)


def _probe_sidecar(photo: str, sidecars: dict[str, SidecarStamp]) -> None:
    for cand in sidecar_candidates(photo):
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            # Existence alone is not enough on a case-insensitive disk: keep the name the folder holds.
            sidecars[photo] = (cand.name, st.st_size, st.st_mtime_ns)
            return


def walk_objects(
    root: str, flt: PathFilter, options: StorageOptions | None = None, *, unreadable: list[str] | None = None
) -> Iterator[tuple[str, int, int]]:
    """Yield (url, size, change stamp) of wanted supported objects under the URL `root` (or `root` itself
    when it names an object). A listing that fails for a reason the user must fix (no bucket, no
    credentials, access denied) raises ObjectStoreError; any other failure appends `root` to `unreadable`."""
    try:
        listed = list(objects.list_objects(root, options))
    except ObjectStoreError as e:
        if e.fatal or unreadable is None:
            raise
        unreadable.append(root)
        return
    for obj in listed:
        if obj.url == root:
            if is_supported(root):
                yield obj.url, obj.size, obj.mtime_ns
            continue
        rel = obj.url[len(root) + 1 :]
        parts = rel.split("/")
        if any(flt.dir_excluded("/".join(parts[: i + 1])) for i in range(len(parts) - 1)):
            continue
        if is_supported(rel) and flt.file_wanted(rel):
            yield obj.url, obj.size, obj.mtime_ns


def _entries(
    root: str,
    flt: PathFilter,
    follow_symlinks: bool,
    options: StorageOptions | None,
    unreadable: list[str],
    sidecars: dict[str, SidecarStamp],
) -> Iterator[tuple[str, int, int]]:
    if is_url(root):
        # No sidecars for objects: the worker does not read them either (see worker.process)
        yield from walk_objects(root, flt, options, unreadable=unreadable)
        return
    walked = walk(root, flt, follow_symlinks=follow_symlinks, unreadable=unreadable, sidecars=sidecars)
    for path, st in walked:
        yield path, st.st_size, st.st_mtime_ns


def scan_root(
    root: str,
    known: dict[str, FileRow],
    flt: PathFilter,
    *,
    follow_symlinks: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    threads: int = 8,
    options: StorageOptions | None = None,
) -> ScanResult:
    """Walk one root (a folder, a file or an object-storage URL) and classify its files against what the
    ledger knows (`known`: path → row). `options`: object_storage_options, for URLs. Raises
    ObjectStoreError when a URL cannot be listed at all (no such bucket, no credentials), or its store
    stops answering while objects are fingerprinted."""
    result = ScanResult(root=root, sidecars_listed=not is_url(root))
    to_hash: list[tuple[str, int, int]] = []
    entries = _entries(root, flt, follow_symlinks, options, result.unreadable_dirs, result.sidecars)
    for path, size, mtime in entries:
        if should_stop():
            result.complete = False
            break
        row = known.get(path)
        if row is not None and row.size == size and row.mtime_ns == mtime and row.fingerprint:
            result.seen.append(ScannedFile(path, size, mtime, root, row.fingerprint))
            result.unchanged += 1
        else:
            to_hash.append((path, size, mtime))

    def _hash(item: tuple[str, int, int]) -> ScannedFile | Failure:
        path, size, mtime = item
        try:
            return ScannedFile(path, size, mtime, root, fingerprint(path, size, options=options))
        except ObjectStoreError as e:
            if e.kind in ("unreachable", "credentials"):
                raise  # the store is down, not this object: the run stops, no file waits as failed
            return _object_failure(path, e)
        except FileNotFoundError:
            return Failure(path, Stage.SCAN, Reason.MISSING, "file disappeared during the scan")
        except NotRegularFile:
            return Failure(
                path, Stage.SCAN, Reason.NOT_A_REGULAR_FILE, "replaced by a FIFO, device or socket"
            )
        except PermissionError as e:
            return Failure(path, Stage.SCAN, Reason.PERMISSION_DENIED, f"cannot read: {e.strerror}")
        except OSError as e:
            return Failure(path, Stage.SCAN, Reason.IO_ERROR, f"read error: {e.strerror or e}")

    if result.unreadable_dirs:
        result.complete = False
    # Fingerprinting is I/O bound and hashlib releases the GIL: threads keep disks busy (and, for object
    # storage, many small ranged requests in flight: each waits a round trip).
    with ThreadPoolExecutor(max_workers=max(threads, 32) if is_url(root) else threads) as pool:
        for out in pool.map(_hash, to_hash):
            if isinstance(out, Failure):
                result.errors.append(out)
            else:
                result.seen.append(out)
                result.changed.append(out)
    return result


def _object_failure(url: str, e: ObjectStoreError) -> Failure:
    if e.kind == "missing":
        return Failure(url, Stage.SCAN, Reason.MISSING, "the object disappeared during the scan")
    if e.kind == "denied":
        return Failure(url, Stage.SCAN, Reason.PERMISSION_DENIED, str(e))
    return Failure(url, Stage.SCAN, Reason.IO_ERROR, str(e))
