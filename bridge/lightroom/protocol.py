"""Bridge protocol v2 (lrplugin/README.md is the contract): the one table of message types, the envelope,
frame encoding and a size-capped line reader.

Everything that crosses the socket goes through `parse_frame` (bytes → `Frame` or `ProtocolError`) and
`encode` (compact JSON + "\\n"), so the service never acts on a frame it did not validate.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# 2: mutual challenge–response authentication (bridge/lightroom/auth.py); v1 sent the token in the hello.
PROTOCOL_VERSION = 2
MAX_FRAME = 1024 * 1024  # bytes per frame, newline excluded
SERVICE_NAME = "pixel-detective"
# Optional features within protocol 2, announced by both sides (the service in `hello`, the plugin in
# `auth.ok`); a side uses one only when the other announced it too, so older peers keep working.
# "chunks": `upload` of long path lists in pieces, and `part` frames before a long reply (lrplugin/README.md).
FEATURES = ("chunks",)
PART_BYTES = 512 * 1024  # a `part` frame's items, well under MAX_FRAME with the envelope around them
UPLOAD_MAX_PATHS = 100_000  # paths one upload may collect

ERROR_CODES = (
    "bad_frame",
    "unsupported_version",
    "unknown_type",
    "bad_request",
    "too_large",
    "unauthorized",
    "not_found",
    "refused",
    "busy",
    "internal",
    "cancelled",
    "unreachable",  # a remote engine (`engine.use`) did not answer
)


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return get_origin(annotation) in (Union, UnionType) and any(_is_list(a) for a in get_args(annotation))


class Body(BaseModel):
    # strict: "50" is not a limit and 1 is not a bool — wrong types are the plugin's bug, say so early.
    # extra="ignore": a newer plugin may add fields a v1 service does not know yet.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_lua_tables(cls, data: Any) -> Any:
        """Lua has one table type, so a JSON encoder writes an empty list as `{}`: read it as `[]`."""
        if isinstance(data, dict):
            fix = [k for k, f in cls.model_fields.items() if data.get(k) == {} and _is_list(f.annotation)]
            if fix:
                data = {k: ([] if k in fix else v) for k, v in data.items()}
        return data


class Empty(Body):
    pass


Path_ = Annotated[str, Field(min_length=1, max_length=4096)]


Nonce = Annotated[str, Field(pattern=r"^[0-9a-f]{32,128}$")]
Proof = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]  # hex HMAC-SHA256


Feature = Annotated[str, Field(max_length=50)]


class Hello(Body):
    nonce: Nonce  # the service's challenge
    service: str
    version: str
    protocol: int
    features: list[Feature] = Field(default_factory=list, max_length=50)


class HelloAck(Body):
    nonce: Nonce  # the plugin's challenge
    proof: Proof  # the plugin's answer to the service's nonce


class Auth(Body):
    proof: Proof  # the service's answer to the plugin's nonce


class AuthOk(Body):
    plugin_version: str = ""
    lightroom: str = ""
    catalog: str = ""
    features: list[Feature] = Field(default_factory=list, max_length=50)


class StatusResult(Body):
    service_version: str
    model: str
    indexed: int
    vectors: int
    failed: int
    running: dict[str, Any] | None
    weights_ok: bool
    captions: bool
    engine: str = "this computer"  # or the remote engine the settings name (`engine.use`)


class Search(Body):
    query: str = Field(min_length=1, max_length=1000)
    limit: int = Field(50, ge=1, le=1000)
    min_score: float | None = None
    where: str | None = Field(None, max_length=2000)


class Hit(Body):
    path: str
    score: float
    rank: int


class Results(Body):
    results: list[Hit]


class Similar(Body):
    paths: list[Path_] = Field(min_length=1, max_length=100)
    limit: int = Field(50, ge=1, le=1000)


UploadId = Annotated[str, Field(min_length=1, max_length=200)]


class PathsOrUpload(Body):
    """A request about many photos: its `paths` inline, or the id of an `upload` that collected them
    (feature "chunks"): exactly one of the two."""

    paths: list[Path_] | None = Field(None, min_length=1, max_length=UPLOAD_MAX_PATHS)
    upload: UploadId | None = None

    @model_validator(mode="after")
    def _one_of(self) -> PathsOrUpload:
        if (self.paths is None) == (self.upload is None):
            raise ValueError("give exactly one of 'paths' and 'upload'")
        return self


class Upload(Body):
    """One piece of a long path list (feature "chunks"): without `upload` it opens a new one."""

    upload: UploadId | None = None
    paths: list[Path_] = Field(min_length=1, max_length=UPLOAD_MAX_PATHS)


class UploadResult(Body):
    upload: str
    count: int  # paths collected so far


class Part(Body):
    """One piece of a long reply (feature "chunks"), sent before the reply itself, `re` = the request's id:
    `items` belong at the front of the reply's `field` list (parts arrive in order)."""

    field: str
    items: list[Any]
    done: int  # items sent so far, this part's included
    total: int  # items in the whole reply


