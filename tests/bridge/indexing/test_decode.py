"""bridge.indexing.decode on the real shared photos (every format, RAW, broken corpus) and on generated edge cases."""

from __future__ import annotations

import csv
import errno
import os
import re
import resource
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bridge.indexing import decode
from bridge.indexing.decode import decode_image, decode_raw, decode_safe
from bridge.records import Decoded, DecodeError, Failure, Reason
from tests import photo_factory as pf

TARGET = 448
DIHEDRAL = [None, *Image.Transpose]  # identity + the 7 flips/rotations (Transpose has exactly those 7)

# What each shared broken/RAW file must give. Stubs: LibRaw fails or returns empty data, and the file holds
# far fewer bytes than its sensor needs -> RAW_NO_IMAGE; LibRaw refusing the variant -> UNSUPPORTED_RAW.
BROKEN = {
    "zero_bytes.jpg": Reason.EMPTY_FILE,
    "not_an_image_text.jpg": Reason.NOT_AN_IMAGE,
    "truncated_4KB_header_only_Sony_HX5V.jpg": Reason.TRUNCATED,  # Pillow: "Truncated File Read" at open
    "truncated_50pct_prairie_falcon.jpg": Reason.TRUNCATED,  # only load() fails
    "truncated_60pct_density_plot.png": Reason.TRUNCATED,
    "truncated_40pct_iPhone7.heic": Reason.TRUNCATED,  # 'mdat' box runs past EOF (decoder would paint green)
    "truncated_50pct_canon_eos_6d.dng": Reason.TRUNCATED,  # preview intact, raw strips run past EOF
}
RAW_FAILURES = {
    "Apple_iPhone12Pro_ProRAW_stripped_IMG_1361.dng": (
        Reason.RAW_NO_IMAGE,
        "100.0% of the raw sensor samples",
    ),
    "Canon_EOS_R6_pruned.CR3": (Reason.RAW_NO_IMAGE, "only 492016 bytes"),
    "GoPro_HERO6_GOPR0024.GPR": (Reason.UNSUPPORTED_RAW, "LibRaw cannot"),
    "exiftool_CanonRaw_EOS350D.cr2": (Reason.UNSUPPORTED_RAW, "LibRaw cannot"),
    "exiftool_CanonRaw_EOS300D.crw": (Reason.RAW_NO_IMAGE, "only 6816 bytes"),
    "exiftool_CanonRaw.cr3": (Reason.RAW_NO_IMAGE, "only 52502 bytes"),
    # LibRaw "decodes" uninitialised memory here: which check fires first varies from run to run.
    "exiftool_DNG.dng": (Reason.RAW_NO_IMAGE, "image data stripped"),
    "exiftool_FujiFilm_S5Pro.raf": (Reason.RAW_NO_IMAGE, "only 38452 bytes"),
    "exiftool_Minolta_A2.mrw": (Reason.RAW_NO_IMAGE, "only 2596 bytes"),
    "exiftool_Nikon_D70.nef": (Reason.RAW_NO_IMAGE, "only 6188 bytes"),
    "exiftool_Panasonic_LX3.rw2": (
        Reason.RAW_NO_IMAGE,
        "99.8% of the raw sensor samples",
    ),  # garbage, not zeros
    "exiftool_Sigma_DP2.x3f": (Reason.RAW_NO_IMAGE, "only 4364 bytes"),  # LibRaw says "too big"
}
RAW_DECODABLE = {  # name prefix -> (source, full oriented width, height)
    "Canon_EOS_D30_RAW_CANON_D30_SRGB": ("raw-preview", 2160, 1440),  # Canon crop; 1440x960 embedded JPEG
    "RAW_KODAK_DC50_": ("raw-full", 768, 512),  # 96x64 bitmap preview; half-size would undershoot 448
    "canon_eos_6d": ("raw-preview", 1224, 816),  # 1024x683 embedded JPEG
}
# HEIF: the manifest's sizes already have the container rotation applied; this one has EXIF rotation only.
HEIF_EXIF_ROTATED = {"Apple_iPhone7.heic"}


def small(pixels: np.ndarray, size: tuple[int, int] = (96, 64)) -> np.ndarray:
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR), dtype=np.int16)


