"""Thumbnails: made once per photo content and cached on disk under data_dir/thumbnails (keyed by
fingerprint, so a moved or renamed file keeps its thumbnail), loaded off the UI thread. With a remote engine
they come from it (`ApiHost.thumbnail`) and are cached the same way.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from bridge.files.thumbs import THUMB_SIZE, shrink, thumb_path, write_thumbnail


def make_thumbnail(path: str, dest: Path, size: int = THUMB_SIZE) -> QImage:
    """A photo the indexer did not leave a thumbnail for (indexed before thumbnails were made, or thumbnails
    off): decode with the indexer's decoder (RAW previews, HEIC, EXIF orientation), write a small JPEG."""
    from bridge.indexing.decode import decode_image

    write_thumbnail(shrink(decode_image(path, target=size).pixels, size), dest)
    return QImage(str(dest))


class _Loaded(QObject):
    done = Signal(str, QImage)  # fingerprint, image (null when the photo cannot be read)


def fetch_thumbnail(host: Any, fingerprint: str, dest: Path) -> QImage:
    """A remote engine's thumbnail (`ApiHost.thumbnail`: its paths are not files here), kept in the same disk
    cache once it decodes as an image."""
    data = host.thumbnail(fingerprint)
    img = QImage.fromData(data)
    if not img.isNull():
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".thumb-", suffix=".jpg")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, dest)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
    return img


class _Load(QRunnable):
    def __init__(self, sig: _Loaded, cache_dir: Path, fingerprint: str, path: str, host: Any = None) -> None:
        super().__init__()
        self.sig, self.cache_dir, self.fp, self.path, self.host = sig, cache_dir, fingerprint, path, host

    def run(self) -> None:
        dest = thumb_path(self.cache_dir, self.fp)
        img = QImage(str(dest)) if dest.exists() else QImage()
        if img.isNull():
            with contextlib.suppress(Exception):  # unreadable photo or engine gone: the placeholder stays
                if callable(getattr(self.host, "thumbnail", None)):
                    img = fetch_thumbnail(self.host, self.fp, dest)
                else:
                    img = make_thumbnail(self.path, dest)
        self.sig.done.emit(self.fp, img)


class ThumbnailCache(QObject):
    """Memory LRU over the disk cache; `ready(fingerprint)` when a requested thumbnail arrives."""

    ready = Signal(str)

    def __init__(
        self,
        cache_dir: Path,
        *,
        memory_items: int = 3000,
        host: Callable[[], Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache_dir = cache_dir
        self._host = host  # the current engine host: a remote one sends its thumbnails (`thumbnail(fp)`)
        self._mem: OrderedDict[str, QPixmap] = OrderedDict()
        self._failed: set[str] = set()
        self._pending: set[str] = set()
        self._limit = memory_items
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, min(4, (os.cpu_count() or 2) - 1)))
        self._sig = _Loaded(self)
        self._sig.done.connect(self._arrived)

    def get(self, fingerprint: str, path: str) -> QPixmap | None:
        """The pixmap when cached; otherwise None and a background load is queued (once)."""
        pm = self._mem.get(fingerprint)
        if pm is not None:
            self._mem.move_to_end(fingerprint)
            return pm
        if fingerprint not in self._pending and fingerprint not in self._failed:
            self._pending.add(fingerprint)
            host = self._host() if self._host is not None else None
            self._pool.start(_Load(self._sig, self.cache_dir, fingerprint, path, host))
        return None

    def failed(self, fingerprint: str) -> bool:
        return fingerprint in self._failed

    def _arrived(self, fingerprint: str, img: QImage) -> None:
        self._pending.discard(fingerprint)
        if img.isNull():
            self._failed.add(fingerprint)
        else:
            self._mem[fingerprint] = QPixmap.fromImage(img)  # QPixmap only on the UI thread
            while len(self._mem) > self._limit:
                self._mem.popitem(last=False)
        self.ready.emit(fingerprint)

    def wait(self, msecs: int = 30000) -> bool:
        return self._pool.waitForDone(msecs)

    def clear_queue(self) -> None:
        """Drop loads not yet started (a new query replaced the grid)."""
        self._pool.clear()
        self._pending.clear()