class Analyze(PathsOrUpload):
    captions: bool = False


class AnalyzeAccepted(Body):
    job: str
    total: int


class ProgressBody(Body):
    job: str
    phase: str
    done: int
    total: int | None
    failed: int


class AnalyzeDone(Body):
    job: str
    status: Literal["completed", "stopped", "failed"]
    summary: dict[str, Any] | None


class Cancel(Body):
    job: str = Field(min_length=1, max_length=200)


class CancelResult(Body):
    job: str
    cancelled: bool


class Metadata(PathsOrUpload):
    rules: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=200)


class MetadataResult(Body):
    photos: list[dict[str, Any]]
    keyword_parent: str | None = None  # the user's setting, for the plugin's Apply
    parts: int = 0  # `part` frames sent before this reply (their items come first)


DupKind = Literal["exact", "near", "burst"]


def _all_dup_kinds() -> list[DupKind]:
    return ["exact", "near", "burst"]


class Duplicates(PathsOrUpload):
    kinds: list[DupKind] = Field(default_factory=_all_dup_kinds, min_length=1, max_length=3)


class DupGroupOut(Body):
    kind: str
    paths: list[str]


class DuplicatesResult(Body):
    groups: list[DupGroupOut]
    parts: int = 0  # `part` frames sent before this reply (their items come first)


class ApplyPhoto(Body):
    path: Path_
    keywords: list[str] | None = None
    caption: str | None = None
    rating: int | None = Field(None, ge=0, le=5)
    label: str | None = None
    pick: int | None = Field(None, ge=-1, le=1)


class Apply(Body):
    photos: list[ApplyPhoto] = Field(min_length=1, max_length=100_000)
    overwrite_caption: bool = False
    # New keywords whose top level is not already in the catalog go under this one (None/"": at the top).
    keyword_parent: str | None = Field(default=None, max_length=500)


class PathError(Body):
    path: str
    message: str


class ApplyResult(Body):
    applied: int
    missing: list[str] = Field(default_factory=list)
    errors: list[PathError] = Field(default_factory=list)


class ShowCollection(Body):
    name: str = Field(min_length=1, max_length=255)
    paths: list[Path_] = Field(max_length=100_000)
    # A long collection arrives in pieces under the frame cap: the first replaces the members, the next ones
    # append; only the piece with show=True makes it Lightroom's active source. An older plug-in ignores both
    # (each piece then replaces the last: the service sends one piece to a plug-in without "chunks").
    append: bool = False
    show: bool = True


class ShowCollectionResult(Body):
    collection: str
    added: int
    missing: list[str] = Field(default_factory=list)


class Engines(Body):
    """Browse the local network (zeroconf) this long for engines that advertise their API."""

    seconds: float = Field(3.0, ge=0.5, le=10.0)


class EngineOut(Body):
    name: str  # what `engine.use` takes (and `pixel-detective remote use`)
    display_name: str
    addresses: list[str]
    port: int
    url: str
    tls_fingerprint: str  # "" when the engine offers no TLS (then it cannot be used)
    version: str
    in_use: bool  # the settings name this engine (its URL)


class EnginesResult(Body):
    engines: list[EngineOut]
    using: str  # "this computer", or the remote engine in use (its name when known, else its URL)


ApiKey = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[!-~]+$")]  # one header-safe token


