"""Object storage as a source, against a real S3-compatible server over HTTP: moto's server mode on localhost,
reached by s3fs the way a bucket on AWS or MinIO is (endpoint from AWS_ENDPOINT_URL, keys from the environment).
Real photos from ../shared/data: list, index, read, change, delete, resume, watch by polling, search --like;
a bucket's index equals a local folder's; bytes counted on the server: fingerprints never download an object."""

from __future__ import annotations

import collections
import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bridge.engine import Engine
from bridge.files.objects import list_objects
from bridge.indexing.scan import CHUNK, PathFilter, fingerprint, scan_root
from bridge.records import RunFailure
from bridge.settings import Settings
from tests.bridge.conftest import make_photos

pytest.importorskip("s3fs", reason="object storage needs the cluster extra (./setup.sh --cluster)")
pytest.importorskip("moto.server", reason="the S3 tests need moto[server] (./setup.sh --dev)")

REAL = [
    "jpeg/Canon_40D_small.jpg",  # 8 KB: read whole to fingerprint
    "jpeg/Casio_EX-S1.jpg",  # 126 KB: between one and two chunks
    "jpeg/Nikon_D5000_GPS.jpg",  # 262 KB: first and last 64 KiB only
    "jpeg/Apple_iPhone_4.jpg",
    "png/photo_animal_chelsea_cat.png",
    "heic/Nikon_D5300_Stonehenge_GPS.heic",
    "webp/immich_denali.webp",
    "broken/truncated_50pct_prairie_falcon.jpg",  # fails the same way in a bucket as on disk
]


