"""Decode any supported photo into a small, oriented RGB bitmap, or fail with a named reason.

Runs inside decode worker processes: pure functions, no torch. The file is read once into memory so that
every OS error surfaces in one place (`_read`) and everything after it is a decoder verdict.

Routing is by content (`formats.sniff`, `formats.decoder_for`): a JPEG, PNG, WebP or HEIF goes to Pillow
whatever its extension (a camera JPEG saved as `.nef`); a DNG (even named `.tif`), CR3, CRW, ORF, RW2, RAF goes
to LibRaw; a TIFF container or unknown magic goes to LibRaw when the extension is a RAW one (Pillow opens
DNG/KDC/NEF as TIFF and returns only the tiny IFD0 preview).

A JPEG cut a little short (its EOI marker or the end of its last scan missing) is decoded from a copy of the
data with an EOI marker appended, never with Pillow's global `LOAD_TRUNCATED_IMAGES`: libjpeg then fills the
missing blocks with zero coefficients, i.e. rows of exact grey (128, 128, 128) at the bottom. Those rows are
counted; when at least `PARTIAL_MIN_SHARE` of the rows are real the photo is indexed with `Decoded.partial`
set to that share, otherwise it fails as TRUNCATED (no grey padding ever reaches the index).

Every failure is a `DecodeError` with a named `Reason` and a plain sentence; a decoder's own exception text
goes to the worker's log (its stderr), never into the detail shown to users.
"""

from __future__ import annotations

import io
import logging
import math
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pillow_heif
import rawpy
from PIL import ExifTags, Image, TiffImagePlugin, UnidentifiedImageError, features

from bridge.files import formats, objects
from bridge.files.paths import FileTooLarge, NotRegularFile, read_regular
from bridge.records import Decoded, DecodeError, Failure, Reason, Stage

log = logging.getLogger(__name__)

pillow_heif.register_heif_opener()
# Pillow >= 11.3 decodes AVIF itself (and pillow-heif 1.x dropped AVIF); older pairs need pillow-heif's opener.
if not features.check("avif") and hasattr(pillow_heif, "register_avif_opener"):
    pillow_heif.register_avif_opener()

# Pillow formats accepted per sniffed container; `None` (unknown bytes) still lets Pillow try GIF/BMP by content.
_PILLOW_FORMATS: dict[str | None, tuple[str, ...]] = {
    # Pillow's JPEG opener itself turns a JPEG with a multi-picture index into an MPO (a JPEG subclass); "MPO"
    # is no opener of its own: listing it made Pillow raise KeyError('MPO') on any JPEG it could not open.
    "jpeg": ("JPEG",),
    "png": ("PNG",),
    "tiff": ("TIFF",),
    "webp": ("WEBP",),
    "heif": ("HEIF", "AVIF"),
    None: ("GIF", "BMP"),
}
# EXIF orientation -> the transpose that displays the stored pixels upright (as ImageOps.exif_transpose does).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# LibRaw/dcraw `flip` (bit 0: mirror x, bit 1: mirror y, bit 2: swap axes) -> EXIF orientation.
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
_TRUNCATION_WORDS = ("truncated", "end of file", "unexpected eof", "premature end", "not enough data")
# A JPEG with at least this share of its rows decoded is indexed (flagged partial); below it, truncated. 90 %:
# a viewer shows such a file with a thin grey band at the bottom; the photo is recognisable, the embedding and
# scores barely move; a file cut in half (an interrupted copy) is refused.
PARTIAL_MIN_SHARE = 0.9
# libjpeg's standard progressive script: 10 scans for YCbCr, 6 for greyscale. A progressive JPEG is partial only
# when its last scan has started; with earlier scans missing the whole image lacks detail: truncated.
_PROGRESSIVE_SCANS = {1: 6, 3: 10}
# A RAW file with fewer bytes than this per sensor pixel cannot hold its image (the leanest real codecs,
# GoPro VC-5 and lossy DNG, need ~0.25); below it a LibRaw failure means stripped data, not damage.
_RAW_STUB_BYTES_PER_PIXEL = 0.1


