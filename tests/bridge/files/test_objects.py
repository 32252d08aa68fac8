"""bridge.files.objects without a server: URLs, change stamps, listing and ranged reads on fsspec's memory://
filesystem, and the fingerprint of an object equal to the fingerprint of the same bytes on disk."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.files import objects
from bridge.files.objects import ObjectStoreError, change_stamp, is_url
from bridge.indexing.scan import CHUNK, fingerprint, normalize_root

fsspec = pytest.importorskip("fsspec", reason="object storage needs the cluster extra (./setup.sh --cluster)")


@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs[:] = [""]
    yield fs
    fs.store.clear()


def test_urls_are_told_from_paths():
    assert is_url("s3://bucket/prefix") and is_url("gs://b/p.jpg") and is_url("memory://x")
    assert not is_url("/home/me/photos") and not is_url("C:\\photos") and not is_url("C://photos")
    assert not is_url(Path("/home/me"))


def test_normalize_root_leaves_urls_alone_but_the_trailing_slash(tmp_path):
    assert normalize_root("s3://bucket/prefix/") == "s3://bucket/prefix"
    assert normalize_root("s3://bucket//a/../b") == "s3://bucket//a/../b"  # a key is not a path to tidy
    assert normalize_root("gs://bucket") == "gs://bucket"
    assert normalize_root(f"file://{tmp_path}/x/") == str(tmp_path / "x")


def test_change_stamp_follows_the_etag_within_one_second():
    when = datetime(2026, 5, 1, 12, 0, 0, 400_000, tzinfo=UTC)
    a = change_stamp({"LastModified": when, "ETag": '"aaa"', "size": 10})
    b = change_stamp({"LastModified": when, "ETag": '"bbb"', "size": 10})
    assert a != b  # re-uploaded in the same second with the same size: still a change
    assert a // 1_000_000_000 == int(when.timestamp())  # whole seconds kept, the digest below them
    gcs = change_stamp({"updated": "2026-05-01T12:00:00.400Z", "generation": "17"})
    assert gcs // 1_000_000_000 == int(when.timestamp())
    assert change_stamp({"size": 3}) == 0  # nothing to go by but the size


def test_listing_gives_urls_under_the_root_as_spelled(memfs):
    memfs.pipe("/bk/photos/a.jpg", b"a" * 10)
    memfs.pipe("/bk/photos/sub/b.png", b"b" * 20)
    memfs.pipe("/bk/photoshop/c.jpg", b"c")  # shares the prefix, not under the root
    listed = list(objects.list_objects("memory://bk/photos"))
    assert [(o.url, o.size) for o in listed] == [
        ("memory://bk/photos/a.jpg", 10),
        ("memory://bk/photos/sub/b.png", 20),
    ]
    (one,) = objects.list_objects("memory://bk/photos/a.jpg")  # an object named directly
    assert one.url == "memory://bk/photos/a.jpg"
    assert list(objects.list_objects("memory://bk/nothing")) == []


@pytest.mark.parametrize("size", [0, 100, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 5 * CHUNK + 7])
def test_object_fingerprint_equals_the_local_one(memfs, tmp_path, size):
    data = bytes((i * 7 + size) % 251 for i in range(size))
    local = tmp_path / "x.jpg"
    local.write_bytes(data)
    memfs.pipe("/bk/x.jpg", data)
    assert fingerprint("memory://bk/x.jpg") == fingerprint(local)
    assert fingerprint("memory://bk/x.jpg", size) == fingerprint(local, size)


def test_reads_whole_ranged_and_refused(memfs):
    from bridge.files.paths import FileTooLarge

    memfs.pipe("/bk/x.jpg", bytes(range(200)))
    assert objects.read_bytes("memory://bk/x.jpg", 1000) == bytes(range(200))
    assert objects.read_range("memory://bk/x.jpg", 10, 13) == bytes([10, 11, 12])
    with pytest.raises(FileTooLarge):
        objects.read_bytes("memory://bk/x.jpg", 199)
    # With the listed size: one ranged read, no size request; an object grown past the limit is still refused.
    assert objects.read_bytes("memory://bk/x.jpg", 1000, listed_size=200) == bytes(range(200))
    assert objects.read_bytes("memory://bk/x.jpg", 200, listed_size=200) == bytes(range(200))
    with pytest.raises(FileTooLarge):
        objects.read_bytes("memory://bk/x.jpg", 150, listed_size=100)
    with pytest.raises(ObjectStoreError) as e:
        objects.read_bytes("memory://bk/gone.jpg", 1000)
    assert e.value.kind == "missing" and "memory://bk/gone.jpg" in str(e.value)


def test_decode_read_file_names_the_reason_in_a_sentence(memfs):
    from bridge.indexing.decode import read_file
    from bridge.records import DecodeError, Reason

    with pytest.raises(DecodeError) as e:
        read_file("memory://bk/gone.jpg")
    assert e.value.reason == Reason.MISSING
    assert "Error(" not in str(e.value) and "Traceback" not in str(e.value)


def test_an_unknown_protocol_is_an_error_not_a_crash():
    with pytest.raises(ObjectStoreError) as e:
        list(objects.list_objects("nosuchproto://b/p"))
    assert "nosuchproto://b/p" in str(e.value)
