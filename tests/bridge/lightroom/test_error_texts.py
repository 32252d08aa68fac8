"""What the plugin is told when a request fails: a fixed text per kind, never the exception's own words."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from bridge.files.diskspace import DiskFullError
from bridge.lightroom.handlers import _classify


def test_a_full_disk_is_said_in_words_without_internals():
    cases = [
        OSError(errno.ENOSPC, "No space left on device", "/secret/store/segment-17.dat"),
        sqlite3.OperationalError("database or disk is full"),
        DiskFullError("not enough free space to open the search index", path=Path("/secret")),
    ]
    for e in cases:
        code, message = _classify(e, "search")
        assert code == "internal" and "disk holding the index is full" in message
        assert "/secret" not in message and "segment" not in message


def test_anything_else_is_a_fixed_internal_text():
    code, message = _classify(KeyError("secret-detail"), "metadata")
    assert code == "internal" and "secret" not in message and "'metadata'" in message
