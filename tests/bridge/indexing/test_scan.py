from __future__ import annotations

import os

from bridge.indexing.scan import PathFilter, fingerprint, normalize_root, scan_root, walk
from bridge.settings import DEFAULT_EXCLUDES
from bridge.state.ledger import FileRow


def write(p, data: bytes = b"\xff\xd8\xff" + b"x" * 100) -> str:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return str(p)


def test_walk_filters_extensions_temp_names_and_excluded_dirs(tmp_path):
    root = tmp_path / "photos"
    keep = [write(root / "a.JPG"), write(root / "sub" / "b.cr3"), write(root / "sub" / "c.heic")]
    for junk in (
        "notes.txt",
        "d.jpg.part",
        "~$e.jpg",
        "._f.jpg",
        ".hidden/g.jpg",
        "cat.lrdata/h.jpg",
        "x.tmp",
    ):
        write(root / junk)
    found = sorted(p for p, _ in walk(str(root), PathFilter((), DEFAULT_EXCLUDES)))
    assert found == sorted(keep)


def test_include_globs_and_single_file_roots(tmp_path):
    root = tmp_path / "photos"
    a = write(root / "2024" / "a.jpg")
    write(root / "2023" / "b.jpg")
    found = [p for p, _ in walk(str(root), PathFilter(["2024/"], ()))]
    assert found == [a]
    assert [p for p, _ in walk(a, PathFilter((), ()))] == [a]


def test_symlink_loops_do_not_hang(tmp_path):
    root = tmp_path / "photos"
    write(root / "a.jpg")
    os.symlink(root, root / "loop")
    found = [p for p, _ in walk(str(root), PathFilter((), ()), follow_symlinks=True)]
    assert len(found) == 1


def test_fingerprint_is_cheap_and_content_based(tmp_path):
    big = bytearray(os.urandom(1024 * 1024))
    a = write(tmp_path / "a.nef", bytes(big))
    b = write(tmp_path / "renamed.nef", bytes(big))
    assert fingerprint(a) == fingerprint(b)
    big[-1] ^= 0xFF  # last chunk differs
    c = write(tmp_path / "c.nef", bytes(big))
    assert fingerprint(c) != fingerprint(a)
    big[-1] ^= 0xFF
    big[500_000] ^= 0xFF  # middle only: not read by design (cheap), size+ends still identify photos
    d = write(tmp_path / "d.nef", bytes(big))
    assert fingerprint(d) == fingerprint(a)
    assert fingerprint(write(tmp_path / "tiny.jpg", b"abc")) != fingerprint(
        write(tmp_path / "tiny2.jpg", b"abd")
    )


def test_scan_root_classifies_unchanged_changed_and_new(tmp_path):
    root = normalize_root(tmp_path / "photos")
    a = write(tmp_path / "photos" / "a.jpg")
    b = write(tmp_path / "photos" / "b.jpg")
    st = os.stat(a)
    known = {
        a: FileRow(1, a, root, st.st_size, st.st_mtime_ns, "fp1:known", 1),
        b: FileRow(2, b, root, 1, 1, "fp1:old", 1),
    }
    res = scan_root(root, known, PathFilter((), ()))
    assert res.unchanged == 1 and res.complete
    assert [f.path for f in res.changed] == [b]
    assert res.changed[0].fingerprint == fingerprint(b)
    assert {f.path: f.fingerprint for f in res.seen}[a] == "fp1:known"


def test_unreadable_file_is_a_failure_value(tmp_path):
    root = normalize_root(tmp_path / "photos")
    p = write(tmp_path / "photos" / "locked.jpg")
    os.chmod(p, 0)
    try:
        res = scan_root(root, {}, PathFilter((), ()))
    finally:
        os.chmod(p, 0o644)
    if os.geteuid() == 0:  # root reads anything: then the file is simply scanned
        assert [f.path for f in res.changed] == [p]
    else:
        assert [(f.path, f.reason) for f in res.errors] == [(p, "permission_denied")]
