"""Protocol feature "chunks" (issue 16): long path lists go up in `upload` pieces, long replies come down in
`part` frames, and a frame the service has to drop (too large, unreadable) is answered with its request id
whenever its first or last bytes still show it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.lightroom import Service, uploads
from bridge.lightroom import protocol as p
from bridge.lightroom.uploads import Cancelled, PartSender, Uploads
from tests.bridge.lightroom.plugin_sim import PluginSim

BIG = ["/photos/" + "x" * 200 + f"/{i:05d}.jpg" for i in range(6000)]  # ~1.3 MB of paths


def _compact(frame: dict) -> bytes:
    return json.dumps(frame, separators=(",", ":")).encode()


def test_envelope_id_from_the_head_the_sorted_tail_or_not_at_all() -> None:
    head_first = _compact({"v": 2, "id": "lr-1-7", "type": "metadata", "body": {"paths": BIG}})
    assert p.envelope_id(head_first[:4096]) == "lr-1-7"
    # a plugin before "chunks" sorted its keys: body first, the id near the end
    sorted_keys = _compact({"body": {"paths": BIG, "id": "inner"}, "id": "lr-1-8", "re": None, "type": "x", "v": 2})
    assert p.envelope_id(sorted_keys[:4096], sorted_keys[-4096:]) == "lr-1-8"
    # a nested "id" is never taken for the request's, and junk has none
    nested = _compact({"body": {"id": "inner", "paths": BIG}})
    assert p.envelope_id(nested[:4096], nested[-4096:]) is None
    assert p.envelope_id(b"\xff\xfe garbage", b"more garbage") is None
    assert p.envelope_id(b'{"v":2,"id":' + b"7" * 10 + b',"body":{}}') is None  # not a string id


def test_line_reader_keeps_an_oversized_lines_id(tmp_path: Path) -> None:
    line = _compact({"v": 2, "id": "lr-9", "type": "metadata", "body": {"paths": BIG}}) + b"\n"
    data = [line[i : i + 65536] for i in range(0, len(line), 65536)] + [b'{"v":2}\n', b""]
    reader = p.LineReader(lambda n: data.pop(0))
    big = reader.read_line()
    assert isinstance(big, p.TooLarge) and big.size == len(line) - 1 and big.id == "lr-9"
    assert reader.read_line() == b'{"v":2}'
    with pytest.raises(p.ProtocolError) as e:
        p.parse_frame(b'{"v":2,"id":"lr-3","type":"status","body":{' + b"x" * 100)  # cut short
    assert (e.value.code, e.value.re) == ("bad_frame", "lr-3")


def test_uploads_collect_then_are_used_once_and_stay_bounded() -> None:
    ups = Uploads()
    uid, n = ups.add(None, ["/a", "/b"], "r1")
    assert ups.add(uid, ["/c"], "r2") == (uid, 3)
    assert ups.take(uid, "r3") == ["/a", "/b", "/c"]
    with pytest.raises(p.ProtocolError) as e:
        ups.take(uid, "r4")
    assert (e.value.code, e.value.re) == ("not_found", "r4")
    first, _ = ups.add(None, ["/x"], "r5")
    for _ in range(uploads.MAX_OPEN):
        ups.add(None, ["/y"], "r6")
    with pytest.raises(p.ProtocolError):
        ups.take(first, "r7")  # the oldest was forgotten once too many were open


def test_part_sender_splits_by_bytes_and_stops_when_cancelled() -> None:
    sent: list[p.Frame] = []
    flag = threading.Event()

    def send(f: p.Frame) -> bool:
        sent.append(f)
        return True

    req = p.Frame("metadata", {}, id="q1")
    out = PartSender(
        send, req, "metadata.result", "photos", chunked=True, total=20, cancelled=flag.is_set, part_bytes=300
    )
    out.add([{"path": f"/p/{i:03d}.jpg", "keywords": ["A|B"]} for i in range(20)])
    assert len(sent) >= 2 and all(f.type == "part" and f.re == "q1" for f in sent)
    assert all(len(p.encode(f)) < 600 for f in sent)
    out.finish({"keyword_parent": None})
    final = sent[-1]
    assert final.type == "metadata.result" and final.body["parts"] == len(sent) - 1
    items = [x for f in sent[:-1] for x in f.body["items"]] + final.body["photos"]
    assert [x["path"] for x in items] == [f"/p/{i:03d}.jpg" for i in range(20)]
    flag.set()
    with pytest.raises(Cancelled):
        out.add([{"path": "/p/" + "z" * 400}, {"path": "/p/last"}])


@pytest.fixture
def chunk_sim(service: Service, bridge_dir: Path) -> Iterator[PluginSim]:
    with PluginSim(bridge_dir, features=("chunks",)) as s:
        assert s.wait_connected(20), service.status()
        assert service.wait_connected(10)
        yield s


def test_a_dropped_frame_is_answered_with_its_request_id(sim: PluginSim) -> None:
    sim.send_raw(_compact({"v": 2, "id": "big-1", "type": "metadata", "body": {"paths": BIG}}) + b"\n")
    (err,) = sim.wait_reply("big-1")
    assert err["type"] == "error" and err["body"]["code"] == "too_large"
    old = {"body": {"paths": BIG}, "id": "big-2", "type": "metadata", "v": 2}  # sorted keys, as plugins were
    sim.send_raw(_compact(old) + b"\n")
    (err,) = sim.wait_reply("big-2")
    assert err["body"]["code"] == "too_large"
    assert sim.request("status")["type"] == "status.result"


def test_upload_then_metadata_in_parts(
    chunk_sim: PluginSim, service: Service, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = chunk_sim
    paths = sorted(str(x) for x in photos.iterdir())
    whole = sim.request("metadata", {"paths": paths})
    assert whole["type"] == "metadata.result" and whole["body"]["parts"] == 0
    up = sim.request("upload", {"paths": paths[:2]})["body"]
    assert sim.request("upload", {"upload": up["upload"], "paths": [*paths[2:], "/not/indexed.jpg"]})[
        "body"
    ] == {"upload": up["upload"], "count": len(paths) + 1}
    monkeypatch.setattr(uploads, "PART_BYTES", 400)
    frames = sim.stream("metadata", {"upload": up["upload"]}, final=("metadata.result",))
    parts, final = frames[:-1], frames[-1]
    assert parts and all(f["type"] == "part" and f["body"]["field"] == "photos" for f in parts)
    assert final["body"]["parts"] == len(parts)
    assert [f["body"]["done"] for f in parts] == sorted(f["body"]["done"] for f in parts)
    got = [x for f in parts for x in f["body"]["items"]] + final["body"]["photos"]
    assert got == whole["body"]["photos"]
    again = sim.request("metadata", {"upload": up["upload"]})  # an upload is used once
    assert again["type"] == "error" and again["body"]["code"] == "not_found"
    both = sim.request("duplicates", {"upload": "x", "paths": paths})
    assert both["body"]["code"] == "bad_request"


def test_a_plugin_without_chunks_gets_one_reply(sim: PluginSim, photos: Path, monkeypatch) -> None:
    monkeypatch.setattr(uploads, "PART_BYTES", 400)
    paths = sorted(str(x) for x in photos.iterdir())
    frames = sim.stream("metadata", {"paths": paths}, final=("metadata.result",))
    assert [f["type"] for f in frames] == ["metadata.result"]