def decode_image(
    path: str | Path,
    *,
    target: int = 448,
    max_pixels: int = 250_000_000,
    max_bytes: int | None = None,
    data: bytes | None = None,
) -> Decoded:
    """Decode `path` to an oriented RGB uint8 bitmap whose shortest side is in [target, 2*target) when the
    source is big enough. `width`/`height` are the full-size oriented dimensions. Raises DecodeError.
    `max_bytes`: files above it are not read (default: the format's limit, `formats.LIMITS`); `data`: the
    file's bytes when the caller read them already (`read_file`), so a worker reads each file once."""
    data = _read(path, max_bytes) if data is None else _non_empty(data)
    kind = formats.sniff(data[:16])
    with _guarded(max_pixels):
        if formats.decoder_for(path, kind, dng=kind == "tiff" and _is_dng(data)) == "raw":
            return _decode_raw(data, kind, target, max_pixels, prefer_preview=True, full_demosaic=False)
        return _decode_pillow(data, kind, target, max_pixels)


def decode_raw(
    path: str | Path,
    target: int = 448,
    *,
    prefer_preview: bool = True,
    full_demosaic: bool = False,
    max_pixels: int = 250_000_000,
) -> Decoded:
    """RAW only: embedded preview when it is big enough (`prefer_preview`), else a half-size demosaic;
    `full_demosaic=True` forces a full-size demosaic (for benchmarks). Output is downscaled like decode_image."""
    data = _read(path, None)
    with _guarded(max_pixels):
        return _decode_raw(data, formats.sniff(data[:16]), target, max_pixels, prefer_preview, full_demosaic)


def decode_safe(path: str | Path, *, target: int = 448, max_pixels: int = 250_000_000) -> Decoded | Failure:
    """decode_image for callers that want a value: a `Failure(stage=Stage.DECODE)` instead of an exception."""
    try:
        return decode_image(path, target=target, max_pixels=max_pixels)
    except DecodeError as e:
        return Failure(path=str(path), stage=Stage.DECODE, reason=e.reason, detail=e.detail)


# --- reading and guarding ----------------------------------------------------------------------------


def _read(path: str | Path, max_bytes: int | None) -> bytes:
    return _non_empty(read_file(path, max_bytes))


def _non_empty(data: bytes) -> bytes:
    if not data:
        raise DecodeError(Reason.EMPTY_FILE, "the file is empty (0 bytes)")
    return data


class SourceUnavailable(DecodeError):
    """The object store itself failed (did not answer after its client's retries, or the credentials stopped
    working), not this object: the caller stops the run and blames no file, so the next run reads it again
    instead of leaving it failed until it changes."""


def read_file(path: str | Path, max_bytes: int | None = None, *, storage: str = "", size: int = 0) -> bytes:
    """The file's bytes, or DecodeError with the reason it cannot be read: not a regular file (never
    opened for long, never waited on), above its format's size limit (never read), gone, unreadable.
    A URL (`s3://…`) is read through fsspec; `storage`: its options (`objects.encode_options`); `size`: its
    size from the listing, which saves a request (`objects.read_bytes`)."""
    limit = max_bytes if max_bytes is not None else formats.limits_for(path).max_bytes
    try:
        if objects.is_url(path):
            return objects.read_bytes(str(path), limit, objects.decode_options(storage), listed_size=size)
        return read_regular(path, limit)
    except objects.ObjectStoreError as e:
        if e.kind in ("unreachable", "credentials"):
            raise SourceUnavailable(_OBJECT_REASONS[e.kind], str(e)) from None
        raise DecodeError(_OBJECT_REASONS[e.kind], str(e)) from None
    except NotRegularFile:
        raise DecodeError(
            Reason.NOT_A_REGULAR_FILE, "not a regular file (a FIFO, device or socket): never read"
        ) from None
    except FileTooLarge as e:
        raise DecodeError(
            Reason.TOO_LARGE,
            f"the file is {e.size / 1e6:.0f} MB, above the {e.limit / 1e6:.0f} MB limit for its format "
            "(setting format_limits)",
        ) from None
    except FileNotFoundError:
        raise DecodeError(Reason.MISSING, "file not found (deleted or moved since the scan?)") from None
    except PermissionError as e:
        raise DecodeError(
            Reason.PERMISSION_DENIED, f"no permission to read the file ({e.strerror})"
        ) from None
    except OSError as e:
        raise DecodeError(Reason.IO_ERROR, f"the OS failed to read the file: {e.strerror or e}") from None


