"""R48: FIFOs, devices, sockets and 1 GB files named like photos or sidecars: never opened (a FIFO would hang
the run) or capped with a named reason; memory per worker bounded."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bridge.state.ledger import Ledger
from tests.bridge.conftest import make_photos

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and UNIX sockets are POSIX"),
]
PROJECT = Path(__file__).resolve().parents[2]
GB = 1024**3


def _special_folder(folder: Path) -> tuple[list[str], socket.socket]:
    """Three photos plus look-alikes: FIFO photo and sidecar, a socket, a device node if allowed, 1 GB."""
    make_photos(folder, 3)
    os.rename(folder / "gen_00000.jpg", folder / "p.jpg")
    os.mkfifo(folder / "x.jpg")
    os.mkfifo(folder / "p.xmp")  # the sidecar of a real photo: metadata must not wait on it
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "y.jpg"))
    specials = ["x.jpg", "y.jpg"]
    try:
        os.mknod(folder / "dev.jpg", 0o600 | 0o020000, os.makedev(1, 3))  # a char device (/dev/null's)
        specials.append("dev.jpg")
    except (PermissionError, OSError):
        pass  # containers often forbid mknod: the FIFO and socket still cover "not a regular file"
    with open(folder / "big.jpg", "wb") as f:
        f.truncate(GB)  # sparse: costs no disk, but a reader would pay 1 GB of memory
    return specials, sock


def test_special_files_never_opened_and_big_ones_capped(cli, settings, tmp_path):
    folder = tmp_path / "photos"
    specials, sock = _special_folder(folder)
    try:
        args = ("index", str(folder), "--model", settings.model, "--workers", "2", "--batch-size", "4")
        run = cli(*args, "--json", timeout=180)  # a FIFO opened for reading would hang here
    finally:
        sock.close()
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["embedded"] == 3
    assert summary["failures_by_reason"] == {"too_large": 1}
    led = Ledger(settings.ledger_path, readonly=True)
    known = {os.path.basename(p) for p in led.files_under(str(folder))}
    fails = {os.path.basename(f.path): f for f in led.failures()}
    led.close()
    assert not set(specials) & known  # never indexed, never read
    assert fails["big.jpg"].reason == "too_large" and "format_limits" in fails["big.jpg"].detail
    again = cli(*args, "--json", timeout=180)
    assert json.loads(again.stdout)["skipped_failed"] == 1  # not retried until it changes (R8)


_WORKER = textwrap.dedent(
    """
    import json, sys
    from bridge.indexing import worker
    def peak_kb():  # VmHWM: this process's own peak (ru_maxrss would carry the forking parent's over exec)
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    path, size = sys.argv[1], int(sys.argv[2])
    worker.init_worker(None)
    r = worker.process(worker.Job(path=path, fingerprint="fp", want_metadata=True, want_pixels=True, size=size))
    print(json.dumps({"reasons": [str(f.reason) for f in r.failures],
                      "peak_kb": peak_kb()}))
    """
)


@pytest.mark.parametrize("scan_size", [GB, 0], ids=["size-known-from-scan", "file-grew-after-the-scan"])
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc")
def test_worker_memory_stays_bounded_on_a_1gb_file(tmp_path, scan_size):
    big = tmp_path / "big.jpg"
    with open(big, "wb") as f:
        f.truncate(GB)
    out = subprocess.run(
        [sys.executable, "-c", _WORKER, str(big), str(scan_size)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["reasons"] == ["too_large"]
    assert result["peak_kb"] < 300 * 1024  # imports (numpy, Pillow, pyexiv2) only: nothing of the file
