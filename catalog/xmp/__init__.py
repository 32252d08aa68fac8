"""XMP sidecars: read Lightroom/digiKam metadata, merge ours in without disturbing anything else, write safely."""

from __future__ import annotations

from catalog.xmp.atomic import RetryPolicy
from catalog.xmp.dom import XmpError
from catalog.xmp.merge import MergeResult, XmpUpdate, merge
from catalog.xmp.naming import Naming, can_embed, is_raw, sidecar_path
from catalog.xmp.read import SidecarData, read_packet, read_sidecar
from catalog.xmp.targets import Target, plan_photo, target, write_photo, write_photos
from catalog.xmp.write import PlannedChange, WriteResult, plan, write_sidecar, write_sidecars, write_xmp_file

__all__ = [
    "MergeResult",
    "Naming",
    "PlannedChange",
    "RetryPolicy",
    "SidecarData",
    "Target",
    "WriteResult",
    "XmpError",
    "XmpUpdate",
    "can_embed",
    "is_raw",
    "merge",
    "plan",
    "plan_photo",
    "read_packet",
    "read_sidecar",
    "sidecar_path",
    "target",
    "write_sidecar",
    "write_sidecars",
    "write_photo",
    "write_photos",
    "write_xmp_file",
]
