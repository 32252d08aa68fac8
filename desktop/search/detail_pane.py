"""The search window's detail pane: the selected photo's preview and its path, score and metadata."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from desktop.formatting import home_path, readable_date
from desktop.results_model import badges_of
from desktop.thumbnails import ThumbnailCache


class DetailPane(QWidget):
    def __init__(self, thumbs: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbs = thumbs
        lay = QVBoxLayout(self)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(QSize(240, 200))
        self.image.setAccessibleName("Selected photo preview")
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setAccessibleName("Photo details")
        lay.addWidget(self.image)
        lay.addWidget(self.text, 1)
        self.current: Any = None
        self.show_ai = True  # AI caption and keywords shown (the screenshots of a test model hide them)
        thumbs.ready.connect(self._thumb_ready)

    def show_result(self, r: Any | None, count: int = 1) -> None:
        self.current = r
        if r is None:
            self.image.clear()
            self.text.setHtml("<p>Select a photo to see its details.</p>")
            return
        self._set_image()
        f = r.fields
        rows = [("Path", home_path(r.path)), ("Score", f"{r.score:.3f} (rank {r.rank})")]
        if len(r.paths) > 1:
            rows.append(("Also at", "<br>".join(html.escape(home_path(p)) for p in r.paths[1:])))
        for key, name in (
            ("captured_at", "Taken"),
            ("camera", "Camera"),
            ("lens", "Lens"),
            ("rating", "Rating"),
            ("label", "Label"),
            ("width", "Width"),
            ("height", "Height"),
            ("title", "Title"),
            ("caption", "Caption"),
        ):
            if f.get(key) not in (None, "", []):
                value = f[key]
                if key == "captured_at":
                    value = readable_date(value)
                elif key == "rating":
                    value = "★" * int(badges_of(f).get("stars", 0)) or str(value)
                rows.append((name, str(value)))
        if f.get("keywords"):
            rows.append(("Keywords", ", ".join(map(str, f["keywords"]))))
        if self.show_ai and f.get("ai_caption"):
            rows.append(("AI caption", str(f["ai_caption"])))
        if self.show_ai and f.get("ai_keywords"):
            rows.append(("AI keywords", ", ".join(map(str, f["ai_keywords"]))))
        scores = [
            f"{n} {float(f[k]):.2f}"
            for k, n in (
                ("q_overall", "overall"),
                ("q_sharpness", "sharpness"),
                ("q_exposure", "exposure"),
                ("q_noise", "noise"),
            )
            if f.get(k) is not None
        ]
        if scores:
            rows.append(("Quality", ", ".join(scores)))
        body = "".join(
            f"<tr><td valign='top'><b>{html.escape(k)}</b>&nbsp;</td><td>{v if k == 'Also at' else html.escape(v)}"
            "</td></tr>"
            for k, v in rows
        )
        extra = f"<p><i>{count} photos selected</i></p>" if count > 1 else ""
        self.text.setHtml(f"{extra}<table>{body}</table>")

    def _set_image(self) -> None:
        r = self.current
        pm = self.thumbs.get(r.fingerprint, r.path) if r else None
        if pm is None:
            self.image.setText("loading…")
            return
        self.image.setPixmap(
            pm.scaled(
                self.image.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def _thumb_ready(self, fp: str) -> None:
        if self.current is not None and self.current.fingerprint == fp:
            self._set_image()
