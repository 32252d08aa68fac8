"""Reveal a file in the platform's file manager (search window actions, indexing view failures)."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


def reveal(path: str) -> None:
    """Show the file in the platform's file manager (selected where the platform supports it)."""
    if sys.platform == "darwin":
        subprocess.Popen(["open", "-R", path])
    elif sys.platform == "win32":
        subprocess.Popen(["explorer", "/select,", os.path.normpath(path)])
    else:  # freedesktop has no portable "select this file": open its folder
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))