class ByteCounter:
    """WSGI middleware in front of moto: the bytes of every GET response body and the requests, per object
    path. Counted on the server, so it sees what the client really downloaded, whatever fsspec buffers."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: collections.Counter[str] = collections.Counter()
        self.gets: collections.Counter[str] = collections.Counter()
        self.requests: collections.Counter[tuple[str, str]] = collections.Counter()  # (kind, path)
        self.lock = threading.Lock()
        # "fingerprint" (a GET of at most 2 x 64 KiB) or "read" (any other GET: the workers' reads): such
        # requests for objects (never listings) answer 503, as a store shedding load does.
        self.unavailable: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        get = method == "GET"
        kind = _kind(method, environ.get("HTTP_RANGE", ""))
        with self.lock:
            self.requests[(kind, path)] += 1
            if get:
                self.gets[path] += 1
        if kind == self.unavailable and path.count("/") > 1:
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return
        for chunk in self.app(environ, start_response):
            if get:
                with self.lock:
                    self.sent[path] += len(chunk)
            yield chunk

    def reset(self) -> None:
        with self.lock:
            self.sent.clear()
            self.gets.clear()
            self.requests.clear()


def _kind(method: str, ranged: str) -> str:
    if method != "GET":
        return method
    first, _, last = ranged.removeprefix("bytes=").partition("-")
    small = bool(ranged) and last != "" and int(last) - int(first or 0) + 1 <= 2 * CHUNK
    return "fingerprint" if small else "read"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[tuple[str, ByteCounter]]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    assert server._server is not None
    counter = ByteCounter(server._server.app)
    server._server.app = counter  # werkzeug serves `server.app`: every request now passes the counter
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}", counter
    server.stop()


@dataclass
class Bucket:
    client: Any
    name: str
    counter: ByteCounter

    def url(self, key: str = "") -> str:
        return f"s3://{self.name}/{key}".rstrip("/")

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.name, Key=key)


def _forget_clients() -> None:
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # fsspec keeps instances (and their credentials) per options


@pytest.fixture
def bucket(s3_server: tuple[str, ByteCounter], monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    import boto3

    endpoint, counter = s3_server
    # The usual environment, as a user sets it for MinIO; spawned decode workers inherit it.
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    _forget_clients()
    client = boto3.client("s3", endpoint_url=endpoint)
    name = f"pd-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    counter.reset()
    yield Bucket(client, name, counter)
    _forget_clients()


@pytest.fixture
def photos(copy_shared, tmp_path: Path) -> Path:
    copy_shared(*REAL)
    return tmp_path / "photos"


def upload(bucket: Bucket, folder: Path, prefix: str = "photos") -> list[str]:
    keys = []
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            key = f"{prefix}/{p.relative_to(folder).as_posix()}"
            bucket.put(key, p.read_bytes())
            keys.append(key)
    return keys


def with_data_dir(settings: Settings, name: str, **kw: Any) -> Settings:
    import shutil

    d = settings.data_dir.parent / name
    if not d.exists():
        shutil.copytree(settings.data_dir / "models", d / "models")
    return settings.model_copy(update={"data_dir": d, **kw})


def index(settings: Settings, root: str, hook: Any = None) -> Any:
    with Engine.open(settings) as engine:
        idx = engine.indexer()
        if hook is not None:
            idx.on_batch_committed = lambda n: hook(idx, n)
        return idx.run([root])


def ledger_files(settings: Settings) -> dict[str, tuple[int, int, str]]:
    db = sqlite3.connect(settings.data_dir / "ledger.sqlite")
    rows = {
        p: (s, m, fp) for p, s, m, fp in db.execute("SELECT path, size, mtime_ns, fingerprint FROM files")
    }
    db.close()
    return rows


def points(settings: Settings) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    with Engine.open(settings) as engine:
        return {pid: (np.asarray(v), p) for pid, p, v in engine.store().scroll(with_vectors=True)}


# --- listing and fingerprints -----------------------------------------------------------------------------


def test_listing_and_fingerprints_read_two_ranges_never_the_whole_object(
    bucket: Bucket, photos: Path
) -> None:
    keys = upload(bucket, photos)
    listed = list(list_objects(bucket.url("photos")))
    assert [o.url for o in listed] == [bucket.url(k) for k in keys]
    local = {bucket.url(f"photos/{p.relative_to(photos).as_posix()}"): p for p in photos.rglob("*.*")}
    assert all(o.size == local[o.url].stat().st_size for o in listed)

    bucket.counter.reset()
    res = scan_root(bucket.url("photos"), {}, PathFilter())
    assert res.complete and not res.errors and len(res.changed) == len(keys)
    for f in res.changed:  # the same content has the same fingerprint in a bucket and on a disk
        assert f.fingerprint == fingerprint(local[f.path]), f.path
    for f in res.changed:
        sent = bucket.counter.sent[f"/{bucket.name}/{f.path.split('/', 3)[3]}"]
        if f.size > 2 * CHUNK:
            assert sent == 2 * CHUNK, (f.path, f.size, sent)  # first and last 64 KiB, nothing read ahead
        else:
            assert sent == f.size, (f.path, f.size, sent)
    assert sum(bucket.counter.sent.values()) < sum(f.size for f in res.changed)


def test_a_same_size_rewrite_within_one_second_is_seen_by_its_etag(bucket: Bucket, tmp_path: Path) -> None:
    (photo,) = make_photos(tmp_path / "gen", 1)
    data = photo.read_bytes()
    edited = bytearray(data)
    edited[-40] ^= 0x55
    for _ in range(5):  # S3 times have whole seconds: both writes must fall in the same one
        bucket.put("e/x.jpg", data)
        first = scan_root(bucket.url("e"), {}, PathFilter())
        bucket.put("e/x.jpg", bytes(edited))
        head = bucket.client.head_object(Bucket=bucket.name, Key="e/x.jpg")
        if int(head["LastModified"].timestamp()) == first.seen[0].mtime_ns // 1_000_000_000:
            break
    else:
        pytest.skip("could not write twice within one second")
    from bridge.state.ledger import FileRow

    (f,) = first.seen
    known = {f.path: FileRow(1, f.path, f.root, f.size, f.mtime_ns, f.fingerprint, 1)}
    again = scan_root(bucket.url("e"), known, PathFilter())
    assert again.unchanged == 0 and len(again.changed) == 1
    assert again.changed[0].size == f.size and again.changed[0].fingerprint != f.fingerprint


# --- index, equal to a local index ------------------------------------------------------------------------

PATH_FIELDS = {"path", "paths", "filename", "folder", "folders", "indexed_at"}


def test_a_bucket_indexes_like_the_same_files_in_a_folder(
    settings: Settings, bucket: Bucket, photos: Path
) -> None:
    upload(bucket, photos)
    on_disk = with_data_dir(settings, "local")
    in_bucket = with_data_dir(settings, "bucket")
    a = index(on_disk, str(photos))
    bucket.counter.reset()
    b = index(in_bucket, bucket.url("photos/"))  # a trailing slash is the same root
    for (
        rel
    ) in REAL:  # per object: the fingerprint's one or two ranged GETs, then one GET by a worker, no HEAD
        path, size = f"/{bucket.name}/photos/{rel}", (photos / rel).stat().st_size
        assert bucket.counter.requests[("fingerprint", path)] == (2 if size > 2 * CHUNK else 1), rel
        assert bucket.counter.requests[("read", path)] == 1 and bucket.counter.requests[("HEAD", path)] == 0
        assert bucket.counter.sent[path] == min(size, 2 * CHUNK) + size, rel
    assert a.status == b.status == "completed"
    assert (a.embedded, a.failed) == (b.embedded, b.failed) == (len(REAL) - 1, 1), b.failures_by_reason
    assert a.failures_by_reason == b.failures_by_reason

    files_a, files_b = ledger_files(on_disk), ledger_files(in_bucket)
    rel_a = {str(Path(p).relative_to(photos)): fp for p, (_, _, fp) in files_a.items()}
    rel_b = {p.removeprefix(bucket.url("photos") + "/"): fp for p, (_, _, fp) in files_b.items()}
    assert rel_a == rel_b  # same fingerprints, paths shown and stored as URLs
    assert all(p.startswith(f"s3://{bucket.name}/photos/") for p in files_b)

    pa, pb = points(on_disk), points(in_bucket)
    assert pa.keys() == pb.keys()  # point ids from fingerprint + model
    for pid, (vec, payload) in pa.items():
        other_vec, other = pb[pid]
        assert {k: v for k, v in payload.items() if k not in PATH_FIELDS} == {
            k: v for k, v in other.items() if k not in PATH_FIELDS
        }, pid
        assert other["path"].startswith("s3://") and other["filename"] == payload["filename"]
        assert np.allclose(vec, other_vec, atol=1e-5), pid
    for name in ("content", "analyses", "stages"):
        query = {
            "content": "SELECT fingerprint, metadata FROM content",
            "analyses": "SELECT fingerprint, kind, version, data FROM analyses",
            "stages": "SELECT fingerprint, stage, version, point_id FROM stages",
        }[name]
        rows = []
        for s in (on_disk, in_bucket):
            db = sqlite3.connect(s.data_dir / "ledger.sqlite")
            rows.append(sorted(db.execute(query)))
            db.close()
        assert rows[0] == rows[1], name
    failures = sqlite3.connect(in_bucket.data_dir / "ledger.sqlite").execute(
        "SELECT reason, detail FROM failures"
    )
    (reason, detail), *_ = list(failures)
    assert reason == "truncated" and "botocore" not in detail


# --- change, delete, resume -------------------------------------------------------------------------------


def test_changed_objects_are_read_again_and_deleted_ones_swept(
    settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    photos = make_photos(tmp_path / "gen", 4, size=(300, 200))
    for p in photos:
        bucket.put(f"gen/{p.name}", p.read_bytes())
    root = bucket.url("gen")
    first = index(settings, root)
    assert (first.embedded, first.failed) == (4, 0)
    before = ledger_files(settings)

    # Same key, same size, same second: only the ETag tells (a byte near the end of the entropy data).
    data = bytearray(photos[0].read_bytes())
    data[-40] ^= 0x55
    bucket.put(f"gen/{photos[0].name}", bytes(data))
    # Same key, other content, other size.
    (other,) = make_photos(tmp_path / "other", 1, size=(320, 240), seed=7)
    bucket.put(f"gen/{photos[1].name}", other.read_bytes())
    bucket.delete(f"gen/{photos[2].name}")
    again = index(settings, root)
    assert again.status == "completed"
    assert (again.new_or_changed, again.embedded, again.deleted) == (2, 2, 1)
    after = ledger_files(settings)
    assert bucket.url(f"gen/{photos[2].name}") not in after  # swept
    for p in photos[:2]:
        assert after[bucket.url(f"gen/{p.name}")][2] != before[bucket.url(f"gen/{p.name}")][2]
    assert after[bucket.url(f"gen/{photos[3].name}")] == before[bucket.url(f"gen/{photos[3].name}")]
    assert len(points(settings)) == 3  # the old contents' vectors went with them

    bucket.counter.reset()
    quiet = index(settings, root)  # nothing changed: listed, nothing read
    assert (quiet.new_or_changed, quiet.embedded, quiet.deleted) == (0, 0, 0)
    reads = {k: n for k, n in bucket.counter.gets.items() if k.startswith(f"/{bucket.name}/gen/")}
    assert reads == {} and bucket.counter.gets[f"/{bucket.name}"] >= 1  # one listing, no object GET


def test_a_stopped_run_resumes(settings: Settings, bucket: Bucket, tmp_path: Path) -> None:
    for p in make_photos(tmp_path / "gen", 10):
        bucket.put(f"gen/{p.name}", p.read_bytes())
    s = settings.model_copy(update={"batch_size": 2})

    def stop_after_first_batch(idx: Any, _n: int) -> None:
        idx.stop.set()

    first = index(s, bucket.url("gen"), stop_after_first_batch)
    assert first.status == "stopped" and 0 < first.embedded < 10
    from typer.testing import CliRunner

    from bridge.cli.app import app

    # The rest through the CLI, as a user resumes: a URL argument keeps its double slash.
    args = ["index", bucket.url("gen"), "--model", s.model, "--workers", "2", "--batch-size", "2", "--json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    second = json.loads(out.stdout)
    assert second["status"] == "completed" and second["roots"] == [bucket.url("gen")]
    assert first.embedded + second["embedded"] == 10  # nothing redone, nothing lost
    assert len(points(s)) == 10 and len(ledger_files(s)) == 10


@pytest.mark.slow
def test_a_ray_run_reads_the_bucket_on_its_nodes(settings: Settings, bucket: Bucket, tmp_path: Path) -> None:
    """The Ray runner's decode tasks read objects with the same worker code; nodes take credentials and
    the endpoint from their environment (here inherited from this process by the private local cluster)."""
    pytest.importorskip("ray")
    for p in make_photos(tmp_path / "gen", 6):
        bucket.put(f"gen/{p.name}", p.read_bytes())
    laptop = with_data_dir(settings, "laptop")
    on_ray = with_data_dir(settings, "ray", cluster="local", cluster_embed="head")
    assert index(laptop, bucket.url("gen")).embedded == 6
    summary = index(on_ray, bucket.url("gen"))
    assert (summary.embedded, summary.failed) == (6, 0), summary.failures_by_reason
    assert points(laptop).keys() == points(on_ray).keys()
    assert any(n.startswith("cluster local:") for n in summary.notes), summary.notes  # ran on Ray

    # the store stops answering the nodes' reads: the run stops with the worker's sentence, no file is blamed
    for p in make_photos(tmp_path / "more", 3, seed=7):
        bucket.put(f"gen/more_{p.name}", p.read_bytes())
    once = {"s3": {"config_kwargs": {"retries": {"max_attempts": 1}}}}
    down = on_ray.model_copy(update={"object_storage_options": once})
    bucket.counter.unavailable = "read"
    with pytest.raises(RunFailure, match="did not answer or is unavailable.*on a cluster node") as e:
        index(down, bucket.url("gen"))
    assert bucket.url("gen/") in str(e.value)
    db = sqlite3.connect(on_ray.data_dir / "ledger.sqlite")
    assert list(db.execute("SELECT path, reason FROM failures")) == []
    db.close()
    bucket.counter.unavailable = None
    assert index(down, bucket.url("gen")).embedded == 3


# --- run-level errors and listings that fail --------------------------------------------------------------


def test_a_missing_bucket_or_no_credentials_is_one_clear_error(
    settings: Settings, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"s3://{bucket.name}-not-there/photos"
    with pytest.raises(RunFailure, match="the bucket does not exist") as e:
        index(settings, missing)
    assert missing in str(e.value)
    from typer.testing import CliRunner

    from bridge.cli.app import app

    out = CliRunner().invoke(app, ["index", missing + "/", "--model", settings.model])
    assert out.exit_code != 0 and missing in out.output and "does not exist" in out.output, out.output
    assert "Traceback" not in out.output

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(settings.data_dir / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(settings.data_dir / "none"))
    _forget_clients()
    with pytest.raises(RunFailure, match="no valid credentials") as e:
        index(settings, bucket.url("photos"))
    assert bucket.url("photos") in str(e.value) and "Traceback" not in str(e.value)


def test_a_failed_or_empty_listing_is_not_everything_deleted(
    settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    names = [p.name for p in make_photos(tmp_path / "gen", 3)]
    for n in names:
        bucket.put(f"gen/{n}", (tmp_path / "gen" / n).read_bytes())
    assert index(settings, bucket.url("gen")).embedded == 3

    with socket.socket() as sk:  # a port nobody listens on: the store is unreachable
        sk.bind(("127.0.0.1", 0))
        dead = sk.getsockname()[1]
    unreachable = {
        "s3": {
            "endpoint_url": f"http://127.0.0.1:{dead}",
            "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
        }
    }
    down = index(settings.model_copy(update={"object_storage_options": unreachable}), bucket.url("gen"))
    assert down.deleted == 0 and any("could not list" in n for n in down.notes), down.notes
    assert len(ledger_files(settings)) == 3

    for n in names:
        bucket.delete(f"gen/{n}")
    empty = index(settings, bucket.url("gen"))
    assert empty.deleted == 0 and any("nothing found under" in n for n in empty.notes), empty.notes
    assert len(ledger_files(settings)) == 3


def test_a_store_that_stops_answering_stops_the_run_and_blames_no_file(
    settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    photos = make_photos(tmp_path / "gen", 4)
    for p in photos[:3]:
        bucket.put(f"gen/{p.name}", p.read_bytes())
    once = {"s3": {"config_kwargs": {"retries": {"max_attempts": 1}}}}  # s3fs still retries 503s itself
    s = settings.model_copy(update={"object_storage_options": once})

    bucket.counter.unavailable = "read"  # listed and fingerprinted, then the workers' reads get 503s
    with pytest.raises(RunFailure, match="did not answer or is unavailable") as e:
        index(s, bucket.url("gen"))
    assert bucket.url("gen/") in str(e.value)
    bucket.put(f"gen/{photos[3].name}", photos[3].read_bytes())
    bucket.counter.unavailable = "fingerprint"  # now the fingerprint's reads of the new object fail
    with pytest.raises(RunFailure, match="did not answer or is unavailable"):
        index(s, bucket.url("gen"))
    db = sqlite3.connect(s.data_dir / "ledger.sqlite")
    assert list(db.execute("SELECT path, reason FROM failures")) == []  # nothing waits as failed
    db.close()

    bucket.counter.unavailable = None  # back: the next run does everything
    done = index(s, bucket.url("gen"))
    assert (done.embedded, done.failed) == (4, 0)


# --- watch and search --like ------------------------------------------------------------------------------


def wait_for(cond: Any, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.1)


def test_watch_polls_a_bucket_and_search_like_takes_a_url(
    settings: Settings, bucket: Bucket, tmp_path: Path
) -> None:
    from bridge.indexing.watch import watch_forever
    from bridge.search.query import SearchError, photo_vector, search

    gen = make_photos(tmp_path / "gen", 3, size=(200, 150))
    bucket.put(f"w/{gen[0].name}", gen[0].read_bytes())
    s = settings.model_copy(update={"object_poll_seconds": 0.3, "watch_rescan_minutes": 0})
    engine = Engine.open(s)
    stop = threading.Event()
    runs: list[Any] = []
    t = threading.Thread(
        target=watch_forever,
        args=(engine, [bucket.url("w")]),
        kwargs={"stop": stop, "poll": 0.1, "on_run": runs.append},
        daemon=True,
    )
    t.start()
    try:
        wait_for(lambda: runs)  # the catch-up run
        assert runs[0].embedded == 1
        bucket.put(f"w/{gen[1].name}", gen[1].read_bytes())
        bucket.put(f"w/{gen[2].name}", gen[2].read_bytes())
        wait_for(lambda: sum(r.embedded for r in runs) == 3)
        bucket.delete(f"w/{gen[0].name}")
        wait_for(lambda: sum(r.deleted for r in runs) == 1)
    finally:
        stop.set()
        t.join(30)
        engine.close()
    assert set(ledger_files(s)) == {bucket.url(f"w/{p.name}") for p in gen[1:]}

    with Engine.open(s) as engine:
        url = bucket.url(f"w/{gen[1].name}")
        vec, fp = photo_vector(engine, url)
        assert fp == fingerprint(gen[1])
        assert search(engine, vec, limit=1)[0].path == url
        # not indexed: read from the bucket and embedded on the spot
        bucket.put("elsewhere/new.jpg", gen[0].read_bytes())
        vec2, _ = photo_vector(engine, bucket.url("elsewhere/new.jpg"))
        assert vec2.shape == vec.shape
        with pytest.raises(SearchError, match="not there"):
            photo_vector(engine, bucket.url("elsewhere/missing.jpg"))
    from typer.testing import CliRunner

    from bridge.cli.app import app

    out = CliRunner().invoke(app, ["search", "--like", url, "--model", s.model, "--json", "-n", "1"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["results"][0]["path"] == url


def test_a_watcher_outlives_a_store_outage_and_indexes_the_held_changes_later(
    settings: Settings, bucket: Bucket, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bridge.indexing.watch import watch_forever

    gen = make_photos(tmp_path / "gen", 2, size=(200, 150))
    bucket.put(f"o/{gen[0].name}", gen[0].read_bytes())
    once = {"s3": {"config_kwargs": {"retries": {"max_attempts": 1}}}}
    s = settings.model_copy(
        update={"object_poll_seconds": 0.3, "watch_rescan_minutes": 0, "object_storage_options": once}
    )
    engine = Engine.open(s)
    stop = threading.Event()
    runs: list[Any] = []
    t = threading.Thread(
        target=watch_forever,
        args=(engine, [bucket.url("o")]),
        kwargs={"stop": stop, "poll": 0.1, "on_run": runs.append},
        daemon=True,
    )
    t.start()
    try:
        wait_for(lambda: runs)
        bucket.counter.unavailable = "read"  # the store sheds load while a new photo arrives
        bucket.put(f"o/{gen[1].name}", gen[1].read_bytes())
        wait_for(lambda: "trying again" in caplog.text)
        assert t.is_alive() and len(runs) == 1  # still watching; nothing recorded for the held change
        bucket.counter.unavailable = None
        wait_for(lambda: sum(r.embedded for r in runs) == 2)  # the held change, without a new event
    finally:
        stop.set()
        t.join(30)
        engine.close()
    assert "did not answer or is unavailable" in caplog.text and "Traceback" not in caplog.text
    db = sqlite3.connect(s.data_dir / "ledger.sqlite")
    assert list(db.execute("SELECT path FROM failures")) == []
    db.close()


def test_the_poller_diffs_listings_and_never_takes_a_failed_one_for_deletions(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bridge.indexing import watch
    from bridge.indexing.watch import ListingPoller

    for i in range(3):
        bucket.put(f"p/{i}.jpg", b"x" * (i + 1))
    poller = ListingPoller([bucket.url("p")], PathFilter(), {}, interval=0.0)
    poller.baseline()
    assert poller.poll() == ([], [])
    bucket.put("p/0.jpg", b"changed")
    bucket.put("p/new.jpg", b"n")
    bucket.put("p/notes.txt", b"not a photo")
    bucket.delete("p/2.jpg")
    assert poller.poll() == ([bucket.url("p/0.jpg"), bucket.url("p/new.jpg")], [bucket.url("p/2.jpg")])
    for key in ("p/0.jpg", "p/1.jpg", "p/new.jpg"):
        bucket.delete(key)
    assert poller.poll() == ([], [])  # an empty listing: not "everything deleted"
    monkeypatch.setattr(watch, "MANY_CHANGED", 1)
    for i in range(3):
        bucket.put(f"p/{i}.jpg", b"y")
    poller.listings[bucket.url("p")] = {bucket.url("p/1.jpg"): (9, 9)}
    assert poller.poll() == ([bucket.url("p")], [])  # many changes: the root is scanned whole
    broken = ListingPoller([f"s3://{bucket.name}-gone/p"], PathFilter(), {}, interval=0.0)
    broken.baseline()
    assert broken.poll() == ([], [])  # a listing that fails is skipped, never a deletion


def test_objects_go_to_the_cpu_workers_never_the_device_lane() -> None:
    from bridge.indexing.lanes import wants_device
    from bridge.indexing.worker import Job

    local = Job(path="/p/x.jpg", fingerprint="f", want_metadata=True, want_pixels=True)
    assert wants_device(local)
    assert not wants_device(Job(path="s3://b/x.jpg", fingerprint="f", want_metadata=True, want_pixels=True))


# --- the laptop path ---------------------------------------------------------------------------------------


def test_a_local_index_never_imports_fsspec(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "local"
    make_photos(folder, 3)
    code = (
        "import sys\n"
        "from bridge.engine import Engine\nfrom bridge.settings import Settings\n"
        f"s = Settings(data_dir={str(settings.data_dir)!r}, model={settings.model!r}, workers=1, batch_size=8)\n"
        f"with Engine.open(s) as e: r = e.index([{str(folder)!r}])\n"
        "assert r.embedded == 3\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fsspec', 's3fs', 'gcsfs', 'botocore', 'aiobotocore', 'ray')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