class EngineUse(Body):
    """Use a remote engine (by `name` from `engines`, or by `url` and `tls_fingerprint`) with `api_key`, or
    `local: true` to go back to this computer. The key is checked against the engine before it is stored."""

    name: str | None = Field(None, min_length=1, max_length=255)
    url: str | None = Field(None, pattern=r"^https://", max_length=2000)
    tls_fingerprint: str | None = Field(None, max_length=200)
    api_key: ApiKey | None = None
    local: bool = False
    seconds: float = Field(3.0, ge=0.5, le=10.0)  # how long to browse for `name` when it is not known yet

    @model_validator(mode="after")
    def _one_of(self) -> EngineUse:
        if self.local:
            if self.name is not None or self.url is not None:
                raise ValueError("'local' goes alone (no 'name' or 'url')")
            return self
        if (self.name is None) == (self.url is None):
            raise ValueError("give exactly one of 'name' and 'url' (or 'local': true)")
        if self.api_key is None:
            raise ValueError("'api_key' is required to use a remote engine")
        if self.url is not None and not self.tls_fingerprint:
            raise ValueError("'tls_fingerprint' is required with 'url'")
        return self


class EngineUseResult(Body):
    using: str  # as in `engines.result`; never the key
    url: str | None  # None: this computer


class ErrorBody(Body):
    code: str
    message: str


TO_SERVICE, TO_PLUGIN, BOTH = "plugin → service", "service → plugin", "both"


@dataclass(frozen=True)
class MessageType:
    body: type[Body]
    direction: str  # who sends it; replies travel the other way
    reply: str | None = None  # the reply type of a request (None: it is itself a reply or a push)
    accepted: str | None = None  # long jobs: the first reply; `progress` frames and `done` follow
    done: str | None = None
    parts: str | None = None  # a reply whose list field may come in `part` frames first (feature "chunks")


# The one declared table. lrplugin/README.md lists every request row; a test checks both ways.
MESSAGES: dict[str, MessageType] = {
    "hello": MessageType(Hello, TO_PLUGIN, "hello.ack"),
    "hello.ack": MessageType(HelloAck, TO_SERVICE),
    "auth": MessageType(Auth, TO_PLUGIN, "auth.ok"),
    "auth.ok": MessageType(AuthOk, TO_SERVICE),
    "ping": MessageType(Empty, BOTH, "pong"),
    "pong": MessageType(Empty, BOTH),
    "status": MessageType(Empty, TO_SERVICE, "status.result"),
    "status.result": MessageType(StatusResult, TO_PLUGIN),
    "search": MessageType(Search, TO_SERVICE, "search.result"),
    "search.result": MessageType(Results, TO_PLUGIN),
    "similar": MessageType(Similar, TO_SERVICE, "similar.result"),
    "similar.result": MessageType(Results, TO_PLUGIN),
    "analyze": MessageType(Analyze, TO_SERVICE, "analyze.accepted", "analyze.accepted", "analyze.done"),
    "analyze.accepted": MessageType(AnalyzeAccepted, TO_PLUGIN),
    "progress": MessageType(ProgressBody, TO_PLUGIN),
    "analyze.done": MessageType(AnalyzeDone, TO_PLUGIN),
    "cancel": MessageType(Cancel, TO_SERVICE, "cancel.result"),
    "cancel.result": MessageType(CancelResult, TO_PLUGIN),
    "metadata": MessageType(Metadata, TO_SERVICE, "metadata.result"),
    "metadata.result": MessageType(MetadataResult, TO_PLUGIN, parts="photos"),
    "duplicates": MessageType(Duplicates, TO_SERVICE, "duplicates.result"),
    "duplicates.result": MessageType(DuplicatesResult, TO_PLUGIN, parts="groups"),
    "upload": MessageType(Upload, TO_SERVICE, "upload.result"),
    "upload.result": MessageType(UploadResult, TO_PLUGIN),
    "part": MessageType(Part, TO_PLUGIN),
    "engines": MessageType(Engines, TO_SERVICE, "engines.result"),
    "engines.result": MessageType(EnginesResult, TO_PLUGIN),
    "engine.use": MessageType(EngineUse, TO_SERVICE, "engine.use.result"),
    "engine.use.result": MessageType(EngineUseResult, TO_PLUGIN),
    "apply": MessageType(Apply, TO_PLUGIN, "apply.result"),
    "apply.result": MessageType(ApplyResult, TO_SERVICE),
    "show_collection": MessageType(ShowCollection, TO_PLUGIN, "show_collection.result"),
    "show_collection.result": MessageType(ShowCollectionResult, TO_SERVICE),
    "error": MessageType(ErrorBody, BOTH),
}


def requests(direction: str) -> list[str]:
    """Request types (those with a reply) a side sends: TO_SERVICE or TO_PLUGIN (`both` ones included)."""
    return [t for t, m in MESSAGES.items() if m.reply and m.direction in (direction, BOTH)]


