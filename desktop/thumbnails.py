"""Thumbnails: made once per photo content and cached on disk under data_dir/thumbnails (keyed by
fingerprint, so a moved or renamed file keeps its thumbnail), loaded off the UI thread. With a remote engine
they come from it (`ApiHost.thumbnail`) and are cached the same way.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from bridge.files.thumbs import THUMB_SIZE, shrink, thumb_path, write_thumbnail

log = logging.getLogger(__name__)


def make_thumbnail(path: str, dest: Path, size: int = THUMB_SIZE) -> QImage:
    """A photo the indexer did not leave a thumbnail for (indexed before thumbnails were made, or thumbnails
    off): decode with the indexer's decoder (RAW previews, HEIC, EXIF orientation), write a small JPEG."""
    from bridge.indexing.decode import decode_image

    write_thumbnail(shrink(decode_image(path, target=size).pixels, size), dest)
    return QImage(str(dest))


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


class _Loaded(QObject):
    done = Signal(str, QImage)  # key, image (null when it could not be made)


class _Load(QRunnable):
    """Read `dest`, else `make(dest)` it (a failure leaves a null image: the caller's placeholder stays)."""

    def __init__(self, sig: _Loaded, key: str, dest: Path, make: Callable[[Path], QImage]) -> None:
        super().__init__()
        self.sig, self.key, self.dest, self.make = sig, key, dest, make

    def run(self) -> None:
        img = QImage(str(self.dest)) if self.dest.exists() else QImage()
        if img.isNull():
            try:
                img = self.make(self.dest)
            except Exception:  # an unreadable or moved photo, an engine gone: logged, never shown
                log.debug("could not make %s", self.dest, exc_info=True)
        self.sig.done.emit(self.key, img)


class ImageCache(QObject):
    """Small images cached on disk (made once, off the UI thread) and in a memory LRU; `ready(key)` when a
    requested one arrives. `load(key, dest, make)` is the one way in: thumbnails, face crops."""

    ready = Signal(str)

    def __init__(self, *, threads: int, memory_items: int = 3000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mem: OrderedDict[str, QPixmap] = OrderedDict()
        self._failed: set[str] = set()
        self._pending: set[str] = set()
        self._limit = memory_items
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, min(threads, (os.cpu_count() or 2) - 1)))
        self._sig = _Loaded(self)
        self._sig.done.connect(self._arrived)

    def load(self, key: str, dest: Path, make: Callable[[Path], QImage]) -> QPixmap | None:
        """The pixmap when cached; otherwise None and a background load is queued (once)."""
        pm = self._mem.get(key)
        if pm is not None:
            self._mem.move_to_end(key)
            return pm
        if key not in self._pending and key not in self._failed:
            self._pending.add(key)
            self._pool.start(_Load(self._sig, key, dest, make))
        return None

    def failed(self, key: str) -> bool:
        return key in self._failed

    def _arrived(self, key: str, img: QImage) -> None:
        self._pending.discard(key)
        if img.isNull():
            self._failed.add(key)
        else:
            self._mem[key] = QPixmap.fromImage(img)  # QPixmap only on the UI thread
            while len(self._mem) > self._limit:
                self._mem.popitem(last=False)
        self.ready.emit(key)

    def wait(self, msecs: int = 30000) -> bool:
        return self._pool.waitForDone(msecs)

    def clear_queue(self) -> None:
        """Drop loads not yet started (a new query replaced the grid)."""
        self._pool.clear()
        self._pending.clear()


class ThumbnailCache(ImageCache):
    """Photo thumbnails by fingerprint: the indexer's, made here from the photo when missing, or a remote
    engine's (`host().thumbnail(fp)`)."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        memory_items: int = 3000,
        host: Callable[[], Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(threads=4, memory_items=memory_items, parent=parent)
        self.cache_dir = cache_dir
        self._host = host  # the current engine host: a remote one sends its thumbnails (`thumbnail(fp)`)

    def get(self, fingerprint: str, path: str) -> QPixmap | None:
        """The pixmap when cached; otherwise None and a background load is queued (once)."""
        host = self._host() if self._host is not None else None
        remote = callable(getattr(host, "thumbnail", None))
        make = partial(fetch_thumbnail, host, fingerprint) if remote else partial(make_thumbnail, path)
        return self.load(fingerprint, thumb_path(self.cache_dir, fingerprint), make)