def best_transform(pixels: np.ndarray, reference: np.ndarray) -> tuple[object, float, float]:
    """Which of the 8 flips/rotations of `pixels` looks most like `reference`: (op, its diff, runner-up diff)."""
    size = (96, round(96 * reference.shape[0] / reference.shape[1]))
    ref = small(reference, size)
    img = Image.fromarray(pixels)
    diffs = sorted(
        (
            float(np.abs(small(np.asarray(img if op is None else img.transpose(op)), size) - ref).mean()),
            str(op),
        )
        for op in DIHEDRAL
    )
    return diffs[0][1], diffs[0][0], diffs[1][0]


def check_bitmap(d: Decoded, target: int = TARGET) -> None:
    assert d.pixels.dtype == np.uint8 and d.pixels.ndim == 3 and d.pixels.shape[2] == 3
    h, w = d.pixels.shape[:2]
    if min(d.width, d.height) >= target:
        assert target <= min(h, w) < 2 * target, (d.pixels.shape, d.width, d.height)
    else:
        assert (w, h) == (d.width, d.height)  # small sources are never upscaled
    assert abs(w / h - d.width / d.height) < 0.02 * (d.width / d.height) + 2 / min(h, w)  # same aspect


def manifest(shared: Path) -> dict[str, dict[str, str]]:
    with open(shared / "MANIFEST.tsv", newline="", encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f, delimiter="\t")}


def expected_size(row: dict[str, str]) -> tuple[int, int]:
    m = re.search(r"pillow(?:\+pillow_heif)?\(\w+ (\d+)x(\d+)\)", row["decodes_with"])
    assert m, row
    w, h = int(m[1]), int(m[2])
    rotated = row["orientation"] in {"5", "6", "7", "8"}
    if row["kind"] in ("heic", "hif", "heif", "avif"):
        rotated = Path(row["file"]).name in HEIF_EXIF_ROTATED
    return (h, w) if rotated else (w, h)


# --- real photos -----------------------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "folder", ["jpeg", "jpeg/orientation", "png", "tiff", "webp", "heic", "heic/orientation"]
)
def test_every_shared_photo_decodes_at_the_right_size(shared_data: Path, folder: str) -> None:
    rows = manifest(shared_data)
    files = sorted(p for p in (shared_data / folder).iterdir() if p.is_file() and p.suffix != ".xmp")
    assert files
    for path in files:
        d = decode_image(path)
        check_bitmap(d)
        assert (d.width, d.height) == expected_size(rows[f"{folder}/{path.name}"]), path.name
        expected_source = {"jpeg": "jpeg-draft", "heic": "heif"}.get(folder.split("/")[0], "pillow")
        assert d.source == ("pillow" if path.suffix == ".avif" else expected_source)  # Pillow decodes AVIF


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("pattern", "orientations"),
    [
        ("jpeg/orientation/recurser_Landscape_{}.jpg", range(9)),  # 0 is "undefined": shown as stored
        ("jpeg/orientation/ianare_portrait_{}.jpg", range(1, 9)),
        ("heic/orientation/kimageformats_orientation{}.heic", range(1, 9)),  # irot/imir in the container
    ],
)
def test_orientation_sets_all_look_like_orientation_1(
    shared_data: Path, pattern: str, orientations: range
) -> None:
    reference = decode_image(shared_data / pattern.format(1)).pixels
    for o in orientations:
        pixels = decode_image(shared_data / pattern.format(o)).pixels
        op, diff, runner_up = best_transform(pixels, reference)
        # No further flip/rotation makes it closer to orientation 1, and by a clear margin (not applied twice).
        assert op == "None" and diff < 0.6 * runner_up, (o, op, diff, runner_up)


@pytest.mark.shared_data
def test_heif_rotation_from_container_is_not_applied_twice_and_exif_only_rotation_is_used(
    shared_data: Path,
) -> None:
    # iPhone 15 Pro: irot 270 in the container AND EXIF Orientation 6; libheif rotates, EXIF must not again.
    d = decode_image(shared_data / "heic/Apple_iPhone15Pro.heic")
    assert (d.width, d.height) == (3024, 4032) and d.pixels.shape[0] > d.pixels.shape[1]
    # ProCam iPhone 7 HEIC: stored sideways, no irot, only EXIF 6 -> rotated upright: sky at the top.
    d = decode_image(shared_data / "heic/Apple_iPhone7.heic")
    assert (d.width, d.height) == (3024, 4032) and d.pixels.shape[0] > d.pixels.shape[1]
    blueness = d.pixels[..., 2].astype(int) - d.pixels[..., 0].astype(int)
    quarter = d.pixels.shape[0] // 4
    assert blueness[:quarter].mean() > blueness[-quarter:].mean() + 30


