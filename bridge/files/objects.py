"""Photos in object storage (`s3://bucket/prefix`, `gs://…`, any fsspec URL): list, read, read a range.

A thin layer over fsspec (s3fs, gcsfs), imported lazily: the laptop path, local folders only, never imports
fsspec. Credentials come from where the filesystem library looks by default (AWS_* variables, ~/.aws profiles,
instance roles; GOOGLE_APPLICATION_CREDENTIALS, gcloud's default credentials); an S3-compatible server (MinIO,
Ceph) is reached with `AWS_ENDPOINT_URL` (botocore reads it) or the `object_storage_options` setting, keyed by
protocol: `{"s3": {"endpoint_url": "http://minio:9000"}}`.

URLs stay URLs everywhere (ledger, payloads, messages): a listed object's URL is the root as the user spelled
it plus the key below it.

Change detection without a schema change: the ledger keeps a file's `(size, mtime_ns)`, and an object's
`mtime_ns` is its *change stamp*: the last-modified time in whole seconds (S3 gives no more) plus, in the
nanoseconds, a 30-bit digest of the ETag (GCS: etag, else generation). A re-upload within the same second
with the same size still changes the ETag, hence the stamp; the time shown may be off by under a second.

Every failure is an `ObjectStoreError` with a `kind` and a sentence for people; the library's own exception
text (request ids, XML bodies) goes to the log, never into the ledger or a message.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

log = logging.getLogger(__name__)

# "s3://", "gs://", "memory://", "abfs://"…; two letters at least, so "C://x" is never taken for a URL.
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
StorageOptions = Mapping[str, Mapping[str, Any]]  # protocol -> keyword arguments of its filesystem
Kind = Literal["missing", "denied", "credentials", "unreachable", "error"]


def is_url(path: str | os.PathLike[str]) -> bool:
    """A path with a protocol (`s3://…`): read through fsspec, never through the OS."""
    return isinstance(path, str) and _URL.match(path) is not None


def protocol(url: str) -> str:
    m = _URL.match(url)
    return m.group(1).lower() if m else ""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    url: str
    size: int
    mtime_ns: int  # the change stamp (module docstring), compared like a file's mtime
    etag: str


class ObjectStoreError(OSError):
    """An object store refused or failed a request. `kind`: missing, denied, credentials (none found or
    rejected), unreachable (network, endpoint), error (anything else); `str()` is a sentence for people."""

    def __init__(self, url: str, kind: Kind, sentence: str) -> None:
        super().__init__(sentence)
        self.url = url
        self.kind = kind

    @property
    def fatal(self) -> bool:
        """Nothing under this URL can work until the user fixes something (bucket, credentials, access)."""
        return self.kind in ("missing", "denied", "credentials")


def encode_options(options: StorageOptions | None) -> str:
    """The options as a string a decode job carries to its worker process (empty: the defaults)."""
    return json.dumps(options, sort_keys=True) if options else ""


def decode_options(text: str) -> StorageOptions:
    return json.loads(text) if text else {}


def filesystem(url: str, options: StorageOptions | None = None) -> tuple[Any, str]:
    """The fsspec filesystem for `url` (an `fsspec.AbstractFileSystem`; fsspec ships no type information)
    and the path it uses for it. fsspec caches instances per options."""
    import fsspec  # type: ignore[import-untyped]  # lazy: optional (the `cluster` extra)

    kwargs = dict((options or {}).get(protocol(url), {}))
    fs, path = fsspec.core.url_to_fs(url, **kwargs)
    return fs, path


def list_objects(root: str, options: StorageOptions | None = None) -> Iterator[ObjectInfo]:
    """Every object under the prefix `root` (or `root` itself when it names an object), sorted by URL.
    One flat listing (S3: ListObjectsV2 pages), never cached: a poll must see what is there now.
    Raises ObjectStoreError when the listing fails; an empty prefix lists nothing."""
    fs, base = _fs(root, options)
    try:
        fs.invalidate_cache()
        found = fs.find(base, detail=True)
    except Exception as e:
        raise _error(root, e, "list") from None
    base = base.rstrip("/")
    for key in sorted(found):
        info = found[key]
        if info.get("type", "file") != "file":
            continue
        key = key.rstrip("/")
        if key == base:
            url = root
        elif key.startswith(base + "/"):
            url = root + "/" + key[len(base) + 1 :]
        else:
            continue  # a sibling that shares the prefix ("p" and "photos"): not under the root
        yield ObjectInfo(url, int(info.get("size") or 0), change_stamp(info), _etag(info))


def object_info(url: str, options: StorageOptions | None = None) -> ObjectInfo:
    """One object's size and change stamp (a HEAD request). Raises ObjectStoreError (kind missing when
    there is no such object, or `url` is a prefix)."""
    fs, path = _fs(url, options)
    try:
        fs.invalidate_cache(path)
        info = fs.info(path)
    except Exception as e:
        raise _error(url, e, "read") from None
    if info.get("type", "file") != "file":
        raise ObjectStoreError(url, "missing", f"{url} is a prefix, not an object")
    return ObjectInfo(url, int(info.get("size") or 0), change_stamp(info), _etag(info))


def read_range(url: str, start: int, end: int, options: StorageOptions | None = None) -> bytes:
    """Bytes [start, end) of an object: one ranged GET, nothing read ahead or cached."""
    if end <= start:
        return b""
    fs, path = _fs(url, options)
    try:
        return bytes(fs.cat_file(path, start=start, end=end))
    except Exception as e:
        raise _error(url, e, "read") from None


def read_bytes(
    url: str, max_bytes: int, options: StorageOptions | None = None, *, listed_size: int = 0
) -> bytes:
    """The whole object, refused (FileTooLarge) above `max_bytes`. `listed_size`: its size from the listing
    (already checked against the limit): then one GET of at most `max_bytes + 1` bytes and no HEAD first, a
    round trip saved per photo (a plain `cat_file` would HEAD for its size); an object that grew past the
    limit since is refused having sent one byte more than the limit."""
    from bridge.files.paths import FileTooLarge

    if listed_size > 0:
        data = read_range(url, 0, max_bytes + 1, options)  # a range past the end gives what is there
        if len(data) > max_bytes:
            raise FileTooLarge(len(data), max_bytes)
        return data
    size = object_info(url, options).size
    if size > max_bytes:
        raise FileTooLarge(size, max_bytes)
    return read_range(url, 0, size, options) if size else b""


def read_ends(
    url: str, size: int | None, chunk: int, options: StorageOptions | None = None
) -> tuple[int, bytes, bytes]:
    """(size, first bytes, last `chunk` bytes) for a fingerprint: the whole object when it is at most two
    chunks (and `b""` as the tail), else two ranged reads of `chunk` bytes each."""
    if size is None:
        size = object_info(url, options).size
    if size <= 2 * chunk:
        return size, read_range(url, 0, size, options), b""
    return size, read_range(url, 0, chunk, options), read_range(url, size - chunk, size, options)


# --- change stamps ---------------------------------------------------------------------------------------

_TIME_KEYS = ("LastModified", "last_modified", "updated", "mtime", "modified", "created", "timeCreated")
_TAG_KEYS = ("ETag", "etag", "md5Hash", "generation", "version_id", "VersionId")
_NS = 1_000_000_000


def change_stamp(info: Mapping[str, Any]) -> int:
    """Whole seconds of the last-modified time × 1e9 + a digest of the ETag below one second (module
    docstring). 0 when the store reports neither (then only the size tells a change)."""
    seconds = next((s for s in map(_seconds, (info.get(k) for k in _TIME_KEYS)) if s is not None), 0)
    tag = _etag(info)
    digest = (
        int.from_bytes(hashlib.blake2b(tag.encode(), digest_size=4).digest(), "little") % _NS if tag else 0
    )
    return seconds * _NS + digest


def _etag(info: Mapping[str, Any]) -> str:
    return next((str(info[k]).strip('"') for k in _TAG_KEYS if info.get(k) not in (None, "")), "")


def _seconds(value: object) -> int | None:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value / _NS) if value > 1e12 else int(value)  # nanoseconds or seconds
    if isinstance(value, str) and value:
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return None
    return None


# --- errors ----------------------------------------------------------------------------------------------


def _fs(url: str, options: StorageOptions | None) -> tuple[Any, str]:
    try:
        return filesystem(url, options)
    except ImportError as e:
        raise ObjectStoreError(
            url,
            "error",
            f"cannot read {url}: its filesystem library is not installed ({e.name or 'fsspec'}); "
            "install the cluster extra (./setup.sh --cluster)",
        ) from None
    except (ValueError, TypeError) as e:  # an unknown protocol, bad options
        log.debug("cannot open a filesystem for %s: %r", url, e)
        raise ObjectStoreError(
            url, "error", f"cannot open {url}: unknown protocol or bad object_storage_options"
        ) from None


_CREDENTIAL_ERRORS = (
    "NoCredentialsError",
    "PartialCredentialsError",
    "DefaultCredentialsError",
    "RefreshError",
)
_CREDENTIAL_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken")
# A store that is down or shedding load, after its client's own retries (s3fs turns a 503 into EBUSY).
_UNREACHABLE_WORDS = (
    "connect",
    "timeout",
    "timed out",
    "unreachable",
    "name resolution",
    "endpoint",
    "service unavailable",
    "slow down",
    "slowdown",
    "throttl",
    "internal error",
)


def _error(url: str, e: BaseException, doing: Literal["list", "read"]) -> ObjectStoreError:
    """The exception in words, by kind; its own text only goes to the log (it can hold request ids, XML)."""
    log.info("object store error on %s (%s): %r", url, doing, e)
    what = "list" if doing == "list" else "read"
    names = {t.__name__ for t in type(e).__mro__}
    text = str(e)
    if isinstance(e, ObjectStoreError):
        return e
    if names & set(_CREDENTIAL_ERRORS) or any(c in text for c in _CREDENTIAL_CODES):
        return ObjectStoreError(
            url,
            "credentials",
            f"cannot {what} {url}: no valid credentials (set AWS_* / GOOGLE_APPLICATION_CREDENTIALS or a profile)",
        )
    if isinstance(e, FileNotFoundError):
        if doing == "list":
            return ObjectStoreError(url, "missing", f"cannot list {url}: the bucket does not exist")
        return ObjectStoreError(url, "missing", f"{url} is not there (deleted since it was listed?)")
    if isinstance(e, PermissionError):
        return ObjectStoreError(url, "denied", f"cannot {what} {url}: access denied by the object store")
    low = f"{type(e).__name__} {text}".lower()
    busy = isinstance(e, OSError) and e.errno == errno.EBUSY
    if isinstance(e, (ConnectionError, TimeoutError)) or busy or any(w in low for w in _UNREACHABLE_WORDS):
        return ObjectStoreError(
            url, "unreachable", f"cannot {what} {url}: the object store did not answer or is unavailable"
        )
    return ObjectStoreError(url, "error", f"cannot {what} {url}: the object store reported an error")
