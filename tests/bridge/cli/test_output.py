"""What a user and a script see from `search`: the full path at any width, tab-separated when piped;
metadata-only search without model weights."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pyexiv2
from rich.console import Console

from bridge.cli.table import Column, render

LONG_CAPTION = "A very long caption about a wedding on the beach at sunset with many guests " * 3
COLUMNS = (
    Column("rank", keep=True, justify="right"),
    Column("score", keep=True, justify="right"),
    Column("path", keep=True),
    Column("camera"),
    Column("about"),
)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _rendered(width: int, rows: list[list[str]]) -> str:
    buf = _Tty()
    render(Console(file=buf, width=width, force_terminal=True, color_system=None), COLUMNS, rows)
    return buf.getvalue()


def test_full_path_kept_at_80_columns_and_when_wide_with_a_caption() -> None:
    path = "/Users/photographer/Pictures/Weddings/2024/2024-06-15 Smith & Jones/Ceremony/IMG_4711.CR3"
    rows = [["1", "0.312", path, "Canon EOS R5", LONG_CAPTION], ["2", "0.301", path[:-8] + "b.jpg", "", ""]]
    for width in (80, 120, 250):
        text = _rendered(width, rows)
        assert path in text, (width, text)
        assert path[:-8] + "b.jpg" in text
        assert "0.312" in text and "0.301" in text
        assert LONG_CAPTION not in text  # the caption is the column that gives way
        for line in text.splitlines():
            if "/Users/" not in line:  # only a path longer than the terminal may run past its width
                assert len(line) <= width, (width, line)


def test_piped_output_is_tab_separated_with_a_header() -> None:
    buf = io.StringIO()
    rows = [["1", "0.312", "/p/a b.jpg", "Canon", "line one\nline\ttwo"]]
    render(Console(file=buf, width=40), COLUMNS, rows)
    lines = buf.getvalue().splitlines()
    assert lines[0].split("\t") == ["rank", "score", "path", "camera", "about"]
    assert lines[1].split("\t") == ["1", "0.312", "/p/a b.jpg", "Canon", "line one line two"]


def _caption(photo: Path, text: str) -> None:
    with pyexiv2.Image(str(photo)) as img:
        img.modify_xmp({"Xmp.dc.description": {'lang="x-default"': text}})


def _in_pty(args: list[str], env: dict[str, str], columns: int = 80) -> str:
    """The real CLI with its stdout on a terminal `columns` wide."""
    leader, follower = pty.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**env, "COLUMNS": str(columns), "TERM": "dumb"},
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_metadata_only_search_without_weights_in_a_terminal_and_piped(copy_shared, data_dir, tmp_path):
    """No model weights anywhere: `index` reads metadata only; `search --where` lists the matches with
    their full paths (80 columns, a terminal) and as TSV (piped); a text query says what to do."""
    deep = tmp_path / "Pictures" / "Weddings" / "2024" / "2024-06-15 Smith and Jones ceremony"
    photos = copy_shared(
        "jpeg/Canon_40D_small.jpg", "jpeg/Canon_EOS_600D_IMG_5910.jpg", "jpeg/Nikon_D70_small.jpg", dest=deep
    )
    _caption(photos[0], LONG_CAPTION)
    env = {**os.environ, "PIXEL_DETECTIVE_DATA_DIR": str(data_dir), "HF_HUB_CACHE": str(tmp_path / "hub")}
    env["HF_HUB_OFFLINE"] = "1"
    r = subprocess.run(
        [sys.executable, "-m", "bridge", "index", str(deep)], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 4, r.stderr  # finished without the embedding stage
    canon = {str(p) for p in photos[:2]}

    piped = subprocess.run(
        [sys.executable, "-m", "bridge", "search", "--where", "camera=canon"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["rank", "score", "path"]
    assert {line.split("\t")[2] for line in lines[1:]} == canon

    shown = _in_pty(["search", "--where", "camera=canon"], env)
    for p in canon:
        assert p in shown.replace("\n", ""), shown  # whole (a path longer than a line wraps, uncut)
    assert str(photos[2]) not in shown

    text = subprocess.run(
        [sys.executable, "-m", "bridge", "search", "beach"], env=env, capture_output=True, text=True, timeout=300
    )
    assert text.returncode == 1
    assert len(text.stderr.strip().splitlines()) == 1
    assert "models import" in text.stderr and "--where" in text.stderr