@pytest.mark.shared_data
def test_nearly_black_sony_hif_is_a_photo_not_a_truncation(shared_data: Path) -> None:
    d = decode_image(shared_data / "heic/Sony_ILCE-1.HIF")
    assert (d.width, d.height) == (8640, 5760) and d.pixels.mean() < 5


@pytest.mark.shared_data
def test_truncated_heic_is_caught_by_its_green_tiles_when_the_container_looks_whole(
    shared_data: Path, tmp_path: Path
) -> None:
    # Rewrite the 'mdat' size to 0 ("runs to end of file") so the container check passes: libheif then
    # decodes without error and paints the missing tiles flat green; the pixel check must catch that.
    data = bytearray((shared_data / "broken/truncated_40pct_iPhone7.heic").read_bytes())
    at = data.index(b"mdat") - 4
    data[at : at + 4] = bytes(4)
    path = tmp_path / "cut.heic"
    path.write_bytes(bytes(data))
    with pytest.raises(DecodeError) as e:
        decode_image(path)
    assert e.value.reason == Reason.TRUNCATED and "flat green (0,136,0)" in e.value.detail


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_get_their_named_reason(shared_data: Path, name: str) -> None:
    with pytest.raises(DecodeError) as e:
        decode_image(shared_data / "broken" / name)
    assert e.value.reason == BROKEN[name], e.value.detail
    assert len(e.value.detail) > 10


@pytest.mark.shared_data
def test_png_named_jpg_decodes_as_png(shared_data: Path) -> None:
    d = decode_image(shared_data / "broken/png_renamed_as.jpg")
    assert (d.source, d.width, d.height) == ("pillow", 360, 216)
    assert np.array_equal(d.pixels, decode_image(shared_data / "png/BlueSquare_XMP_sample.png").pixels)


@pytest.mark.shared_data
@pytest.mark.parametrize("prefix", sorted(RAW_DECODABLE))
def test_decodable_raws(shared_data: Path, prefix: str) -> None:
    # glob by prefix: the KDC has a non-ASCII name; canon_eos_6d also has an .xmp sidecar
    (path,) = (p for p in (shared_data / "raw").glob(prefix + "*") if p.suffix != ".xmp")
    d = decode_image(path)
    check_bitmap(d)
    assert (d.source, d.width, d.height) == RAW_DECODABLE[prefix]
    assert d.pixels.std() > 20  # a real picture, not a blank


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(RAW_FAILURES))
def test_raw_stubs_get_named_reasons(shared_data: Path, name: str) -> None:
    reason, words = RAW_FAILURES[name]
    with pytest.raises(DecodeError) as e:
        decode_image(shared_data / "raw" / name)
    assert e.value.reason == reason and words in e.value.detail, e.value.detail


@pytest.mark.shared_data
def test_raw_preview_and_demosaic_show_the_same_picture(shared_data: Path) -> None:
    path = shared_data / "raw/Canon_EOS_D30_RAW_CANON_D30_SRGB.CRW"
    preview = decode_raw(path)
    half = decode_raw(path, prefer_preview=False)
    full = decode_raw(path, full_demosaic=True)
    assert (preview.source, half.source, full.source) == ("raw-preview", "raw-halfsize", "raw-full")
    for d in (preview, half, full):
        check_bitmap(d)
        assert (d.width, d.height) == (2160, 1440)  # the displayed size: Canon's crop of the 2176x1448 output
    grey = [small(d.pixels, (64, 42)).mean(axis=2).ravel() for d in (preview, half, full)]
    assert np.corrcoef(grey[0], grey[1])[0, 1] > 0.95 and np.corrcoef(grey[0], grey[2])[0, 1] > 0.95
    assert np.corrcoef(grey[0], grey[0][::-1])[0, 1] < 0.5  # the check can tell pictures apart


