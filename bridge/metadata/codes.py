"""EXIF code tables (EXIF 2.32 / CIPA DC-008, plus Apple's CustomRendered codes): code -> words.

The field table (`bridge.metadata.fields`) turns enumerated tags into readable text with
`convert.enum(TABLE)`; the Flash bit field and GPS references are read in `bridge.metadata.convert`.
"""

from __future__ import annotations

EXPOSURE_PROGRAMS = {
    1: "Manual",
    2: "Program AE",
    3: "Aperture priority",
    4: "Shutter priority",
    5: "Creative (slow speed)",
    6: "Action (high speed)",
    7: "Portrait",
    8: "Landscape",
    9: "Bulb",
}
METERING_MODES = {
    1: "Average",
    2: "Center-weighted average",
    3: "Spot",
    4: "Multi-spot",
    5: "Multi-segment",
    6: "Partial",
    255: "Other",
}
WHITE_BALANCES = {0: "Auto", 1: "Manual"}
EXPOSURE_MODES = {0: "Auto", 1: "Manual", 2: "Auto bracket"}
SCENE_CAPTURE_TYPES = {0: "Standard", 1: "Landscape", 2: "Portrait", 3: "Night"}
CONTRAST_SHARPNESS = {0: "Normal", 1: "Soft", 2: "Hard"}
SATURATIONS = {0: "Normal", 1: "Low", 2: "High"}
GAIN_CONTROLS = {0: "None", 1: "Low gain up", 2: "High gain up", 3: "Low gain down", 4: "High gain down"}
SUBJECT_DISTANCE_RANGES = {1: "Macro", 2: "Close", 3: "Distant"}
SENSING_METHODS = {
    2: "One-chip color area",
    3: "Two-chip color area",
    4: "Three-chip color area",
    5: "Color sequential area",
    7: "Trilinear",
    8: "Color sequential linear",
}
CUSTOM_RENDERED = {
    0: "Normal",
    1: "Custom",
    2: "HDR (no original saved)",
    3: "HDR (original saved)",
    4: "Original (for HDR)",
    6: "Panorama",
    7: "Portrait HDR",
    8: "Portrait",
}
COLOR_SPACES = {1: "sRGB", 2: "Adobe RGB", 65535: "Uncalibrated"}
RESOLUTION_UNITS = {1: "none", 2: "inches", 3: "cm"}
LIGHT_SOURCES = {
    1: "Daylight",
    2: "Fluorescent",
    3: "Tungsten",
    4: "Flash",
    9: "Fine weather",
    10: "Cloudy",
    11: "Shade",
    12: "Daylight fluorescent",
    13: "Day white fluorescent",
    14: "Cool white fluorescent",
    15: "White fluorescent",
    16: "Warm white fluorescent",
    17: "Standard light A",
    18: "Standard light B",
    19: "Standard light C",
    20: "D55",
    21: "D65",
    22: "D75",
    23: "D50",
    24: "ISO studio tungsten",
    255: "Other",
}
COMPRESSIONS = {
    1: "Uncompressed",
    5: "LZW",
    6: "JPEG (old-style)",
    7: "JPEG",
    8: "Deflate",
    9: "JBIG",
    32773: "PackBits",
    32946: "Deflate",
    34712: "JPEG 2000",
    34892: "Lossy JPEG",
    52546: "JPEG XL",
}
FLASH_MODES = {1: "On", 2: "Off", 3: "Auto"}
GPS_DIRECTION_REFS = {"T": "true north", "M": "magnetic north"}
GPS_SPEED_TO_KMH = {"K": 1.0, "M": 1.609344, "N": 1.852}