_OBJECT_REASONS = {
    "missing": Reason.MISSING,
    "denied": Reason.PERMISSION_DENIED,
    "credentials": Reason.PERMISSION_DENIED,
    "unreachable": Reason.IO_ERROR,
    "error": Reason.IO_ERROR,
}


@contextmanager
def _guarded(max_pixels: int) -> Iterator[None]:
    """Pillow's bomb limit follows `max_pixels` for this call only; stray exceptions become CORRUPT values."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            # We check the declared size ourselves (TOO_LARGE); Pillow still raises above 2x the limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except DecodeError:
        raise
    except Image.DecompressionBombError as e:
        raise DecodeError(Reason.TOO_LARGE, str(e)) from None
    except MemoryError:
        raise DecodeError(Reason.TOO_LARGE, "ran out of memory while decoding") from None
    except Exception as e:  # a worker must turn any decoder failure into a value, never abort the run
        # The exception's text is the decoder's internals (KeyError: 'MPO'): the log gets it, the user a sentence.
        log.warning("decoder failed unexpectedly: %s: %s", type(e).__name__, e)
        if _reason_from_message(str(e)) == Reason.TRUNCATED:
            raise DecodeError(Reason.TRUNCATED, "the image data ends early: the file is truncated") from None
        raise DecodeError(
            Reason.CORRUPT, "the image data is damaged: the decoder could not make sense of it"
        ) from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _reason_from_message(message: str) -> Reason:
    low = message.lower()
    return Reason.TRUNCATED if any(w in low for w in _TRUNCATION_WORDS) else Reason.CORRUPT


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise DecodeError(
            Reason.TOO_LARGE,
            f"declared size {width}x{height} ({width * height / 1e6:.0f} MP) is above the limit of "
            f"{max_pixels / 1e6:.0f} MP (decompression-bomb guard)",
        )


# --- Pillow / pillow-heif ---------------------------------------------------------------------------------


_MIN_IMAGE_BYTES = 32  # smaller than the smallest valid JPEG/PNG/WebP/TIFF image


def _decode_pillow(data: bytes, kind: str | None, target: int, max_pixels: int) -> Decoded:
    # Structural truncation checks first: they are cheap and catch what decoders let through silently.
    cut = _structure_cut(data, kind)
    if cut:
        raise DecodeError(Reason.TRUNCATED, cut)
    if (
        kind is not None and len(data) < _MIN_IMAGE_BYTES
    ):  # magic bytes and little else (Pillow answers KeyError('MPO') here)
        raise DecodeError(Reason.TRUNCATED, f"the file ends after {len(data)} bytes, before any image data")
    try:
        with warnings.catch_warnings(record=True) as caught:  # Pillow reports some header damage as warnings
            warnings.simplefilter("always", UserWarning)
            img = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS.get(kind, ()))
    except UnidentifiedImageError:
        if kind is None:
            raise DecodeError(
                Reason.NOT_AN_IMAGE, f"content is not a known image format (starts with {data[:12]!r})"
            ) from None
        detail = _heif_error(data) if kind == "heif" else None
        if not detail:
            said = "; ".join(dict.fromkeys(str(w.message) for w in caught))
            log.info("%s header not parsed: %s", kind, said or "no opener accepted it")
            if _reason_from_message(said) == Reason.TRUNCATED:
                detail = f"the file ends inside the {kind.upper()} header: truncated"
            else:
                detail = f"the {kind.upper()} header is damaged: it cannot be parsed"
        raise DecodeError(_reason_from_message(detail), detail) from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as e:  # e.g. "Truncated File Read"
        log.info("header not readable: %s: %s", type(e).__name__, e)
        name = kind.upper() if kind else "image"
        if _reason_from_message(str(e)) == Reason.TRUNCATED:
            raise DecodeError(
                Reason.TRUNCATED, f"the file ends inside the {name} header, before any image data: truncated"
            ) from None
        raise DecodeError(Reason.CORRUPT, f"the {name} header is damaged and cannot be read") from None
    with img:
        width, height = img.size
        _check_size(width, height, max_pixels)
        fmt = img.format
        orientation = exif_orientation(img, data)
        partial: float | None = None
        if fmt in ("JPEG", "MPO"):
            img.draft("RGB", (target, target))  # DCT-domain downscale by 1/2, 1/4 or 1/8 while decoding
            source = "jpeg-draft"
        elif fmt == "HEIF":
            img.draft(None, (target, target))  # pillow-heif: use an embedded thumbnail if one is big enough
            source = "heif"
        else:
            source = "pillow"
        try:
            img.load()  # always decode fully here so truncated data fails now, not later
            rgb = _to_rgb(img)
        except (OSError, ValueError, SyntaxError, EOFError) as e:
            log.info("%s image data not decodable: %s: %s", fmt, type(e).__name__, e)
            if _reason_from_message(str(e)) != Reason.TRUNCATED:
                raise DecodeError(
                    Reason.CORRUPT, f"the {fmt} image data is damaged and cannot be decoded"
                ) from None
            if fmt not in ("JPEG", "MPO"):
                raise DecodeError(
                    Reason.TRUNCATED, f"the {fmt} image data ends early: the file is truncated"
                ) from None
            rgb, partial = _partial_jpeg(data, target)
        out = _orient(_shrink(rgb, target), orientation)
    pixels = np.array(out)  # a writable copy (np.asarray of a Pillow image is read-only)
    if fmt == "HEIF":
        green = _green_fill(pixels)
        if green:
            raise DecodeError(Reason.TRUNCATED, green)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return Decoded(
        pixels=pixels,
        width=width,
        height=height,
        source=source,
        format=_FORMAT_NAMES.get(fmt or "", (fmt or "").lower()),
        partial=partial,
    )


_FORMAT_NAMES = {"MPO": "jpeg"}  # a JPEG with a multi-picture index is a JPEG to its users


def _partial_jpeg(data: bytes, target: int) -> tuple[Image.Image, float]:
    """A JPEG whose data ends early: decode a copy with an EOI marker appended (libjpeg fills what is missing
    with exact grey 128) and count the rows decoded whole, above the grey ones. Returns the RGB
    image (stored orientation, grey rows included) and the share of rows decoded, or raises TRUNCATED."""
    progressive, components, scans = _jpeg_scans(data)
    if progressive and scans < _PROGRESSIVE_SCANS.get(components, 10):
        raise DecodeError(
            Reason.TRUNCATED,
            f"the progressive JPEG ends in scan {scans} of {_PROGRESSIVE_SCANS.get(components, 10)}: "
            "the file is truncated",
        )
    img = Image.open(io.BytesIO(data + b"\xff\xd9"), formats=("JPEG",))
    with img:
        img.draft("RGB", (target, target))
        img.load()
        rgb = _to_rgb(img)
    # A row is whole when its right end is not padding: the blocks are decoded left to right, so the row
    # band where the data ends is real on the left and grey on the right, and counts as missing.
    rows = np.asarray(rgb)
    whole = np.flatnonzero(~(rows[:, -4:] == 128).all(axis=(1, 2)))
    share = (int(whole[-1]) + 1) / rows.shape[0] if whole.size else 0.0
    if share < PARTIAL_MIN_SHARE:
        raise DecodeError(
            Reason.TRUNCATED,
            f"the file ends early: only {share:.0%} of the image rows are in it (at least "
            f"{PARTIAL_MIN_SHARE:.0%} are needed to index it as partial): truncated",
        )
    return rgb, round(share, 3)


def _jpeg_scans(data: bytes) -> tuple[bool, int, int]:
    """(progressive, components, scans started) from the JPEG's marker segments, walked from SOI; the
    entropy-coded data after each SOS is skipped to the next marker (FF followed by neither 00 nor RSTn)."""
    progressive, components, scans, pos, n = False, 3, 0, 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return progressive, components, scans
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            break
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker in (0xC2, 0xC6, 0xCA):
            progressive = True
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and pos + 9 < n:
            components = data[pos + 9]
        pos += 2 + length
        if marker == 0xDA:
            scans += 1
            while pos + 1 < n and not (data[pos] == 0xFF and data[pos + 1] not in _IN_SCAN):
                pos += 1
    return progressive, components, scans


_IN_SCAN = frozenset({0x00, *range(0xD0, 0xD8)})  # stuffed FF00 and restart markers belong to the scan


def exif_orientation(img: Image.Image, data: bytes) -> int:
    """The EXIF orientation (1-8) to apply to the stored pixels; 1 when absent, unknown or unreadable."""
    if img.format == "HEIF":
        # libheif already applied the container's irot/imir and pillow-heif reset EXIF Orientation to 1
        # (keeping it in `original_orientation`). Files with no irot/imir but an EXIF rotation exist (a
        # ProCam iPhone HEIC is stored sideways with only EXIF 6): use the EXIF value for those only.
        original = img.info.get("original_orientation") or 1
        return 1 if _heif_has_transform(data) else original
    try:
        value = img.getexif().get(ExifTags.Base.Orientation, 1)  # also reads XMP tiff:Orientation
    except Exception:  # broken EXIF is the metadata stage's problem, not a reason to lose the photo
        return 1
    return value if value in _TRANSPOSE else 1


def _orient(img: Image.Image, orientation: int) -> Image.Image:
    op = _TRANSPOSE.get(orientation)
    return img.transpose(op) if op is not None else img


def _shrink(img: Image.Image, target: int) -> Image.Image:
    factor = min(img.size) // target
    return img.reduce(factor) if factor >= 2 else img  # box filter: shortest side ends in [target, 2*target)


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I;16"):
        # 16-bit grey: keep the high byte (x*257 -> x); Pillow's convert would clip everything above 255 to white
        grey = (np.asarray(img).astype(np.uint16) >> 8).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode in ("I", "F"):
        # 32-bit int/float grey (16-bit PNGs on older Pillow, scientific TIFFs): scale by the value range
        a = np.asarray(img, dtype=np.float32)
        peak = float(a.max()) if a.size else 0.0
        scale = 1.0 if peak <= 255 else 1 / 257 if peak <= 65535 else 255 / peak
        if mode == "F" and 0 < peak <= 1.0:
            scale = 255.0
        return Image.fromarray(np.clip(np.rint(a * scale), 0, 255).astype(np.uint8), "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        # Flatten on white: transparent pixels often hold black or junk colour values.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    try:
        return img.convert("RGB")  # L, 1, P, CMYK (Pillow undoes Adobe's inverted CMYK), YCbCr, RGBX ...
    except ValueError as e:
        raise DecodeError(
            Reason.UNSUPPORTED_FORMAT, f"pixel mode {mode} cannot be converted to RGB: {e}"
        ) from None


def _heif_has_transform(data: bytes) -> bool:
    meta = next((data[s:e] for typ, s, e in _bmff_boxes(data) if typ == b"meta"), b"")
    return b"irot" in meta or b"imir" in meta


def _heif_error(data: bytes) -> str | None:
    """Pillow hides why a HEIF failed to open; ask pillow-heif directly for libheif's message."""
    try:
        pillow_heif.open_heif(io.BytesIO(data))
    except Exception as e:
        return f"HEIF: {e}"
    return None


