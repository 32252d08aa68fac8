"""The device lane's code on the CPU (torchvision decodes there too): which files it takes, the shared bitmap and
model input against the CPU decoder's, and a whole index run with the lane on agreeing with one without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bridge.engine import Engine
from bridge.files.thumbs import thumb_path, thumbs_dir
from bridge.indexing import devicedecode as dd
from bridge.indexing.decode import decode_image
from bridge.indexing.preprocess import caption_input, model_input
from bridge.indexing.worker import Job
from bridge.settings import Settings
from tests.photo_factory import truncated_copy, write_image, write_jpeg

# Measured on the 38 shared JPEGs the lane takes (2026-12-05): mean absolute difference to the CPU decoder's
# bitmap median 0.00, max 0.78 grey levels; model input median 0.00, max 0.53. The CPU decoder's draft mode
# scales in the DCT domain where the lane box-averages decoded pixels.
BITMAP_MEAN_ABS = 1.5  # grey levels, shared bitmap
MODEL_INPUT_MEAN_ABS = 1.5  # grey levels, 224 px model input


def job(path: Path, **kw: object) -> Job:
    base: dict[str, object] = {
        "path": str(path),
        "fingerprint": path.name,
        "want_metadata": True,
        "want_pixels": True,
    }
    return Job(**{**base, **kw})  # type: ignore[arg-type]


def eligible(path: Path, **kw: object) -> dd.Eligible | None:
    j = job(path, **kw)
    return dd.inspect(j, dd.read(j))


def lane_bitmap(path: Path, target: int = 448) -> torch.Tensor:
    item = eligible(path)
    assert item is not None, path
    (pixels,) = dd.decode([item], "cpu")
    assert pixels is not None
    return dd.shared_bitmap(pixels, item.orientation, target)


def host(t: torch.Tensor) -> np.ndarray:
    return dd.to_host(t)


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# ---------------------------------------------------------------- which files the lane takes


def test_baseline_jpeg_is_taken_with_its_header(tmp_path: Path) -> None:
    p = write_jpeg(tmp_path / "a.jpg", 640, 480, orientation=6)
    item = eligible(p)
    assert item is not None
    assert (item.width, item.height, item.orientation) == (480, 640, 6)  # stored sideways


@pytest.mark.parametrize(
    "make",
    [
        lambda d: write_jpeg(d / "p.jpg", 320, 240, progressive=True),
        lambda d: write_jpeg(d / "c.jpg", 320, 240, mode="CMYK"),
        lambda d: write_jpeg(d / "g.jpg", 320, 240, mode="L"),
        lambda d: truncated_copy(write_jpeg(d / "full.jpg", 320, 240), d / "cut.jpg", fraction=0.6),
        lambda d: write_image(d / "x.png", 64, 48).rename(d / "png.jpg"),  # a PNG named .jpg
    ],
    ids=["progressive", "cmyk", "grey", "cut", "png-named-jpg"],
)
def test_files_the_device_cannot_decode_like_the_cpu_go_to_the_cpu(tmp_path: Path, make) -> None:
    assert eligible(make(tmp_path)) is None


def test_data_after_the_image_and_pixel_bombs_go_to_the_cpu(tmp_path: Path) -> None:
    p = write_jpeg(tmp_path / "a.jpg", 320, 240)
    trailing = tmp_path / "t.jpg"
    trailing.write_bytes(p.read_bytes() + b"junk after EOI")
    assert eligible(trailing) is None
    assert eligible(p, max_pixels=320 * 240 - 1) is None
    assert eligible(p, max_bytes=100) is None  # above the format's size limit: never read


def test_a_batch_with_a_file_the_decoder_refuses_keeps_the_others(tmp_path: Path) -> None:
    good = [eligible(write_jpeg(tmp_path / f"{i}.jpg", 200, 150, seed=i)) for i in range(3)]
    assert all(good)
    bad_data = bytearray(good[1].data)  # type: ignore[union-attr]
    bad_data[300:2000] = b"\x00" * 1700  # scan data wrecked, header and EOI intact
    bad = dd.Eligible(good[1].job, bad_data, 1, 200, 150)  # type: ignore[union-attr]
    out = dd.decode([good[0], bad, good[2]], "cpu")  # type: ignore[list-item]
    assert out[0] is not None and out[2] is not None
    assert tuple(out[0].shape) == (3, 150, 200)


def test_out_of_memory_splits_the_batch_and_loses_nothing(tmp_path: Path, monkeypatch) -> None:
    import torchvision.io

    items = [eligible(write_jpeg(tmp_path / f"{i}.jpg", 120, 90, seed=i)) for i in range(5)]
    real = torchvision.io.decode_jpeg
    calls: list[int] = []

    def tight(data, **kw):  # a device with room for two images at a time
        n = len(data) if isinstance(data, list) else 1
        calls.append(n)
        if n > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(data, **kw)

    monkeypatch.setattr(torchvision.io, "decode_jpeg", tight)
    out = dd.decode(items, "cpu")  # type: ignore[arg-type]
    assert all(t is not None for t in out) and len(out) == 5
    assert calls[0] == 5 and sum(n for n in calls if n <= 2) == 5  # halved until it fit, each file once
    for item, t in zip(items, out, strict=True):
        assert t is not None and tuple(t.shape) == (3, 90, 120), item


# ---------------------------------------------------------------- the shared bitmap against the CPU decoder


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_shared_bitmap_is_upright_and_matches_the_cpu_decoder(tmp_path: Path, orientation: int) -> None:
    p = write_jpeg(tmp_path / "o.jpg", 1200, 800, orientation=orientation, seed=orientation)
    cpu = decode_image(p, target=448).pixels
    dev = host(lane_bitmap(p))
    assert dev.shape == cpu.shape  # upright, same size (shortest side in [448, 896))
    assert mean_abs(dev, cpu) <= BITMAP_MEAN_ABS


@pytest.mark.shared_data
def test_shared_bitmap_and_model_input_on_real_photos(shared_data: Path) -> None:
    checked = 0
    for p in sorted((shared_data / "jpeg").glob("*.jpg")):
        j = job(p)
        item = dd.inspect(j, dd.read(j))
        if item is None:
            continue  # progressive, odd or cut: the CPU's
        checked += 1
        cpu = decode_image(p, target=448).pixels
        dev = lane_bitmap(p)
        assert host(dev).shape == cpu.shape, p.name
        assert mean_abs(host(dev), cpu) <= BITMAP_MEAN_ABS, p.name
        assert mean_abs(host(dd.model_input(dev, 224)), model_input(cpu, 224)) <= MODEL_INPUT_MEAN_ABS, p.name
        assert mean_abs(host(dd.caption_input(dev, 384)), caption_input(cpu, 384)) <= MODEL_INPUT_MEAN_ABS
    assert checked >= 5


def test_model_input_crops_like_open_clip(tmp_path: Path) -> None:
    for w, h in ((672, 448), (448, 672), (500, 500), (300, 200)):
        img = np.asarray(Image.new("RGB", (w, h), (10, 20, 30)))
        img = img.copy()
        img[:, : w // 3] = 200  # an edge that shows where the crop falls
        t = torch.from_numpy(img).permute(2, 0, 1)
        assert mean_abs(host(dd.model_input(t, 224)), model_input(img, 224)) <= MODEL_INPUT_MEAN_ABS, (w, h)


# ---------------------------------------------------------------- a whole run with the lane on


def test_index_with_the_device_lane_matches_the_cpu_workers(
    settings: Settings, tmp_path: Path, copy_shared
) -> None:
    folder = tmp_path / "photos"
    for i in range(10):
        write_jpeg(folder / f"base_{i}.jpg", 900, 600, orientation=(1, 6, 3, 8)[i % 4], seed=i)
    write_jpeg(folder / "prog.jpg", 640, 480, progressive=True, seed=50)
    write_jpeg(folder / "cmyk.jpg", 640, 480, mode="CMYK", seed=51)
    write_image(folder / "a.png", 500, 300, seed=52)
    truncated_copy(write_jpeg(tmp_path / "full.jpg", 640, 480, seed=53), folder / "cut.jpg", fraction=0.5)
    (folder / "empty.jpg").write_bytes(b"")

    def index(mode: str) -> tuple[dict, dict, dict]:
        s = settings.with_overrides(data_dir=tmp_path / f"data-{mode}", device_decode=mode)
        (tmp_path / f"data-{mode}").mkdir()
        import shutil

        shutil.copytree(settings.models_dir, s.models_dir)
        with Engine.open(s) as engine:
            summary = engine.index([str(folder)])
            points = {pid: (payload, vec) for pid, payload, vec in engine.store().scroll(with_vectors=True)}
            failures = {Path(f.path).name: f.reason for f in engine.ledger.failures()}
        thumbs[mode] = {
            payload["path"]: np.asarray(
                Image.open(thumb_path(thumbs_dir(s.data_dir), payload["fingerprint"]))
            )
            for payload, _ in points.values()
        }
        return summary.as_dict(), points, failures

    thumbs: dict[str, dict[str, np.ndarray]] = {}

    cpu_summary, cpu_points, cpu_failures = index("off")
    dev_summary, dev_points, dev_failures = index("on")
    assert any("decoded on cpu" in n for n in dev_summary["notes"]), dev_summary["notes"]
    assert set(dev_points) == set(cpu_points)  # same ids: content + model
    assert dev_failures == cpu_failures and len(cpu_failures) == 2  # the cut and the empty file, same reasons
    for pid, (payload, vec) in cpu_points.items():
        dpayload, dvec = dev_points[pid]
        assert float(np.dot(vec, dvec)) >= 0.98, payload["path"]
        for key in ("path", "width", "height", "camera", "date", "rating", "folder"):
            assert dpayload.get(key) == payload.get(key), (key, payload["path"])
        # the window's thumbnails came from the shared bitmap of whichever decoder took the photo
        assert max(thumbs["on"][payload["path"]].shape[:2]) == 256
        assert mean_abs(thumbs["on"][payload["path"]], thumbs["off"][payload["path"]]) <= 3.0
        for key in ("sharpness", "exposure", "brightness", "noise"):
            if key in payload:
                assert dpayload[key] == pytest.approx(payload[key], abs=0.08), (key, payload["path"])


def test_index_with_two_replicas_matches_one_device(settings: Settings, tmp_path: Path) -> None:
    """`--device cpu,cpu`: one model replica per device sharing each batch; same ids, payloads and vectors."""
    import shutil

    folder = tmp_path / "photos"
    for i in range(21):  # not a multiple of the batch: uneven chunks
        write_jpeg(folder / f"r_{i}.jpg", 400, 300, seed=100 + i)

    def index(device: str) -> dict:
        data = tmp_path / f"data-{device.replace(',', '-')}"
        s = settings.with_overrides(data_dir=data, device=device, batch_size=8)
        shutil.copytree(settings.models_dir, s.models_dir)
        with Engine.open(s) as engine:
            assert engine.index([str(folder)]).embedded == 21
            return {pid: (payload, vec) for pid, payload, vec in engine.store().scroll(with_vectors=True)}

    one, two = index("cpu"), index("cpu,cpu")
    assert set(one) == set(two)
    for pid, (payload, vec) in one.items():
        assert {**two[pid][0], "indexed_at": 0} == {
            **payload,
            "indexed_at": 0,
        }  # all but the time it was written
        np.testing.assert_allclose(two[pid][1], vec, atol=1e-5)
