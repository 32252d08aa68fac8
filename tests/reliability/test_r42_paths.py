"""R42: requests naming paths outside the indexed roots, with `..`, symlinks or special files.

Each is refused with a message, and no byte of a file's content reaches a reply or the log: canary files
carry a unique secret, and no 8-character piece of it may appear in anything the plugin received or the
service logged. Real sockets, a real service on a real tiny index.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests/bridge/lightroom/conftest.py are test arguments)

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

import pytest

from bridge.lightroom.files import token_path
from tests.bridge.conftest import make_photos
from tests.bridge.lightroom.conftest import (  # noqa: F401  (fixtures)
    FAST,
    bridge_dir,
    indexed,
    indexed_template,
    photos,
    service,
    sim,
)

pytestmark = pytest.mark.reliability

SECRET = "pdcanary" + secrets.token_hex(16)


def _pieces(secret: str, n: int = 8) -> list[str]:
    return [secret[i : i + n] for i in range(len(secret) - n + 1)]


@pytest.fixture
def library(indexed, tmp_path: Path) -> dict[str, Path]:
    """An indexed folder with canaries planted after indexing, and the traps around it."""
    lib = tmp_path / "lib"
    make_photos(lib, 2, seed=5)
    job = indexed.submit([lib])
    assert job.finished.wait(120) and job.status == "completed", job.error
    outside = tmp_path / "outside"
    outside.mkdir()
    canary = SECRET.encode() * 50
    (outside / "canary.jpg").write_bytes(canary)
    (outside / "canary.txt").write_bytes(canary)
    (lib / "canary.jpg").write_bytes(canary)  # inside the root, named like a photo, not one
    (lib / "link.jpg").symlink_to(outside / "canary.jpg")
    (lib / "sub").mkdir()
    (lib / "sub" / "dirlink").symlink_to(outside)
    os.mkfifo(lib / "fifo.jpg")
    os.mkfifo(outside / "fifo.jpg")
    return {"lib": lib, "outside": outside}


def _code(sim, type_: str, body: dict) -> tuple[str, str]:
    got = sim.request(type_, body, timeout=60)
    assert got["type"] == "error", got
    return got["body"]["code"], got["body"]["message"]


def test_r42_similar_refuses_every_trap_and_never_shows_content(sim, service, library, bridge_dir, caplog):
    caplog.set_level(logging.DEBUG)
    lib, outside = library["lib"], library["outside"]
    token = token_path(bridge_dir)
    cases = {
        str(outside / "canary.jpg"): "refused",  # outside the indexed roots
        f"{lib}/../outside/canary.jpg": "refused",  # `..` traversal
        f"{lib}/sub/../../outside/canary.txt": "refused",
        str(lib / "link.jpg"): "refused",  # symlink inside the root pointing out
        str(lib / "sub" / "dirlink" / "canary.jpg"): "refused",  # through a symlinked folder
        str(lib / "fifo.jpg"): "refused",  # a FIFO inside the root: never opened (it would hang)
        "/proc/self/environ": "refused",
        str(token): "refused",  # the token file
        "/etc/shadow": "refused",
        "relative/canary.jpg": "bad_request",
        str(lib / "canary.jpg"): "bad_request",  # inside the root, not an image: decoded, refused
        str(lib / "missing.jpg"): "not_found",
    }
    for path, code in cases.items():
        got_code, message = _code(sim, "similar", {"paths": [path]})
        assert got_code == code, (path, got_code, message)
        assert message  # says why
    # a good photo still works
    good = sorted(str(p) for p in lib.glob("gen_*.jpg"))[0]
    assert sim.request("similar", {"paths": [good], "limit": 2})["type"] == "similar.result"
    _nothing_leaked(sim, caplog, service.token)


def test_r42_analyze_and_metadata_refuse_traps(sim, service, library, bridge_dir, caplog):
    caplog.set_level(logging.DEBUG)
    lib, outside = library["lib"], library["outside"]
    for path in (
        f"{lib}/../outside/canary.jpg",
        str(outside),  # a folder outside the roots: never indexed wholesale
        str(outside / "fifo.jpg"),  # special file, even with a photo's name
        str(outside / "canary.txt"),  # not a photo file
        "/proc/self/environ",
        str(token_path(bridge_dir)),
        str(lib / "link.jpg"),
    ):
        code, message = _code(sim, "analyze", {"paths": [path]})
        assert code == "refused", (path, message)
    code, _ = _code(sim, "metadata", {"paths": [f"{lib}/../outside/canary.jpg"]})
    assert code == "refused"
    # paths outside the index are only looked up, never opened: simply not in the reply
    got = sim.request("metadata", {"paths": [str(outside / "canary.jpg"), "/proc/self/environ"]})
    assert got["type"] == "metadata.result" and got["body"]["photos"] == []
    # analyze may add a new photo file from Lightroom outside the roots; a fake one fails by reason only
    frames = sim.stream("analyze", {"paths": [str(outside / "canary.jpg")]}, final=("analyze.done",))
    assert frames[-1]["type"] == "analyze.done" and frames[-1]["body"]["summary"]["failed"] == 1
    _nothing_leaked(sim, caplog, service.token)


def _nothing_leaked(sim, caplog, token: str) -> None:
    replies = bytes(sim.received).decode("utf-8", "replace")
    logs = caplog.text
    for piece in _pieces(SECRET):
        assert piece not in replies, piece
        assert piece not in logs, piece
    assert token not in replies and token not in logs
    assert "Traceback" not in replies
