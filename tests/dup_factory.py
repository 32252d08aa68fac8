"""A generated duplicate-detection test set built from the real photos in ../shared/data.

Per "near" original: re-encodes (JPEG q95/70/40, PNG, WebP), resizes (75/50/25 %), asymmetric crops
(5-30 % per side), a small exposure edit, and for some a byte copy elsewhere (exact duplicates). Per
"burst" scene: frames with small shifts, zoom and exposure changes, EXIF DateTimeOriginal +
SubSecTimeOriginal a few hundred ms apart, one Make/Model (one burst uses whole seconds and ImageNumber
sequence numbers instead). Negatives: distinct originals from one camera minutes apart, the burst scene
shot again minutes later, a frame just outside the burst gap.

The ground truth comes back with the paths. Used by tests (no pytest here).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps

NEAR_SOURCES = (
    "jpeg/Apple_iPhone_4.jpg",
    "jpeg/Canon_EOS_600D_IMG_5910.jpg",
    "jpeg/Canon_PowerShot_S90_keywords.jpg",
    "jpeg/Casio_EX-S1.jpg",
    "jpeg/FujiFilm_FinePixS1Pro_IPTC_GPS.jpg",
    "jpeg/Kodak_DC240.jpg",
    "jpeg/Minolta_DiMAGE_X.jpg",
    "jpeg/Nikon_COOLPIX_P6000_GPS_DSCN0010.jpg",
    "jpeg/Nikon_D5000_GPS.jpg",
    "jpeg/Olympus_PEN_E-P3.jpg",
    "jpeg/Sony_DSC-HX5V_GPS.jpg",
    "jpeg/photo_animal_prairie_falcon.jpg",
    "jpeg/photo_city_japanese-shop.jpg",
    "jpeg/photo_landscape_el_torcal_rocks.jpg",
    "png/photo_food_coffee.png",
    "png/photo_animal_chelsea_cat.png",
    "webp/immich_denali.webp",
)
BURST_SOURCES = (
    "jpeg/Ricoh_RDC5300.jpg",
    "jpeg/photo_vehicle_rocket.jpg",
    "png/photo_portrait_astronaut.png",
    "webp/Nikon_D5300_exif_xmp.webp",
    "jpeg/immich_mongolels_rating.jpg",
)
# Few cameras, so that distinct photos share a camera (minutes apart): neither bursts nor near-duplicates.
CAMERAS = (("PD Optics", "Studio One"), ("PD Optics", "Field Two"), ("Acme", "X100"))
BASE_TIME = datetime(2024, 5, 17, 9, 0, 0)
MAX_SIDE = 1024  # sources are shrunk first: the variants need texture, not megapixels


@dataclass
class DupSet:
    files: list[Path] = field(default_factory=list)
    exact: list[set[str]] = field(default_factory=list)  # path sets with identical bytes
    near: list[set[str]] = field(default_factory=list)  # path sets of one picture's derivatives
    burst: list[list[str]] = field(default_factory=list)  # path lists in capture order
    negatives: list[str] = field(default_factory=list)  # paths that belong to no group
    scene: dict[str, str] = field(default_factory=dict)  # path -> what it shows (source photo)


def capture_exif(
    make: str | None,
    model: str | None,
    when: datetime | None,
    *,
    subsec: bool = True,
    serial: str | None = None,
    image_number: int | None = None,
) -> bytes:
    """EXIF with Make/Model in IFD0 and DateTimeOriginal (+ SubSecTimeOriginal, milliseconds) in the Exif
    IFD, where cameras write them."""
    exif = Image.Exif()
    if make:
        exif[ExifTags.Base.Make] = make
    if model:
        exif[ExifTags.Base.Model] = model
    if image_number is not None:
        exif[ExifTags.Base.ImageNumber] = image_number
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if when is not None:
        sub[ExifTags.Base.DateTimeOriginal] = when.strftime("%Y:%m:%d %H:%M:%S")
        if subsec:
            sub[ExifTags.Base.SubsecTimeOriginal] = f"{when.microsecond // 1000:03d}"
    if serial:
        sub[ExifTags.Base.BodySerialNumber] = serial
    return exif.tobytes()


def load_source(path: Path) -> Image.Image:
    img = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return img


def _save(img: Image.Image, path: Path, exif: bytes | None, **kw: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if exif is not None:
        kw["exif"] = exif
    img.save(path, **kw)
    return path


def _exposure(img: Image.Image, factor: float) -> Image.Image:
    arr = np.asarray(img, dtype=np.float32) * factor
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _crop(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = img.size
    return img.crop((round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom))))


def _near_variants(dup: DupSet, base: Image.Image, folder: Path, i: int, rng: np.random.Generator) -> None:
    make, model = CAMERAS[i % len(CAMERAS)]
    when = BASE_TIME + timedelta(minutes=3 * i, milliseconds=int(rng.integers(0, 1000)))
    exif = capture_exif(make, model, when)
    w, h = base.size
    group: list[Path] = [
        _save(base, folder / "original.jpg", exif, quality=92),
        _save(base, folder / "q95.jpg", exif, quality=95),
        _save(base, folder / "q70.jpg", exif, quality=70),
        _save(base, folder / "q40.jpg", exif, quality=40),
        _save(base, folder / "export.png", exif),
        _save(base, folder / "web.webp", None, quality=80),  # web exports often strip metadata
        _save(_exposure(base, 1.08), folder / "brighter.jpg", exif, quality=90),
    ]
    for pct, keep in ((75, True), (50, True), (25, False)):
        small = base.resize((w * pct // 100, h * pct // 100), Image.Resampling.LANCZOS)
        group.append(_save(small, folder / f"r{pct}.jpg", exif if keep else None, quality=88))
    for c in range(3):
        # Asymmetric: each side loses its own 5-30 %.
        left, top, right, bottom = (float(x) for x in rng.uniform(0.05, 0.30, 4))
        crop = _crop(base, left, top, right, bottom)
        group.append(_save(crop, folder / f"crop{c}.jpg", exif, quality=90))
    dup.files += group
    paths = {str(p) for p in group}
    if i % 3 == 0:  # byte copies elsewhere: exact duplicates (and the same near group)
        copies = [folder.parent / "copies" / f"{folder.name}_original.jpg"]
        if i % 6 == 0:
            copies.append(folder.parent / "backup" / f"{folder.name}_q70.jpg")
        for src, dst in zip((group[0], group[2]), copies, strict=False):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            dup.files.append(dst)
            dup.exact.append({str(src), str(dst)})
            paths.add(str(dst))
    dup.near.append(paths)
    dup.scene.update(dict.fromkeys(paths, folder.name))


def _frame(base: Image.Image, dx: float, dy: float, zoom: float, gain: float) -> Image.Image:
    """One burst frame: a 90 % window shifted by (dx, dy) of the frame, zoomed, re-exposed."""
    w, h = base.size
    fw, fh = w * 0.9 / zoom, h * 0.9 / zoom
    cx, cy = w / 2 + dx * w, h / 2 + dy * h
    box = (round(cx - fw / 2), round(cy - fh / 2), round(cx + fw / 2), round(cy + fh / 2))
    return _exposure(base.crop(box).resize((round(w * 0.9), round(h * 0.9)), Image.Resampling.BICUBIC), gain)


def _burst(dup: DupSet, base: Image.Image, folder: Path, j: int, rng: np.random.Generator) -> None:
    make, model = ("Burstco", "Rapid 9") if j % 2 == 0 else ("Burstco", "Rapid 10")
    serial = f"SN{j % 2:04d}"
    start = BASE_TIME + timedelta(hours=2, minutes=4 * j, milliseconds=int(rng.integers(0, 1000)))
    whole_seconds = j == 1  # a camera without sub-seconds: ImageNumber chains the frames
    frames: list[str] = []
    offset = 0.0
    for f in range(5):
        when = start.replace(microsecond=0) if whole_seconds else start + timedelta(seconds=offset)
        offset += float(rng.uniform(0.15, 0.6))
        frame = _frame(
            base, *rng.uniform(-0.02, 0.02, 2), float(rng.uniform(1.0, 1.04)), float(rng.uniform(0.94, 1.06))
        )
        exif = capture_exif(
            make,
            model,
            when,
            subsec=not whole_seconds,
            serial=serial,
            image_number=f + 1 if whole_seconds else None,
        )
        frames.append(str(_save(frame, folder / f"frame{f}.jpg", exif, quality=90)))
    dup.files += [Path(p) for p in frames]
    dup.burst.append(frames)
    # Negatives: the same scene minutes later, and a frame just past the burst gap (a new shot).
    later = _frame(base, 0.01, -0.01, 1.02, 1.0)
    again = _save(
        later,
        folder / "minutes_later.jpg",
        capture_exif(make, model, start + timedelta(minutes=2)),
        quality=90,
    )
    dup.files.append(again)
    dup.negatives.append(str(again))
    if not whole_seconds:
        late = _save(
            _frame(base, -0.01, 0.01, 1.01, 1.0),
            folder / "after_gap.jpg",
            capture_exif(make, model, start + timedelta(seconds=offset + 2.5)),
            quality=90,
        )
        dup.files.append(late)
        dup.negatives.append(str(late))
    dup.scene.update(dict.fromkeys(frames + dup.negatives[-2 if not whole_seconds else -1 :], folder.name))


def build_dup_set(shared: Path, out: Path, *, seed: int = 7) -> DupSet:
    """Write the whole set under `out` and return its ground truth."""
    rng = np.random.default_rng(seed)
    dup = DupSet()
    for i, rel in enumerate(NEAR_SOURCES):
        _near_variants(dup, load_source(shared / rel), out / "near" / f"n{i:02d}", i, rng)
    for j, rel in enumerate(BURST_SOURCES):
        _burst(dup, load_source(shared / rel), out / "burst" / f"b{j:02d}", j, rng)
    return dup