@pytest.mark.shared_data
def test_truncated_dng_fails_on_the_demosaic_path_too(shared_data: Path) -> None:
    with pytest.raises(DecodeError) as e:
        decode_raw(shared_data / "broken/truncated_50pct_canon_eos_6d.dng", prefer_preview=False)
    assert e.value.reason == Reason.TRUNCATED and "LibRaw" in e.value.detail


@pytest.mark.shared_data
def test_raw_pixel_limit(shared_data: Path) -> None:
    with pytest.raises(DecodeError) as e:
        decode_image(shared_data / "raw/Canon_EOS_D30_RAW_CANON_D30_SRGB.CRW", max_pixels=2_000_000)
    assert e.value.reason == Reason.TOO_LARGE and "2160x1440" in e.value.detail


@pytest.mark.shared_data
def test_content_wins_over_extension(shared_data: Path, tmp_path: Path) -> None:
    jpeg = shared_data / "jpeg/photo_vehicle_rocket.jpg"
    as_nef = decode_image(pf.copy_as(jpeg, tmp_path / "really_a_jpeg.nef"))  # LibRaw refuses, JPEG decodes
    assert as_nef.source == "jpeg-draft" and np.array_equal(as_nef.pixels, decode_image(jpeg).pixels)
    tiff_as_jpg = decode_image(pf.copy_as(shared_data / "tiff/BlueSquare_XMP_sample.tif", tmp_path / "t.jpg"))
    assert (tiff_as_jpg.source, tiff_as_jpg.width) == ("pillow", 360)
    # A DNG named .tif must not be read by Pillow (which would return the 256x171 IFD0 preview).
    dng_as_tif = decode_image(pf.copy_as(shared_data / "raw/canon_eos_6d.dng", tmp_path / "x.tif"))
    assert (dng_as_tif.source, dng_as_tif.width, dng_as_tif.height) == ("raw-preview", 1224, 816)


