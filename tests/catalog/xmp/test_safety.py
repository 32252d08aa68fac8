"""R16 interrupted writes, R19 RAW bytes untouched, R20 held/busy files, R21 read-only folders."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli.app import app
from catalog.xmp import RetryPolicy, XmpUpdate, plan, read_sidecar, write_sidecar
from catalog.xmp.embed import write_embedded

ROOT = Path(__file__).resolve().parents[3]
UPDATE = XmpUpdate(keywords=("Animals|Dog",), rating=4, caption="dog")
FAST = RetryPolicy(timeout_s=0.5, interval_s=0.02)


@pytest.fixture
def lr_pair(copy_shared) -> tuple[Path, Path]:
    """canon_eos_6d.dng with its real Lightroom sidecar canon_eos_6d.xmp."""
    dng, xmp = copy_shared("raw/canon_eos_6d.dng", "raw/canon_eos_6d.xmp")
    return dng, xmp


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.pd-*.tmp"))


def _py(code: str, *args: str) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )


# R16 -------------------------------------------------------------------------------------------------------------


def test_replace_failure_leaves_original_and_no_temp(lr_pair, monkeypatch) -> None:
    dng, xmp = lr_pair
    before = xmp.read_bytes()

    def broken(src, dst):
        raise OSError(errno.EIO, "simulated I/O error")

    monkeypatch.setattr(os, "replace", broken)
    result = write_sidecar(dng, UPDATE)
    assert (result.status, result.reason) == ("failed", "io-error")
    assert xmp.read_bytes() == before
    assert _temps(xmp.parent) == []


KILLED_WRITER = """
import os, sys, time
from pathlib import Path
from catalog.xmp import XmpUpdate, write_sidecar
def stuck(src, dst):
    print("TEMP-WRITTEN", flush=True)
    time.sleep(60)
