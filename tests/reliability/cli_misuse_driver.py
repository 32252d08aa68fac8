"""Run every `pixel-detective` command with wrong, missing and hostile arguments, in one process.

Each case calls the real entry point (`bridge.cli.app.main`, exactly what the console script runs) with its own
argv and a fresh data dir, captures what it printed, and records the exit code. A SIGALRM deadline turns a hang
(e.g. opening a FIFO) into a recorded `hang` instead of a stuck test. One JSON line per case goes to stdout's
replacement file given as argv[1] (argv[2]: only the cases whose label contains it); the pytest side
(test_r49_cli_misuse.py) judges them. The whole matrix (~1,100 cases) takes about a minute.

Cases are generated from the command tree itself, so a new command or option is covered without editing this.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import typer

LONG_RUNNING = {"serve", "tray", "watch"}  # valid arguments start a service: only bad ones are run
NETWORK = {"models download", "models download-caption"}  # no network here: a clear error is the answer
DEADLINE_S = 30
ANY_TEXT = {("tray", "query")}  # every value is valid there (a search text): the tray would start for real


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang


def commands() -> Iterator[tuple[list[str], object]]:
    from bridge.cli.app import app

    def walk(cmd: object, prefix: list[str]) -> Iterator[tuple[list[str], object]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*prefix, name])
        else:
            yield prefix, cmd

    yield from walk(typer.main.get_command(app), [])


def hostile_values(root: Path) -> dict[str, str]:
    """Named bad values for any argument or option that takes one."""
    (root / "a-folder").mkdir()
    fifo = root / "fifo.lrcat"
    os.mkfifo(fifo)
    fifo_jpg = root / "fifo.jpg"
    os.mkfifo(fifo_jpg)
    (root / "empty.lrcat").write_bytes(b"")
    (root / "garbage.tar.gz").write_bytes(os.urandom(4096))
    (root / "garbage.lrcat").write_bytes(b"SQLite format 3\x00" + os.urandom(4080))
    (root / "text.toml").write_text("this is [not valid toml = \n")
    bad_name = os.fsencode(root) + b"/caf\xe9.jpg"
    with open(bad_name, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 not really a jpeg")
    return {
        "missing": str(root / "no" / "such" / "thing.jpg"),
        "folder": str(root / "a-folder"),
        "fifo": str(fifo),
        "fifo_jpg": str(fifo_jpg),
        "empty": str(root / "empty.lrcat"),
        "garbage_archive": str(root / "garbage.tar.gz"),
        "garbage_catalog": str(root / "garbage.lrcat"),
        "bad_toml": str(root / "text.toml"),
        "non_utf8": os.fsdecode(bad_name),
        "dev_null": "/dev/null",
        "proc": "/proc/self/environ",
        "traversal": str(root / "a-folder" / ".." / ".." / ".." / "etc" / "shadow"),
        "empty_string": "",
        "negative": "-1",
        "zero": "0",
        "huge": "99999999999999999999999",
        "word": "abc",
        "long": "x" * 5000,
        "where_junk": "rating>>=3 ((camera",
    }


def cases(root: Path) -> Iterator[tuple[str, list[str]]]:
    values = hostile_values(root)
    names = list(values)
    for path, cmd in commands():
        name = " ".join(path)
        if name not in ("serve", "tray"):  # without arguments these start for real (tested elsewhere)
            yield f"{name}: no arguments", path
        yield f"{name}: unknown option", [*path, "--no-such-option"]
        for param in cmd.params:  # type: ignore[attr-defined]
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                continue
            if (name, param.name) in ANY_TEXT:  # type: ignore[attr-defined]
                continue
            opts = getattr(param, "opts", None) or []
            is_option = bool(opts) and opts[0].startswith("-")
            for vname in names:
                value = values[vname]
                if vname == "fifo_jpg" and name not in ("xmp read", "xmp write", "index", "search"):
                    continue
                argv = [*path, opts[0], value] if is_option else [*path, value]
                if name in LONG_RUNNING and vname in ("folder", "empty_string", "zero", "word", "long"):
                    continue  # a valid-looking value would start the service for real
                yield f"{name}: {param.name}={vname}", argv  # type: ignore[attr-defined]
    for vname in ("missing", "fifo", "empty", "garbage_catalog"):
        yield f"--data-dir={vname}", ["--data-dir", values[vname], "status"]


@contextlib.contextmanager
def captured() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        yield buf


def run_case(argv: list[str], data_dir: Path) -> tuple[int | str, str, float]:
    from bridge.cli.app import main

    sys.argv = ["pixel-detective", "--data-dir", str(data_dir), *argv]
    if argv and argv[0] == "--data-dir":
        sys.argv = ["pixel-detective", *argv]
    code: int | str = 0
    started = time.monotonic()
    with captured() as buf:
        signal.alarm(DEADLINE_S)
        try:
            main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except Hang:
            code = "hang"
        finally:
            signal.alarm(0)
    text = buf.getvalue()
    if "internal error (Hang)" in text:  # the deadline fired inside main(), whose last resort caught it
        code = "hang"
    return code, text, time.monotonic() - started


def main() -> None:
    out_path = Path(sys.argv[1])
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    signal.signal(signal.SIGALRM, _alarm)
    with tempfile.TemporaryDirectory(prefix="pd-r49-") as tmp, open(out_path, "w") as out:
        root = Path(tmp)
        (root / "values").mkdir()
        os.chdir(root)  # relative outputs (export-db abc) land in the temp tree, never in the checkout
        todo = [(label, argv) for label, argv in cases(root / "values") if only in label]
        for i, (label, argv) in enumerate(todo):
            # Fresh values for every case: an earlier command may have replaced the FIFO or written the archive.
            shutil.rmtree(root / "values")
            (root / "values").mkdir()
            hostile_values(root / "values")
            data_dir = root / f"data{i}"
            code, text, secs = run_case(argv, data_dir)
            record = {
                "case": label,
                "argv": argv,
                "code": code,
                "secs": round(secs, 2),
                "output": text[-4000:],
            }
            shutil.rmtree(data_dir, ignore_errors=True)
            out.write(json.dumps(record, ensure_ascii=True) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