@pytest.mark.shared_data
def test_unicode_and_very_long_paths(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path.joinpath(*[f"ünïcødé 写真 {i} " + "x" * 40 for i in range(6)])
    path = pf.copy_as(shared_data / "jpeg/photo_vehicle_rocket.jpg", folder / "фото é 😀 rocket.jpg")
    assert len(str(path)) > 300
    d = decode_image(path)
    assert (d.width, d.height) == (640, 427)
    kdc = next((shared_data / "raw").glob("RAW_KODAK_DC50_*.KDC"))
    assert decode_image(pf.copy_as(kdc, folder / kdc.name)).width == 768


# --- generated files ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pf.write_jpeg(tmp_path_factory.mktemp("big") / "24mp.jpg", 6000, 4000, orientation=6)


@pytest.mark.parametrize("target", [224, 448, 1000])
def test_jpeg_draft_gives_shortest_side_between_target_and_twice_target(big_jpeg: Path, target: int) -> None:
    start = time.perf_counter()
    d = decode_image(big_jpeg, target=target)
    elapsed = time.perf_counter() - start
    # Stored 4000x6000 with orientation 6: displays (and decodes) as 6000x4000.
    assert d.source == "jpeg-draft" and (d.width, d.height) == (6000, 4000)
    assert target <= d.pixels.shape[0] < 2 * target and d.pixels.shape[1] > d.pixels.shape[0]
    assert elapsed < 2.0  # a full 24 MP decode + resize would not be far off; draft is ~10x under this


@pytest.mark.parametrize("orientation", range(1, 9))
def test_generated_jpeg_orientations(tmp_path: Path, orientation: int) -> None:
    path = pf.write_jpeg(tmp_path / "o.jpg", 960, 640, orientation=orientation)
    d = decode_image(path)
    assert (d.width, d.height) == (960, 640)
    op, diff, runner_up = best_transform(d.pixels, np.asarray(pf.textured_image(960, 640)))
    assert op == "None" and diff < 3 and runner_up > 10, (op, diff, runner_up)


@pytest.mark.parametrize("orientation", [3, 5, 6, 8])
def test_generated_heif_and_avif_container_rotation(tmp_path: Path, orientation: int) -> None:
    reference = np.asarray(pf.textured_image(480, 320))
    pillow_avif = pf.stored_for_orientation(Image.fromarray(reference), orientation)
    pillow_avif.save(tmp_path / "o.avif", exif=pf.exif_bytes(orientation))  # Pillow writes irot/imir
    for path in (pf.write_heif(tmp_path / "o.heic", 480, 320, orientation=orientation), tmp_path / "o.avif"):
        d = decode_image(path)
        op, diff, _ = best_transform(d.pixels, reference)
        assert (d.width, d.height, op) == (480, 320, "None") and diff < 5, (path.name, op, diff)


def test_green_photo_is_not_mistaken_for_missing_tiles(tmp_path: Path) -> None:
    # Pure greens with R=B=0 in textured (not flat) areas: a real photo can clip like this.
    rgb = np.asarray(pf.textured_image(1024, 768)).copy()
    rgb[..., 0] = rgb[..., 2] = 0
    path = tmp_path / "green.heic"
    import pillow_heif

    pillow_heif.from_pillow(Image.fromarray(rgb)).save(path, quality=90)
    d = decode_image(path)
    assert d.pixels[..., 1].mean() > 100 and (d.pixels[..., 0] <= 1).mean() > 0.3


def test_decompression_bomb_is_refused_before_allocating(tmp_path: Path) -> None:
    bomb = pf.write_png_bomb(tmp_path / "bomb.png", 20_000, 20_000)  # 400 MP declared, ~50 KB on disk
    assert bomb.stat().st_size < 200_000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    with pytest.raises(DecodeError) as e:
        decode_image(bomb)
    assert time.perf_counter() - start < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 50_000  # not the 400 MB
    assert e.value.reason == Reason.TOO_LARGE and "20000x20000" in e.value.detail


@pytest.mark.parametrize("pixels", [3_000_000, 1_500_000])  # above 2x the limit Pillow raises itself
def test_max_pixels_is_honoured_and_not_leaked(tmp_path: Path, pixels: int) -> None:
    path = pf.write_image(tmp_path / "a.png", 1500, 1000)
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(DecodeError) as e:
        decode_image(path, max_pixels=pixels // 3)
    assert e.value.reason == Reason.TOO_LARGE
    assert before == Image.MAX_IMAGE_PIXELS  # restored, not leaked
    assert decode_image(path, max_pixels=pixels).width == 1500


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("cmyk.jpg", lambda p: pf.write_jpeg(p, 800, 600, mode="CMYK", quality=95)),
        ("cmyk.tif", lambda p: pf.write_image(p, 800, 600, mode="CMYK")),
        ("rgb16.tif", lambda p: pf.write_tiff_rgb16(p, 800, 600)),
        ("grey16.tif", lambda p: pf.write_image(p, 800, 600, mode="I;16")),
        ("grey16.png", lambda p: pf.write_image(p, 800, 600, mode="I;16")),
        ("palette.png", lambda p: pf.write_image(p, 800, 600, mode="P")),
        ("grey.webp", lambda p: pf.write_image(p, 800, 600, mode="L", lossless=True)),
    ],
)
def test_modes_convert_to_sensible_rgb(tmp_path: Path, name: str, write) -> None:
    d = decode_image(write(tmp_path / name))
    source = pf.textured_image(800, 600)
    if "grey" in name:
        source = source.convert("L").convert("RGB")
    expected = np.asarray(source, dtype=np.int16)
    got = d.pixels.astype(np.int16)
    assert abs(got.mean() - expected.mean()) < 2, (got.mean(), expected.mean())  # 16-bit not clipped to white
    tolerance = 20 if name == "palette.png" else 4  # adaptive palette quantises; the rest are near lossless
    assert np.abs(got - expected).mean() < tolerance  # per pixel: an inverted CMYK would be ~80 off


def test_alpha_is_flattened_on_white(tmp_path: Path) -> None:
    d = decode_image(pf.write_image(tmp_path / "a.png", 400, 300, mode="RGBA"))  # alpha 0 left -> 255 right
    assert d.pixels[:, 0].min() == 255
    assert np.abs(d.pixels[:, -1].astype(int) - np.asarray(pf.textured_image(400, 300))[:, -1]).max() <= 1


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "tif", "heic", "avif"])
@pytest.mark.parametrize("fraction", [0.1, 0.6, 0.99])
def test_truncated_generated_files(tmp_path: Path, ext: str, fraction: float) -> None:
    source = tmp_path / f"whole.{ext}"
    if ext == "heic":
        pf.write_heif(source, 800, 600)
    else:
        pf.write_image(source, 800, 600, **({"compression": "tiff_lzw"} if ext == "tif" else {}))
    decode_image(source)  # the whole file is fine
    cut = pf.truncated_copy(source, tmp_path / f"cut.{ext}", fraction=fraction)
    if (
        ext == "jpg" and fraction == 0.99
    ):  # only its last rows missing: indexed as partial (test_partial_jpeg.py)
        partial = decode_image(cut).partial
        assert partial is not None and decode.PARTIAL_MIN_SHARE <= partial < 1, partial
        return
    with pytest.raises(DecodeError) as e:
        decode_image(cut)
    assert e.value.reason == Reason.TRUNCATED, e.value.detail


