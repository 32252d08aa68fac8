"""The loupe: one photo as large as the window allows, on a dark surround, with its name, date, camera and
badges under it. Left/Right move through the results, Esc (or Space, Enter, a double-click) goes back to
the grid. The thumbnail shows at once; the large image is decoded off the UI thread by the indexer's own
decoder (RAW previews, HEIC, EXIF orientation) and replaces it when it arrives.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from PySide6.QtCore import QObject, QRect, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QWidget

from desktop.formatting import readable_date
from desktop.results_model import badges_of, paint_badges
from desktop.thumbnails import ThumbnailCache

LOUPE_TARGET = 1400  # shortest side decoded for the loupe (sharp on a large screen, quick to decode)


class _Decoded(QObject):
    done = Signal(str, QImage)  # path, image (null when it cannot be read)


class _Decode(QRunnable):
    def __init__(self, sig: _Decoded, path: str) -> None:
        super().__init__()
        self.sig, self.path = sig, path

    def run(self) -> None:
        img = QImage()
        with contextlib.suppress(Exception):  # unreadable: the thumbnail stays, with a note
            from bridge.indexing.decode import decode_image

            px = decode_image(self.path, target=LOUPE_TARGET).pixels
            h, w = px.shape[:2]
            img = QImage(px.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.sig.done.emit(self.path, img)


class Loupe(QWidget):
    closed = Signal()  # back to the grid
    step = Signal(int)  # -1 previous, +1 next

    def __init__(self, thumbs: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbs = thumbs
        self.result: Any = None
        self.position = ""  # "3 of 12"
        self._image: QPixmap | None = None
        self._failed = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._sig = _Decoded(self)
        self._sig.done.connect(self._arrived)
        thumbs.ready.connect(lambda fp: self.update())
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Loupe: Left and Right for the previous and next photo, Esc for the grid")
        self.setAutoFillBackground(False)

    def sizeHint(self) -> QSize:
        return QSize(900, 640)

    def show_result(self, r: Any, position: str = "") -> None:
        self.result, self.position = r, position
        self._image, self._failed = None, False
        if r is not None:
            self._pool.clear()
            self._pool.start(_Decode(self._sig, r.path))
        self.update()

    def wait(self, msecs: int = 30000) -> bool:
        return self._pool.waitForDone(msecs)

    def has_large_image(self) -> bool:
        return self._image is not None

    def _arrived(self, path: str, img: QImage) -> None:
        if self.result is None or path != self.result.path:
            return  # moved on
        if img.isNull():
            self._failed = True
        else:
            self._image = QPixmap.fromImage(img)
        self.update()

    # -- input -----------------------------------------------------------------------------------------
    def keyPressEvent(self, e: QKeyEvent) -> None:
        key = e.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.step.emit(-1)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.step.emit(1)
        elif key in (Qt.Key.Key_Escape, Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.closed.emit()
        else:
            super().keyPressEvent(e)

    def mouseDoubleClickEvent(self, e: QMouseEvent) -> None:
        self.closed.emit()

    # -- drawing ---------------------------------------------------------------------------------------
    def paintEvent(self, _: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.fillRect(self.rect(), QColor("#161616"))
        r = self.result
        if r is None:
            return
        info_h = 54
        area = self.rect().adjusted(24, 20, -24, -info_h - 8)
        pm = self._image or self.thumbs.get(r.fingerprint, r.path)
        if pm is not None and not pm.isNull():
            size = pm.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            if self._image is None:  # a thumbnail: never blown up past twice its size
                size = size.boundedTo(pm.size() * 2)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(area.center())
            p.drawPixmap(target, pm)
            paint_badges(p, target, badges_of(r.fields))
        p.setPen(QColor("#d6d6d6"))
        info = self.rect().adjusted(24, self.height() - info_h, -24, -8)
        f = r.fields
        bold = p.font()
        bold.setBold(True)
        p.setFont(bold)
        p.drawText(info, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, os.path.basename(r.path))
        p.setFont(self.font())
        line = " · ".join(
            x
            for x in (
                readable_date(f.get("captured_at")),
                str(f.get("camera") or ""),
                str(f.get("lens") or ""),
                f"{f['width']} × {f['height']}" if f.get("width") and f.get("height") else "",
            )
            if x
        )
        if self._failed:
            line = (line + " · " if line else "") + "the full image could not be read: showing the thumbnail"
        p.setPen(QColor("#9a9a9a"))
        p.drawText(info, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, line)
        p.drawText(
            info,
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
            f"{self.position}   ←  →  to move · Esc for the grid" if self.position else "Esc for the grid",
        )
