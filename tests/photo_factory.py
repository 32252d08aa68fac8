"""Generated test images: deterministic, textured, any size, written in the awkward variants real photo
libraries contain (EXIF orientation, CMYK, 16-bit, alpha, truncated copies, decompression bombs).

Used by the tests and by benchmarks, so no pytest here. Every writer returns the path it wrote; the
`textured_image` a writer started from is reproducible from (width, height, seed) for comparisons.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageChops, TiffImagePlugin

# EXIF orientation -> transpose that turns stored pixels upright; its inverse stores an upright image.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def textured_image(width: int, height: int, *, seed: int = 0) -> Image.Image:
    """A photo-like RGB image: smooth colour fields, mid-scale blobs, fine grain, and an asymmetric
    layout (near-white block top-left, red band at the bottom) so every rotation and mirror differs.
    Fast at 24 MP: noise is made small and upscaled by Pillow, grain is a tiled patch."""
    rng = np.random.default_rng(seed)
    size = (width, height)
    coarse = Image.fromarray(rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)).resize(
        size, Image.Resampling.BICUBIC
    )
    mid = rng.integers(0, 256, (max(2, height // 24), max(2, width // 24), 3), dtype=np.uint8)
    img = Image.blend(coarse, Image.fromarray(mid).resize(size, Image.Resampling.BICUBIC), 0.35)
    patch = rng.integers(128 - 12, 128 + 13, (min(height, 256), min(width, 256)), dtype=np.uint8)
    grain = np.tile(patch, (-(-height // patch.shape[0]), -(-width // patch.shape[1])))[:height, :width]
    img = ImageChops.add(img, Image.fromarray(grain, "L").convert("RGB"), 1.0, -128)  # C speed at 24 MP
    # Orientation markers: a near-white block near the top-left corner and a red band along the bottom.
    img.paste(
        (245, 245, 245),
        (width // 10, height // 10, max(width // 10 + 1, width // 4), max(height // 10 + 1, height // 4)),
    )
    red, green, blue = img.split()
    red.paste(230, (0, height - max(1, height // 12), width, height))
    return Image.merge("RGB", (red, green, blue))


def stored_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera would store with EXIF `orientation` so that a viewer shows `upright`."""
    op = _UPRIGHT.get(orientation)
    if op is None:
        return upright.copy()
    inverse = {
        Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
        Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
    }
    return upright.transpose(inverse.get(op, op))  # flips, 180, transpose, transverse are their own inverse


def exif_bytes(orientation: int | None = None, **tags: object) -> bytes:
    """EXIF bytes for Image.save(exif=...): Orientation plus any ExifTags.Base names (Make="X", ...)."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    for name, value in tags.items():
        exif[ExifTags.Base[name]] = value
    return exif.tobytes()


def write_jpeg(
    path: str | Path,
    width: int,
    height: int,
    *,
    orientation: int | None = None,
    seed: int = 0,
    quality: int = 90,
    mode: str = "RGB",
    progressive: bool = False,
) -> Path:
    """A textured JPEG that *displays* as width x height: with an orientation 5-8 the stored pixels are
    height x width. `mode` may be RGB, L or CMYK (Pillow writes Adobe-style inverted CMYK)."""
    upright = textured_image(width, height, seed=seed)
    img = stored_for_orientation(upright, orientation or 1).convert(mode)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=quality, progressive=progressive, exif=exif_bytes(orientation))
    return path


def write_jpegs(
    folder: str | Path, count: int, width: int = 6000, height: int = 4000, *, quality: int = 90, seed: int = 0
) -> list[Path]:
    """`count` distinct textured JPEGs (24 MP by default, ~0.6 s each to make) for benchmarks and bulk tests."""
    return [
        write_jpeg(Path(folder) / f"gen_{i:05d}.jpg", width, height, seed=seed + i, quality=quality)
        for i in range(count)
    ]


def write_image(
    path: str | Path, width: int, height: int, *, mode: str = "RGB", seed: int = 0, **save
) -> Path:
    """Any Pillow-writable format (by extension) in `mode`: RGB, RGBA, L, LA, P, CMYK, I;16 (16-bit grey,
    full range, scaled from the 8-bit texture by 257). Extra keyword arguments go to Image.save."""
    base = textured_image(width, height, seed=seed)
    if mode == "I;16":
        grey = np.asarray(base.convert("L"), dtype=np.uint16) * 257
        img = Image.fromarray(grey)  # uint16 -> mode I;16
    elif mode in ("RGBA", "LA"):
        img = base.convert(mode)
        alpha = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, axis=0)
        img.putalpha(Image.fromarray(alpha))
    else:
        img = base.convert(mode)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **save)
    return path


def write_tiff_rgb16(path: str | Path, width: int, height: int, *, seed: int = 0) -> Path:
    """An uncompressed 48-bit RGB TIFF (Pillow cannot write one): the 8-bit texture scaled by 257,
    plus noise in the low byte so the 16 bits carry real information."""
    rng = np.random.default_rng(seed + 1)
    rgb8 = np.asarray(textured_image(width, height, seed=seed), dtype=np.uint16)
    rgb16 = (rgb8 * 257 + rng.integers(0, 200, rgb8.shape, dtype=np.uint16) * (rgb8 < 255)).astype("<u2")
    pixels = rgb16.tobytes()
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    ifd[256], ifd[257] = width, height
    ifd[258] = (16, 16, 16)
    ifd[259] = 1  # no compression
    ifd[262] = 2  # RGB
    ifd[273] = 0  # StripOffsets: Pillow rewrites it to point just past the directory
    ifd[277] = 3
    ifd[278] = height
    ifd[279] = len(pixels)
    ifd[284] = 1
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd.tobytes(8) + pixels)
    return path


def write_heif(
    path: str | Path,
    width: int,
    height: int,
    *,
    orientation: int | None = None,
    seed: int = 0,
    quality: int = 85,
) -> Path:
    """A HEIC via pillow-heif's encoder. With `orientation`, libheif stores the rotation in the container
    (irot/imir), as iPhones do; the stored pixels are those of `stored_for_orientation`."""
    import pillow_heif  # imported here: only HEIF tests need the encoder

    img = stored_for_orientation(textured_image(width, height, seed=seed), orientation or 1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    heif = pillow_heif.from_pillow(img)
    heif.save(path, format="HEIF", quality=quality, exif=exif_bytes(orientation))
    return path


def write_png_bomb(path: str | Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A valid 1-bit PNG that declares width x height pixels (400 MP by default) in ~50 KB: decoding it
    would allocate hundreds of MB. Written chunk by chunk, never holding the pixels."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte + one packed all-black row
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def truncated_copy(
    src: str | Path, dst: str | Path, *, fraction: float | None = None, keep: int | None = None
) -> Path:
    """Copy the first `fraction` of `src` (or the first `keep` bytes) to `dst`: an interrupted copy."""
    data = Path(src).read_bytes()
    n = keep if keep is not None else int(len(data) * (fraction if fraction is not None else 0.5))
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data[:n])
    return dst


def copy_as(src: str | Path, dst: str | Path) -> Path:
    """Copy under another name (e.g. a JPEG named .nef), creating folders."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst
