"""R45 for export-db / import-db: a disk too small is refused up front with a message; a disk that fills
part-way ends in a message with the partial files removed; the old index stays whole either way.

Real full disks: a small ext4 image mounted through a loop device (tmpfs will not do: Qdrant Edge 0.9.0
dies with SIGBUS reopening a shard on tmpfs even with space free). Skipped where mounting is not allowed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bridge.engine import Engine
from bridge.files import datadir
from bridge.indexing.payload import point_id
from bridge.settings import Settings
from bridge.state.portable import PortableError, export_index
from tests.bridge.conftest import make_photos

pytestmark = pytest.mark.reliability
DISK_MB = 320


@pytest.fixture
def small_disk(tmp_path: Path):
    image, mnt = tmp_path / "disk.img", tmp_path / "small"
    mnt.mkdir()
    with open(image, "wb") as f:
        f.truncate(DISK_MB * 1024 * 1024)
    steps = (["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], ["mount", "-o", "loop", str(image), str(mnt)])
    for cmd in steps:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            pytest.skip(f"cannot make a small filesystem ({cmd[0]}): {e}")
        if r.returncode != 0:
            pytest.skip(f"cannot make a small filesystem ({' '.join(cmd[:3])}): {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=60)


def fill(disk: Path, leave: int) -> Path:
    """Take all but `leave` bytes of the disk's free space."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, max(1, free - leave))
    return filler


def index_into(settings: Settings, data_dir: Path, folder: Path, n: int, seed: int) -> Settings:
    # The indexer keeps min_free_mb free (512 MB by default): more than this whole small disk.
    s = Settings(data_dir=data_dir, model=settings.model, workers=2, batch_size=16, min_free_mb=16)
    shutil.copytree(settings.models_dir, data_dir / "models", dirs_exist_ok=True)
    make_photos(folder, n, seed=seed)
    with Engine.open(s) as engine:
        engine.index([str(folder)])
    return s


def assert_intact(s: Settings, folder: Path) -> None:
    with Engine.open(s) as engine:
        paths = {r.path for r in engine.ledger.files_under("/").values()}
        assert paths == {str(p) for p in folder.iterdir()}
        fps = engine.ledger.done_fingerprints("embed", s.model)
        assert len(fps) == len(paths)
        assert set(engine.store().ids()) == {point_id(fp, s.model) for fp in fps}
        assert not any("missing" in n for n in engine.notices)
    assert not any((s.data_dir / datadir.TMP_DIR).iterdir())


def cli(s: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIXEL_DETECTIVE_DATA_DIR": str(s.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_import_too_big_for_the_disk_is_refused_and_old_index_kept(settings, small_disk, tmp_path):
    old = index_into(settings, small_disk / "pd", tmp_path / "a", 8, 1)
    new = index_into(settings, tmp_path / "b-data", tmp_path / "b", 30, 2)
    archive = tmp_path / "b.tar.gz"
    with Engine.open(new) as engine:
        export_index(engine, archive)
    filler = fill(small_disk, 40 * 1024 * 1024)
    r = cli(old, "import-db", str(archive), "--force")
    assert r.returncode == 1, r.stderr
    assert "not enough free space" in r.stderr and "Traceback" not in r.stderr
    assert_intact(old, tmp_path / "a")
    filler.unlink()  # space is back: the same import now works
    r = cli(old, "import-db", str(archive), "--force")
    assert r.returncode == 0, r.stderr
    assert_intact(old, tmp_path / "b")


IMPORT_WITHOUT_CHECK = textwrap.dedent(
    """
    import sys
    from bridge.engine import Engine
    from bridge.state.portable import PortableError, import_index
    from bridge.settings import Settings
    s = Settings(data_dir=sys.argv[1], model=sys.argv[3])
    try:
        import_index(sys.argv[2], s.data_dir, lambda: Engine.open(s), force=True, check_space=False)
    except PortableError as e:
        print(e)
        sys.exit(1)
    """
)


def test_import_that_meets_a_full_disk_cleans_up_and_keeps_the_old_index(settings, small_disk, tmp_path):
    """The estimate skipped, so the disk really fills part-way (while unpacking the archive)."""
    old = index_into(settings, small_disk / "pd", tmp_path / "a", 8, 1)
    new = index_into(settings, tmp_path / "b-data", tmp_path / "b", 120, 2)
    archive = tmp_path / "b.tar.gz"
    with Engine.open(new) as engine:
        export_index(engine, archive)
    filler = fill(small_disk, 192 * 1024)
    r = subprocess.run(
        [sys.executable, "-c", IMPORT_WITHOUT_CHECK, str(old.data_dir), str(archive), old.model],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 1, (r.returncode, r.stderr)  # a message, not SIGBUS (135) or a traceback
    assert "is full" in r.stdout and "previous index is unchanged" in r.stdout, r.stdout
    filler.unlink()
    assert_intact(old, tmp_path / "a")


def test_export_to_a_full_disk_says_so_and_leaves_nothing(settings, small_disk, tmp_path):
    s = index_into(settings, tmp_path / "pd", tmp_path / "a", 30, 1)
    fill(small_disk, 16 * 1024)
    dest = small_disk / "index.tar.gz"
    r = cli(s, "export-db", str(dest))
    assert r.returncode == 1 and "not enough free space" in r.stderr and "Traceback" not in r.stderr
    with Engine.open(s) as engine, pytest.raises(PortableError, match="is full"):
        export_index(engine, dest, check_space=False)  # the write itself runs out of space
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "lost+found"]
    assert not any((s.data_dir / datadir.TMP_DIR).iterdir())
