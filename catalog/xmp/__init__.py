"""XMP sidecars: read Lightroom/digiKam metadata, merge ours in without disturbing anything else, write safely."""

from __future__ import annotations

from catalog.xmp.atomic import RetryPolicy
from catalog.xmp.dom import XmpError
from catalog.xmp.merge import MergeResult, XmpUpdate, merge
from catalog.xmp.naming import Naming, can_embed, is_raw, sidecar_path
from catalog.xmp.read import SidecarData, read_packet, read_sidecar
from catalog.xmp.write import PlannedChange, WriteResult, plan, write_sidecar, write_sidecars, write_xmp_file

__all__ = [
    "MergeResult",
    "Naming",
    "PlannedChange",
    "RetryPolicy",
    "SidecarData",
    "WriteResult",
    "XmpError",
    "XmpUpdate",
    "can_embed",
    "is_raw",
    "merge",
    "plan",
    "read_packet",
    "read_sidecar",
    "sidecar_path",
    "write_sidecar",
    "write_sidecars",
    "write_xmp_file",
]