def test_os_errors_are_named(tmp_path: Path) -> None:
    cases = {tmp_path / "gone.jpg": Reason.MISSING, tmp_path: Reason.NOT_A_REGULAR_FILE}  # a folder
    for path, reason in cases.items():
        with pytest.raises(DecodeError) as e:
            decode_image(path)
        assert e.value.reason == reason, e.value.detail
    failure = decode_safe(tmp_path / "gone.jpg")
    assert isinstance(failure, Failure) and (failure.stage, failure.reason) == ("decode", Reason.MISSING)
    assert isinstance(decode_safe(pf.write_jpeg(tmp_path / "ok.jpg", 64, 48)), Decoded)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), Reason.PERMISSION_DENIED),
        (OSError(errno.EIO, "Input/output error"), Reason.IO_ERROR),  # a failing disk or network share
    ],
)
def test_read_errors_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, reason: Reason
) -> None:
    path = pf.write_jpeg(tmp_path / "a.jpg", 64, 48)

    def failing_read(path: object, max_bytes: int) -> bytes:
        raise error

    monkeypatch.setattr(
        "bridge.indexing.decode.read_regular", failing_read
    )  # the one place decode reads files
    with pytest.raises(DecodeError) as e:
        decode_image(path)
    assert e.value.reason == reason and error.strerror in e.value.detail


def test_multi_picture_jpeg_uses_the_draft_path(tmp_path: Path) -> None:
    frames = [pf.textured_image(1600, 1200, seed=s) for s in (1, 2)]
    frames[0].save(tmp_path / "mpo.jpg", "MPO", save_all=True, append_images=frames[1:])
    d = decode_image(tmp_path / "mpo.jpg")
    assert (d.source, d.width, d.height) == ("jpeg-draft", 1600, 1200) and d.pixels.shape[:2] == (600, 800)
    op, diff, _ = best_transform(d.pixels, np.asarray(frames[0]))  # the primary image, not the second one
    assert op == "None" and diff < 3


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_permission_denied(tmp_path: Path) -> None:
    path = pf.write_jpeg(tmp_path / "locked.jpg", 64, 48)
    path.chmod(0)
    try:
        with pytest.raises(DecodeError) as e:
            decode_image(path)
        assert e.value.reason == Reason.PERMISSION_DENIED
    finally:
        path.chmod(0o644)


def test_fifo_and_socket_are_refused_without_waiting(tmp_path: Path) -> None:
    """R48: a FIFO named like a photo would block `open` forever; a socket cannot be opened at all."""
    import socket
    import time

    fifo = tmp_path / "x.jpg"
    os.mkfifo(fifo)
    sock_path = tmp_path / "y.jpg"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        for path in (fifo, sock_path):
            t = time.monotonic()
            with pytest.raises(DecodeError) as e:
                decode_image(path)
            assert e.value.reason == Reason.NOT_A_REGULAR_FILE, e.value.detail
            assert time.monotonic() - t < 5
    finally:
        sock.close()


def test_files_above_the_format_cap_are_never_read(tmp_path: Path) -> None:
    """R48: a sparse 1 GB "JPEG" fails too_large before a byte is read (memory stays flat)."""
    import resource

    big = tmp_path / "big.jpg"
    with open(big, "wb") as f:
        f.truncate(1024**3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DecodeError) as e:
        decode_image(big)
    assert e.value.reason == Reason.TOO_LARGE and "format_limits" in e.value.detail
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB: nothing read
    small = pf.write_jpeg(tmp_path / "small.jpg", 64, 48)
    with pytest.raises(DecodeError) as e:
        decode_image(small, max_bytes=100)  # a user's lower cap applies too
    assert e.value.reason == Reason.TOO_LARGE