def _green_fill(pixels: np.ndarray) -> str | None:
    """pillow-heif returns a full-size image for a truncated HEIC: tiles whose data is missing decode as
    all-zero YCbCr, i.e. perfectly flat pure green (R=0, B=0, G=136 for 8-bit BT.601, G=94 for the Canon
    10-bit HIF). Real photos, dark frames included, have no flat 8x8 areas of exactly that colour."""
    r, g, b = (pixels[..., i] for i in range(3))
    mask = (r <= 1) & (b <= 1) & (g >= 60) & (g <= 160)
    if mask.mean() < 0.005:
        return None
    fill = int(np.bincount(g[mask]).argmax())
    flat = mask & (np.abs(g.astype(np.int16) - fill) <= 1)
    h, w = (flat.shape[0] // 8) * 8, (flat.shape[1] // 8) * 8
    blocks = flat[:h, :w].reshape(h // 8, 8, w // 8, 8).all(axis=(1, 3))
    share = float(blocks.mean()) if blocks.size else 0.0
    if share < 0.01:
        return None
    return (
        f"{share:.0%} of the image is flat green (0,{fill},0): the decoder filled tiles whose data is missing, "
        "the file is truncated"
    )


# --- container structure -----------------------------------------------------------------------------


def _bmff_boxes(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """Top-level ISO-BMFF boxes (HEIF, AVIF, CR3) as (type, start, declared end); end may pass EOF."""
    offset, n = 0, len(data)
    while offset + 8 <= n:
        size, typ = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1 and offset + 16 <= n:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = n - offset  # "extends to the end of the file"
        if size < 8:
            return  # not a box structure we can follow: leave the verdict to the decoder
        yield typ, offset, offset + size
        offset += size


def _bmff_truncated(data: bytes) -> str | None:
    for typ, start, end in _bmff_boxes(data):
        if end > len(data):
            name = typ.decode("latin-1")
            return f"the '{name}' box at byte {start} needs {end} bytes but the file ends at {len(data)}: truncated"
    return None


def _tiff_ifds(data: bytes, limit: int = 64) -> Iterator[TiffImagePlugin.ImageFileDirectory_v2 | int]:
    """IFD0 chain and SubIFDs of a TIFF (or TIFF-based RAW), parsed by Pillow without decoding pixels.
    Yields each directory, or its offset (an int) when the directory lies (partly) past the end of the file."""
    fp, header = io.BytesIO(data), data[:8]
    try:
        todo = [TiffImagePlugin.ImageFileDirectory_v2(header).next]
    except (SyntaxError, struct.error):
        return
    seen: set[int] = set()
    while todo and len(seen) < limit:
        offset = todo.pop()
        if not offset or offset in seen:
            continue
        seen.add(offset)
        count_at = data[offset : offset + 2]
        count = struct.unpack("<H" if header[:2] == b"II" else ">H", count_at)[0] if len(count_at) == 2 else 0
        if offset + 2 + 12 * count + 4 > len(data):  # the directory itself is cut off
            yield offset
            continue
        ifd = TiffImagePlugin.ImageFileDirectory_v2(header)
        fp.seek(offset)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow warns about entries it cannot read: not our verdict
                ifd.load(fp)
        except Exception:  # unreadable IFD: the decoder will say what is wrong
            continue
        yield ifd
        sub = ifd.get(330)  # SubIFDs: where DNG/NEF/ARW keep the raw image
        todo.extend(sub if isinstance(sub, tuple) else [sub] if sub else [])
        todo.append(ifd.next)


def _tiff_truncated(data: bytes) -> str | None:
    for ifd in _tiff_ifds(data):
        if isinstance(ifd, int):
            return f"the TIFF directory at byte {ifd} is cut off: the file ends at {len(data)}, truncated"
        for offsets_tag, counts_tag in ((273, 279), (324, 325)):  # strips, tiles
            offsets, counts = ifd.get(offsets_tag), ifd.get(counts_tag)
            if offsets is None or counts is None:
                continue
            offsets = offsets if isinstance(offsets, tuple) else (offsets,)
            counts = counts if isinstance(counts, tuple) else (counts,)
            end = max((o + c for o, c in zip(offsets, counts, strict=False)), default=0)
            if end > len(data):
                return (
                    f"image data of a {ifd.get(256)}x{ifd.get(257)} TIFF directory runs to byte {end} "
                    f"but the file ends at {len(data)}: truncated"
                )
    return None


def _riff_truncated(data: bytes) -> str | None:
    declared = struct.unpack("<I", data[4:8])[0] + 8  # WebP: RIFF chunk size covers the whole file
    if declared > len(data):
        return f"the RIFF header declares {declared} bytes but the file ends at {len(data)}: truncated"
    return None


def _structure_cut(data: bytes, kind: str | None) -> str | None:
    """Cheap container-level truncation check, before (or instead of) decoding the pixels."""
    check = {
        "heif": _bmff_truncated,
        "cr3": _bmff_truncated,
        "tiff": _tiff_truncated,
        "webp": _riff_truncated,
    }
    return check[kind](data) if kind in check else None


def _is_dng(data: bytes) -> bool:
    # DNGVersion in IFD0: a DNG named .tif must still go to LibRaw, not to Pillow's 256 px IFD0 preview.
    ifd0 = next(_tiff_ifds(data, limit=1), None)
    return isinstance(ifd0, TiffImagePlugin.ImageFileDirectory_v2) and 50706 in ifd0


# --- RAW (LibRaw via rawpy) ------------------------------------------------------------------------------


def _decode_raw(
    data: bytes, kind: str | None, target: int, max_pixels: int, prefer_preview: bool, full_demosaic: bool
) -> Decoded:
    try:
        raw = rawpy.imread(io.BytesIO(data))  # from memory: no path encoding issues (non-ASCII names)
    except rawpy.LibRawFileUnsupportedError as e:
        raise DecodeError(
            Reason.UNSUPPORTED_RAW, f"LibRaw cannot open this RAW variant ({_msg(e)})"
        ) from None
    except rawpy.LibRawError as e:
        raise _raw_failure(e, data, kind, None) from None
    with raw:
        sizes = raw.sizes
        orientation = _FLIP_TO_ORIENTATION.get(sizes.flip, 1)
        width, height = raw_display_size(sizes)
        _check_size(width, height, max_pixels)
        if prefer_preview and not full_demosaic:
            preview = _raw_preview(raw, target, orientation)
            if preview is not None:
                # LibRaw never read the raw data, so check the file is whole before trusting its preview.
                cut = _structure_cut(data, kind)
                if cut:
                    raise DecodeError(Reason.TRUNCATED, cut, size=(width, height))
                return Decoded(
                    pixels=np.array(preview), width=width, height=height, source="raw-preview", format="raw"
                )
        # Half-size demosaic (2x2 Bayer cells -> 1 pixel) is ~4x cheaper; skip it when it would undershoot target.
        half = not full_demosaic and min(sizes.width, sizes.height) // 2 >= target
        try:
            rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
        except rawpy.LibRawError as e:
            raise _raw_failure(e, data, kind, sizes) from None
        blank = _raw_blank(raw.raw_image_visible)
    out = _shrink(Image.fromarray(rgb), target)  # LibRaw's output is already oriented (flip applied)
    pixels = np.array(out)
    # Stripped files can also "decode" to uninitialised memory that looks like anything: the size says more.
    blank = blank or _blank(pixels) or _stub(data, sizes)
    if blank:
        raise DecodeError(Reason.RAW_NO_IMAGE, blank, size=(width, height))
    return Decoded(
        pixels=pixels, width=width, height=height, source="raw-halfsize" if half else "raw-full", format="raw"
    )


def raw_display_size(sizes: rawpy.ImageSizes) -> tuple[int, int]:
    """The size Lightroom shows for a RAW: LibRaw's output image (the visible area, `width`x`height`, never
    the sensor's `raw_width`x`raw_height`), cut to the camera's default crop when the file names one (DNG
    DefaultCrop, Canon's sensor area), stretched by a non-square pixel aspect, turned by the file's flip."""
    w, h = (
        (sizes.crop_width, sizes.crop_height)
        if sizes.crop_width and sizes.crop_height
        else (sizes.width, sizes.height)
    )
    aspect = sizes.pixel_aspect or 1.0
    if aspect < 1:
        h = round(h / aspect)
    elif aspect > 1:
        w = round(w * aspect)
    return _oriented(w, h, _FLIP_TO_ORIENTATION.get(sizes.flip, 1))


def _oriented(width: int, height: int, orientation: int) -> tuple[int, int]:
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _raw_preview(raw: rawpy.RawPy, target: int, orientation: int) -> Image.Image | None:
    try:
        thumb = raw.extract_thumb()
    except rawpy.LibRawError:  # no preview, unsupported preview format, or broken preview: demosaic instead
        return None
    img: Image.Image
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            if not isinstance(thumb.data, bytes):  # LibRaw hands a JPEG preview over as its bytes
                return None
            img = Image.open(io.BytesIO(thumb.data), formats=("JPEG",))
            if min(img.size) < target:
                return None
            exif_orientation = img.getexif().get(ExifTags.Base.Orientation)
            if exif_orientation in _TRANSPOSE:  # a rotated preview says so itself; most carry no EXIF at all
                orientation = exif_orientation
            img.draft("RGB", (target, target))
            img.load()
            img = _to_rgb(img)
        else:
            bitmap = np.asarray(thumb.data)
            if bitmap.dtype == np.uint16:
                bitmap = (bitmap >> 8).astype(np.uint8)
            if bitmap.ndim != 3 or min(bitmap.shape[:2]) < target:
                return None
            img = Image.fromarray(np.ascontiguousarray(bitmap[..., :3]), "RGB")
    except Exception:  # a damaged preview is not fatal: the raw data may still be fine
        return None
    img = _orient(_shrink(img, target), orientation)
    return None if _blank(np.asarray(img)) else img


def _raw_blank(raw_image: np.ndarray) -> str | None:
    """LibRaw 'succeeds' on stripped files: look at the sensor data itself (subsampled for speed)."""
    step = max(1, int(math.sqrt(raw_image.size / 200_000)))
    sample = raw_image[::step, ::step].ravel()
    if sample.size == 0:
        return "LibRaw returned no sensor data"
    values, counts = np.unique(sample, return_counts=True)
    share = counts.max() / sample.size
    if share >= 0.99:
        return f"{share:.1%} of the raw sensor samples equal {values[counts.argmax()]}: image data stripped or empty"
    return None


def _blank(pixels: np.ndarray) -> str | None:
    if pixels.size == 0 or float(pixels.std()) < 1.0:
        return f"the decoded image is blank (near-constant, mean {pixels.mean():.1f}): image data stripped or empty"
    return None


def _raw_failure(
    e: rawpy.LibRawError, data: bytes, kind: str | None, sizes: rawpy.ImageSizes | None
) -> DecodeError:
    failure = _raw_verdict(e, data, kind, sizes)
    failure.size = raw_display_size(sizes) if sizes is not None else None
    return failure


def _raw_verdict(
    e: rawpy.LibRawError, data: bytes, kind: str | None, sizes: rawpy.ImageSizes | None
) -> DecodeError:
    message = _msg(e)
    if isinstance(e, rawpy.LibRawFileUnsupportedError):
        return DecodeError(Reason.UNSUPPORTED_RAW, f"LibRaw cannot decode this RAW variant ({message})")
    stub = _stub(data, sizes) if sizes is not None else None
    if stub:
        return DecodeError(Reason.RAW_NO_IMAGE, f"{stub} (LibRaw: {message})")
    if isinstance(e, rawpy.LibRawIOError):
        return DecodeError(Reason.TRUNCATED, f"LibRaw read past the end of the data ({message}): truncated")
    if isinstance(e, rawpy.LibRawDataError):
        cut = _structure_cut(data, kind)
        if cut:
            return DecodeError(Reason.TRUNCATED, f"{cut} (LibRaw: {message})")
        return DecodeError(Reason.CORRUPT, f"LibRaw rejected the raw data ({message})")
    if isinstance(e, rawpy.LibRawTooBigError | rawpy.LibRawUnsufficientMemoryError):
        return DecodeError(Reason.TOO_LARGE, f"LibRaw: {message}")
    return DecodeError(Reason.CORRUPT, f"LibRaw {type(e).__name__}: {message}")


def _stub(data: bytes, sizes: rawpy.ImageSizes) -> str | None:
    if len(data) >= _RAW_STUB_BYTES_PER_PIXEL * sizes.raw_width * sizes.raw_height:
        return None
    return (
        f"only {len(data)} bytes for a {sizes.raw_width}x{sizes.raw_height} sensor: "
        "a metadata-only file, its image data stripped"
    )


def _msg(e: Exception) -> str:
    arg = e.args[0] if e.args else ""
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg or type(e).__name__)
