"""Long path lists sent in pieces (protocol feature "chunks", lrplugin/README.md): `Uploads` collects a
session's `upload` frames until a request names the upload, and `PartSender` sends a long reply as `part`
frames under the frame cap, then the reply itself.

Both are bounded: an upload holds at most `UPLOAD_MAX_PATHS` paths, a session at most `MAX_OPEN` uploads
(opening one more forgets the oldest), and an upload is gone once a request used it or its session ended.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from bridge.lightroom.protocol import PART_BYTES, UPLOAD_MAX_PATHS, Frame, ProtocolError

MAX_OPEN = 4  # uploads one session may hold at once


class Uploads:
    """One session's open uploads: id → the paths collected so far."""

    def __init__(self) -> None:
        self._open: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, upload: str | None, paths: list[str], re: str) -> tuple[str, int]:
        """Append `paths` to `upload` (None: a new one); returns (id, paths collected)."""
        with self._lock:
            if upload is None:
                upload = uuid.uuid4().hex[:16]
                self._open[upload] = []
                while len(self._open) > MAX_OPEN:
                    self._open.popitem(last=False)
            got = self._open.get(upload)
            if got is None:
                raise ProtocolError("not_found", "no such upload (it was used already, or replaced)", re)
            if len(got) + len(paths) > UPLOAD_MAX_PATHS:
                del self._open[upload]
                raise ProtocolError("too_large", f"an upload holds at most {UPLOAD_MAX_PATHS} paths", re)
            got.extend(paths)
            return upload, len(got)

    def take(self, upload: str, re: str) -> list[str]:
        """The upload's paths; it is closed (a request uses an upload once)."""
        with self._lock:
            got = self._open.pop(upload, None)
        if got is None:
            raise ProtocolError("not_found", "no such upload (it was used already, or replaced)", re)
        if not got:
            raise ProtocolError("bad_request", "the upload holds no paths", re)
        return got


class Cancelled(Exception):
    """The plugin cancelled the request while its reply was being sent."""


class PartSender:
    """Sends one reply whose list field `field` may be long: with `chunked`, items go out as `part` frames of
    at most `part_bytes` of items each as soon as they are added, and `finish` sends the reply with the rest
    and `parts` = how many went before; without, `finish` sends one frame (the session refuses one over the
    cap: `too_large`, re = the request). `cancelled()` is asked before each part."""

    def __init__(
        self,
        send: Callable[[Frame], bool],
        request: Frame,
        reply_type: str,
        field: str,
        *,
        chunked: bool,
        total: int,
        cancelled: Callable[[], bool] = lambda: False,
        part_bytes: int | None = None,
    ) -> None:
        self._send, self.request, self.reply_type, self.field = send, request, reply_type, field
        self.chunked, self.total, self.cancelled = chunked, total, cancelled
        self.part_bytes = PART_BYTES if part_bytes is None else part_bytes
        self._items: list[Any] = []
        self._bytes = 0
        self.sent = 0  # items already sent in parts
        self.parts = 0

    def add(self, items: list[Any]) -> None:
        for item in items:
            size = len(json.dumps(item, separators=(",", ":"), ensure_ascii=False)) + 1
            if self.chunked and self._items and self._bytes + size > self.part_bytes:
                self._flush()
            self._items.append(item)
            self._bytes += size

    def _flush(self) -> None:
        if self.cancelled():
            raise Cancelled
        done = self.sent + len(self._items)
        body = {"field": self.field, "items": self._items, "done": done, "total": max(self.total, done)}
        if not self._send(Frame("part", body, re=self.request.id)):
            raise Cancelled  # the session is gone: nobody to send the rest to
        self.sent, self.parts = done, self.parts + 1
        self._items, self._bytes = [], 0

    def finish(self, rest: dict[str, Any]) -> None:
        if self.chunked and self.cancelled():
            raise Cancelled
        body = {**rest, self.field: self._items}
        if self.chunked:
            body["parts"] = self.parts
        self._send(Frame(self.reply_type, body, re=self.request.id))
