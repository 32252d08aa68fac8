"""The two decode lanes and their shared queue: who takes what, every job answered once, halves joined, a
failing device step handed to the CPU, and a stop that ends both lanes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bridge.engine import Engine
from bridge.indexing import devicedecode as dd
from bridge.indexing import lanes
from bridge.indexing.jobqueue import JobQueue
from bridge.indexing.worker import Job
from bridge.records import Stage
from bridge.settings import Settings
from tests.photo_factory import write_image, write_jpeg


def job(path: Path | str, **kw: object) -> Job:
    base: dict[str, object] = {"path": str(path), "fingerprint": Path(path).name, "want_metadata": True}
    return Job(**{**base, "want_pixels": True, **kw})  # type: ignore[arg-type]


def test_job_queue_order_metadata_first_then_cpu_then_stolen_jpegs() -> None:
    q = JobQueue([job("c1.png"), job("c2.png")], [job("d1.jpg"), job("d2.jpg"), job("d3.jpg")], open_=True)
    q.to_metadata([job("m1.jpg", want_pixels=False)])
    assert q.take_cpu(steal=False).path == "m1.jpg"  # type: ignore[union-attr]
    assert q.take_device(1)[0].path == "d1.jpg"  # the device takes from the front
    assert [q.take_cpu(steal=False).path for _ in range(2)] == ["c1.png", "c2.png"]  # type: ignore[union-attr]
    assert q.take_cpu(steal=False) is None  # busy workers never take the device's files
    assert q.take_cpu(steal=True).path == "d3.jpg"  # an idle one steals from the back  # type: ignore[union-attr]
    assert q.stolen == 1 and not q.finished()  # still open: the device lane may hand files back
    q.to_cpu([job("back.jpg")])
    assert q.take_cpu(steal=False).path == "back.jpg"  # type: ignore[union-attr]
    assert [j.path for j in q.take_device(5)] == ["d2.jpg"]
    q.close()
    assert q.finished()


def test_a_failing_device_step_hands_the_batch_to_the_cpu(tmp_path: Path, monkeypatch) -> None:
    jobs = [
        job(write_jpeg(tmp_path / f"{i}.jpg", 300, 200, seed=i), analyses=((Stage.QUALITY, "q"),))
        for i in range(3)
    ]

    def broken(*a: object, **k: object) -> None:
        raise RuntimeError("a bug in a batched analysis")

    monkeypatch.setattr(dd, "analyses", broken)
    q = JobQueue(device=jobs, open_=True)
    lane = dd.DeviceLane("cpu", stop=lambda: False)
    assert list(lane.run(q.take_device, q.to_cpu)) == []
    assert sorted(j.path for j in iter(lambda: q.take_cpu(steal=False), None)) == sorted(j.path for j in jobs)
    assert lane.turned_away == 3 and lane.decoded == 0


@pytest.fixture
def lane_settings(settings: Settings) -> Settings:
    return settings.with_overrides(device_decode="on", workers=2)


def test_every_job_answered_once_and_halves_joined(lane_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    jpegs = [
        write_jpeg(folder / f"j{i}.jpg", 640, 480, orientation=6 if i % 2 else 1, seed=i) for i in range(12)
    ]
    others = [write_image(folder / f"o{i}.png", 320, 200, seed=20 + i) for i in range(3)]
    prog = write_jpeg(folder / "prog.jpg", 320, 240, progressive=True, seed=40)
    jobs = [job(p, image_size=224) for p in [*jpegs, *others, prog]]
    with Engine.open(lane_settings) as engine:
        ctx = engine.indexer().context()
        counts = lanes.LaneCounts()
        got = list(lanes.results(ctx, jobs, counts))
    assert sorted(r.path for r in got) == sorted(j.path for j in jobs)  # each once
    by_path = {Path(r.path).name: r for r in got}
    for i in range(12):
        r = by_path[f"j{i}.jpg"]
        assert r.metadata is not None and r.model_input is not None and r.model_input.shape == (224, 224, 3)
        assert (r.metadata["width"], r.metadata["height"]) == (640, 480)  # oriented, like the CPU decoder
    assert counts.device == "cpu"
    assert counts.device_decoded + counts.stolen + counts.turned_away >= 12
    assert counts.turned_away >= 1  # the progressive JPEG


def test_stop_ends_both_lanes(lane_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    jobs = [job(write_jpeg(folder / f"j{i}.jpg", 800, 600, seed=i), image_size=224) for i in range(60)]
    before = threading.active_count()
    with Engine.open(lane_settings) as engine:
        ctx = engine.indexer().context()
        stream = lanes.results(ctx, jobs)
        first = next(stream)
        ctx.stop.set()
        rest = list(stream)
    assert first is not None and len(rest) < len(jobs) - 1
    assert threading.active_count() <= before + 1  # the lanes' threads are gone