os.replace = stuck
write_sidecar(Path(sys.argv[1]), XmpUpdate(keywords=("killed",)))
"""


def test_sigkill_between_temp_write_and_replace(lr_pair) -> None:
    dng, xmp = lr_pair
    before = xmp.read_bytes()
    proc = _py(KILLED_WRITER, str(dng))
    try:
        assert proc.stdout.readline().strip() == "TEMP-WRITTEN"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert xmp.read_bytes() == before
    assert len(_temps(xmp.parent)) == 1  # the crash really left a temp behind ...
    result = write_sidecar(dng, UPDATE)
    assert result.status == "written"
    assert _temps(xmp.parent) == []  # ... and the next write cleaned it up
    assert "killed" not in read_sidecar(xmp).keywords


def test_live_writers_temp_is_not_cleaned(tmp_path: Path) -> None:
    photo = tmp_path / "a.CR2"
    photo.write_bytes(b"raw")
    live = tmp_path / f".a.xmp.pd-{os.getpid()}-x.tmp"
    live.write_bytes(b"in progress")
    assert write_sidecar(photo, UPDATE).status == "written"
    assert live.exists()


# R19 -------------------------------------------------------------------------------------------------------------

RAWS = [
    "raw/exiftool_CanonRaw_EOS350D.cr2",
    "raw/exiftool_Nikon_D70.nef",
    "raw/canon_eos_6d.dng",
    "raw/exiftool_CanonRaw.cr3",
]


def test_raw_bytes_unchanged_by_every_operation(copy_shared, tmp_path: Path) -> None:
    raws = copy_shared(*RAWS, "raw/canon_eos_6d.xmp")[:-1]
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in raws}
    runner = CliRunner()
    for p in raws:
        plan([p], UPDATE)
        assert write_sidecar(p, UPDATE).status in ("written", "unchanged")
        assert write_sidecar(p, UPDATE, naming="name.ext").status == "written"
        assert write_sidecar(p, XmpUpdate(remove_keywords=("Animals|Dog",))).status == "written"
        read_sidecar(p.with_suffix(".xmp"))
        if p.suffix.lower() != ".dng":  # a DNG takes embedded XMP when asked (xmp write --embed), as Lightroom does
            assert write_embedded(p, UPDATE).status == "failed"
        assert runner.invoke(app, ["xmp", "write", str(p), "--keywords", "x", "--rating", "2"]).exit_code == 0
        assert runner.invoke(app, ["xmp", "write", str(p), "--keywords", "y", "--dry-run"]).exit_code == 0
        assert runner.invoke(app, ["xmp", "read", str(p), "--json"]).exit_code == 0
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in raws} == digest


# R20 -------------------------------------------------------------------------------------------------------------

HOLDER = """
import fcntl, sys, time
f = open(sys.argv[1], "rb")
fcntl.flock(f, fcntl.LOCK_SH)
print("LOCKED", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.mark.skipif(
    os.name != "posix", reason="advisory flock is the POSIX mechanism; Windows uses replace retries"
)
def test_held_briefly_succeeds_after_retry(lr_pair) -> None:
    dng, xmp = lr_pair
    holder = _py(HOLDER, str(xmp), "0.6")
    assert holder.stdout.readline().strip() == "LOCKED"
    start = time.monotonic()
    result = write_sidecar(dng, UPDATE, retry=RetryPolicy(timeout_s=10, interval_s=0.05))
    holder.wait(10)
    assert result.status == "written", result
    assert time.monotonic() - start > 0.3  # it really waited for the holder


@pytest.mark.skipif(
    os.name != "posix", reason="advisory flock is the POSIX mechanism; Windows uses replace retries"
)
def test_held_long_fails_cleanly(lr_pair) -> None:
    dng, xmp = lr_pair
    before = xmp.read_bytes()
    holder = _py(HOLDER, str(xmp), "30")
    try:
        assert holder.stdout.readline().strip() == "LOCKED"
        result = write_sidecar(dng, UPDATE, retry=FAST)
    finally:
        holder.kill()
        holder.wait(10)
    assert (result.status, result.reason) == ("failed", "locked")
    assert xmp.read_bytes() == before and _temps(xmp.parent) == []


def _busy_replace(monkeypatch, failures: int | None) -> None:
    """os.replace failing like a Windows sharing violation (PermissionError) `failures` times (None: always)."""
    real, calls = os.replace, {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if failures is None or calls["n"] <= failures:
            raise PermissionError(errno.EACCES, "The process cannot access the file (sharing violation)")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)


def test_busy_replace_retried(lr_pair, monkeypatch) -> None:
    dng, xmp = lr_pair
    _busy_replace(monkeypatch, failures=3)
    assert write_sidecar(dng, UPDATE, retry=FAST).status == "written"
    assert read_sidecar(xmp).rating == 4


def test_busy_replace_gives_up_cleanly(lr_pair, monkeypatch) -> None:
    dng, xmp = lr_pair
    before = xmp.read_bytes()
    _busy_replace(monkeypatch, failures=None)
    result = write_sidecar(dng, UPDATE, retry=FAST)
    assert (result.status, result.reason) == ("failed", "locked")
    assert xmp.read_bytes() == before and _temps(xmp.parent) == []


# R21 -------------------------------------------------------------------------------------------------------------


def _make_read_only(folder: Path) -> None:
    if os.geteuid() != 0:
        folder.chmod(0o555)
    elif shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
        pytest.skip(
            "running as root (chmod does not block root) and chattr +i is unavailable on this filesystem"
        )
    try:
        (folder / ".probe").touch()
    except PermissionError:
        return
    _undo_read_only(folder)
    (folder / ".probe").unlink()
    pytest.skip("could not make a folder read-only here")


def _undo_read_only(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=False)
    folder.chmod(0o755)


def test_read_only_folder_is_a_visible_per_file_failure(lr_pair, tmp_path: Path) -> None:
    dng, xmp = lr_pair
    other = tmp_path / "writable" / "IMG_2.CR2"
    other.parent.mkdir()
    other.write_bytes(b"raw")
    (xmp.parent / "NEW.CR2").write_bytes(b"raw")  # the photo exists; only its sidecar cannot be created
    # a RAW sharing the pair's sidecar (`xmp write` leaves the DNG itself alone: Lightroom reads no sidecar for it)
    raw = dng.with_suffix(".CR2")
    raw.write_bytes(b"raw")
    before = xmp.read_bytes()
    _make_read_only(xmp.parent)
    try:
        results = CliRunner().invoke(
            app, ["xmp", "write", str(raw), str(other), "--keywords", "dog", "--json"]
        )
        new_sidecar_result = write_sidecar(xmp.parent / "NEW.CR2", UPDATE)
    finally:
        _undo_read_only(xmp.parent)
    assert results.exit_code == 1
    import json

    rows = json.loads(results.stdout)
    assert [(r["status"], r["reason"]) for r in rows] == [("failed", "read-only"), ("written", None)]
    assert (new_sidecar_result.status, new_sidecar_result.reason) == ("failed", "read-only")
    assert xmp.read_bytes() == before
    assert not (xmp.parent / "NEW.xmp").exists() and _temps(xmp.parent) == []
