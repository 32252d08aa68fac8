"""Camera-default text is not a caption.

Many cameras fill EXIF ImageDescription (and some UserComment or XMP copies of it) with a fixed string:
"OLYMPUS DIGITAL CAMERA", "KODAK Digital Still Camera", "SONY DSC", the maker's name ("SAMSUNG"), or blank
padding ("          "). Stored as the photo's caption it would match every search for "camera" and hide the
real caption a later source has. The rule, applied to the text fields in `CLEANED_FIELDS`:

A value is a placeholder, and skipped (the next source of the field is tried), when, compared case-insensitively
with runs of whitespace, NUL padding and trailing dots removed, it is
1. empty;
2. equal to the photo's make, its model, or the two joined ("Canon" / "Canon EOS 600D");
3. a maker's name alone (`MAKER_NAMES`), with or without a corporate suffix ("NIKON CORPORATION");
4. one of the known camera defaults (`CAMERA_DEFAULTS`), alone or after a maker's name
   ("LEICA DIGITAL CAMERA", "Samsung Digital Camera");
5. a path on the camera's card ("C:\\DCIM\\100GOPRO\\GOPR0024.GPR", "/DCIM/100MSDCF").

The raw tags keep what the camera wrote: `image_description` and `user_comment` are copies of EXIF tags
(as ExifTool shows them), only blank padding is dropped there.
"""

from __future__ import annotations

import re

__all__ = ["CAMERA_DEFAULTS", "CLEANED_FIELDS", "MAKER_NAMES", "is_placeholder"]

# The payload fields a camera fills with its default text; users' own words go there too.
CLEANED_FIELDS = frozenset({"title", "caption", "headline"})

# Maker names written alone as a description (as they appear after normalization: casefolded).
MAKER_NAMES = frozenset(
    {
        "agfa", "apple", "canon", "casio", "concord", "epson", "fuji", "fujifilm", "google", "hp",
        "htc", "huawei", "jvc", "kodak", "konica", "konica minolta", "kyocera", "leica", "lg",
        "minolta", "motorola", "nikon", "nokia", "olympus", "panasonic", "pentax", "polaroid",
        "ricoh", "samsung", "sanyo", "sharp", "sigma", "sony", "toshiba", "vivitar", "xiaomi",
    }
)  # fmt: skip

# Fixed strings cameras and phones write (casefolded), alone or after a maker's name.
CAMERA_DEFAULTS = frozenset(
    {
        "digital camera",
        "digital still camera",
        "digital image",
        "camera",
        "camera pictures",
        "camera picture",
        "dsc",
        "dsc digital camera",
        "exif_jpeg_picture",
        "exif jpeg picture",
        "jpeg_picture",
        "default",
        "image",
        "picture",
        "photo",
        "no title",
        "untitled",
        "unknown",
        "none",
        "(none)",
        "created with gimp",
    }
)

_CORPORATE_SUFFIX = re.compile(
    r"\s+(corporation|corp|co\.?,?\s*ltd|company|inc|imaging corp|optical co\.?,?\s*ltd)$"
)
_SPACE = re.compile(r"[\s\x00]+")
_CARD_PATH = re.compile(r"^(?:[a-z]:)?[\\/]?dcim[\\/]")


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().rstrip(".").strip().casefold()


def is_placeholder(text: str | None, make: str | None = None, model: str | None = None) -> bool:
    """True when `text` is camera-default filler, not words a person wrote (rules in the module docstring)."""
    value = _normal(text or "")
    if not value:
        return True
    own = {_normal(make or ""), _normal(model or ""), _normal(f"{make or ''} {model or ''}")} - {""}
    if value in own or _CARD_PATH.match(value):
        return True
    bare = _CORPORATE_SUFFIX.sub("", value)
    if bare in MAKER_NAMES or value in CAMERA_DEFAULTS:
        return True
    brand, _, rest = value.partition(" ")
    brands = MAKER_NAMES | {_CORPORATE_SUFFIX.sub("", _normal(make or "")).split(" ")[0]}
    if brand in brands and rest in CAMERA_DEFAULTS:
        return True
    return value.startswith("konica minolta ") and value.removeprefix("konica minolta ") in CAMERA_DEFAULTS