@dataclass(frozen=True)
class Frame:
    type: str
    body: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    re: str | None = None
    v: int = PROTOCOL_VERSION

    def envelope(self) -> dict[str, Any]:
        d: dict[str, Any] = {"v": self.v, "id": self.id, "type": self.type, "body": self.body}
        if self.re is not None or self.type == "error":
            d["re"] = self.re
        return d


@dataclass(frozen=True)
class ProtocolError(Exception):
    code: str
    message: str
    re: str | None = None

    def frame(self) -> Frame:
        return Frame("error", {"code": self.code, "message": self.message}, re=self.re)


def encode(frame: Frame) -> bytes:
    data = json.dumps(frame.envelope(), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return data.encode("utf-8") + b"\n"


def error_frame(code: str, message: str, re: str | None = None) -> Frame:
    return ProtocolError(code, message, re).frame()


def _brief(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "body"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def validate_body(type_: str, body: dict[str, Any], re: str | None = None) -> Body:
    """The typed body of a known message type, or `bad_request`."""
    try:
        return MESSAGES[type_].body.model_validate(body)
    except ValidationError as e:
        raise ProtocolError("bad_request", f"{type_}: {_brief(e)}", re) from None


def parse_frame(line: bytes, *, accept: tuple[str, ...] | None = None) -> Frame:
    """Validate one line (without its newline) into a `Frame`; raises `ProtocolError` with the code the
    README names. `accept`: the types this side takes (others are `unknown_type`, never executed)."""
    if len(line) > MAX_FRAME:
        raise ProtocolError(
            "too_large", f"frame of {len(line)} bytes (at most {MAX_FRAME})", _salvaged_id(line)
        )
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError("bad_frame", f"invalid UTF-8 at byte {e.start}", _salvaged_id(line)) from None
    try:
        data = json.loads(text)
    except RecursionError:  # 10k nested brackets: the stdlib parser recurses; refuse, do not crash
        raise ProtocolError("bad_frame", "JSON nested too deeply", _salvaged_id(line)) from None
    except ValueError as e:
        raise ProtocolError("bad_frame", f"not JSON: {e}", _salvaged_id(line)) from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_frame", "a frame must be a JSON object")
    rid = data.get("id")
    re = rid if isinstance(rid, str) and 0 < len(rid) <= 200 else None
    if re is None:
        raise ProtocolError("bad_frame", "missing or invalid envelope field 'id' (a string of 1..200)")
    v = data.get("v")
    if not isinstance(v, int) or isinstance(v, bool):
        raise ProtocolError("bad_frame", "missing or invalid envelope field 'v'", re)
    if v != PROTOCOL_VERSION:
        raise ProtocolError(
            "unsupported_version", f"protocol {v} (this service speaks {PROTOCOL_VERSION})", re
        )
    type_ = data.get("type")
    if not isinstance(type_, str):
        raise ProtocolError("bad_frame", "missing or invalid envelope field 'type'", re)
    body = data.get("body", {})
    if not isinstance(body, dict):
        raise ProtocolError("bad_frame", "envelope field 'body' must be an object", re)
    reply_to = data.get("re")
    if reply_to is not None and not isinstance(reply_to, str):
        raise ProtocolError("bad_frame", "envelope field 're' must be a string or null", re)
    if type_ not in MESSAGES or (accept is not None and type_ not in accept):
        raise ProtocolError("unknown_type", f"unknown message type {type_[:100]!r}", re)
    validate_body(type_, body, re)
    return Frame(type_, body, re, reply_to, v)


_KEEP = 4096  # bytes of an oversized line's head and tail kept to find its request id


class TooLarge:
    """What `LineReader.read_line` returns once for a line over the cap (its bytes were discarded, but for
    its first and last few KiB, where `envelope_id` looks for the request's id)."""

    def __init__(self, size: int, head: bytes = b"", tail: bytes = b"") -> None:
        self.size, self.head, self.tail = size, head, tail

    @property
    def id(self) -> str | None:
        return envelope_id(self.head, self.tail)


_STR = r'"(?:[^"\\]|\\.)*"'
# The end of a frame whose keys are sorted (protocol-2 plugins before "chunks" encode them so): the top-level
# "id" is followed only by "re", "type" and "v", which sort after "body". Anchored at the end of the line,
# so a nested "id" inside the body cannot match.
_TAIL_ID = re.compile(rf'"id":({_STR}),(?:"re":(?:null|{_STR}),)?"type":{_STR},"v":-?\d+\}}\s*$'.encode())


def envelope_id(head: bytes, tail: bytes = b"") -> str | None:
    """The top-level `id` of a frame known only by its first and last bytes (it was too large to keep), or
    None. The head is read as JSON key by key until the id or the first value that does not fit; the tail
    by the one pattern sorted keys leave."""
    rid = _head_id(head)
    if rid is None and tail:
        m = _TAIL_ID.search(tail)
        if m:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                rid = json.loads(m.group(1).decode("utf-8"))
    return rid if isinstance(rid, str) and 0 < len(rid) <= 200 else None


def _salvaged_id(line: bytes) -> str | None:
    """The request id of a frame that cannot be parsed, where its first or last bytes still show it."""
    return envelope_id(line[:_KEEP], line[-_KEEP:])


def _head_id(head: bytes) -> Any:
    text = head.decode("utf-8", errors="ignore")
    dec = json.JSONDecoder()
    i = _skip(text, 0)
    if not text.startswith("{", i):
        return None
    i += 1
    try:
        while True:
            i = _skip(text, i)
            key, i = dec.raw_decode(text, i)
            i = _skip(text, i)
            if not isinstance(key, str) or not text.startswith(":", i):
                return None
            value, i = dec.raw_decode(text, _skip(text, i + 1))
            if key == "id":
                return value
            i = _skip(text, i)
            if not text.startswith(",", i):
                return None
            i += 1
    except (ValueError, RecursionError):  # the head ends inside a value (the big one): no id before it
        return None


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


class LineReader:
    """Newline-delimited frames from a byte source, holding at most `max_frame` + one chunk in memory.

    A line over the cap is dropped chunk by chunk up to its newline and reported once as `TooLarge`, so a
    10 MB line costs no more memory than a 1 MB one. `recv` may raise (e.g. `socket.timeout`); the
    reader's state survives, so the caller can poll and call again."""

    def __init__(self, recv: Callable[[int], bytes], max_frame: int = MAX_FRAME, chunk: int = 65536) -> None:
        self._recv, self._max, self._chunk = recv, max_frame, chunk
        self._buf = bytearray()
        self._discarding = 0  # > 0: bytes of an oversized line dropped so far
        self._head = b""  # its first and last bytes, for its request id
        self._tail = b""
        self.eof = False
        self.unterminated = False  # the last line returned ended at end of stream, not at a newline

    @classmethod
    def for_socket(cls, sock: socket.socket, max_frame: int = MAX_FRAME) -> LineReader:
        return cls(sock.recv, max_frame)

    def read_line(self) -> bytes | TooLarge | None:
        """The next line without its newline; `TooLarge`; or None at end of stream."""
        while True:
            got = self._take()
            if got is not None:
                return got
            if self.eof:
                if self._discarding:
                    size, self._discarding = self._discarding, 0
                    return TooLarge(size, self._head, self._tail)
                if self._buf:  # the stream ended inside a frame: the caller answers it as truncated
                    line = bytes(self._buf)
                    self._buf.clear()
                    self.unterminated = True
                    return line
                return None
            data = self._recv(self._chunk)
            if not data:
                self.eof = True
                continue
            self._buf += data

    def _take(self) -> bytes | TooLarge | None:
        nl = self._buf.find(b"\n")
        if self._discarding:
            if nl < 0:
                self._discarding += len(self._buf)
                self._tail = (self._tail + bytes(self._buf))[-_KEEP:]
                self._buf.clear()
                return None
            size = self._discarding + nl
            tail = (self._tail + bytes(self._buf[:nl]))[-_KEEP:]
            del self._buf[: nl + 1]
            self._discarding = 0
            return TooLarge(size, self._head, tail)
        if nl >= 0:
            if nl > self._max:
                big = TooLarge(nl, bytes(self._buf[:_KEEP]), bytes(self._buf[max(0, nl - _KEEP) : nl]))
                del self._buf[: nl + 1]
                return big
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            return line
        if len(self._buf) > self._max:
            self._discarding = len(self._buf)
            self._head, self._tail = bytes(self._buf[:_KEEP]), bytes(self._buf[-_KEEP:])
            self._buf.clear()
        return None
