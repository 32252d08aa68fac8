"""The metadata field table: every payload field, its type, and where it comes from.

Each `Field` names one payload field (the key in the dict `read_metadata` returns and the
vector store filters on), its Python type, and its candidate source keys in priority order.
Source keys are Exiv2 keys (`Exif.*`, `Iptc.*`, `Xmp.*`) as pyexiv2 reports them, plus three
`File.*` keys the reader adds from the container itself (pixel size, MIME type). The first
source whose value converts to something valid wins; a malformed value is skipped, never
raised, so a broken tag in one place does not hide a good copy of it in another.

A source is either a key (converted with the field's converter) or a `(key, converter)` pair
when that key stores the value differently (APEX aperture vs. f-number, a rating percent vs.
stars). `derived=True` fields are computed in `bridge.metadata.read` from several keys at once
(capture time, GPS, keywords, camera name); their `sources` list those keys for reference.

Converters (raw pyexiv2 value in, typed value or None out) live in `bridge.metadata.convert`, the
EXIF code tables they turn into words in `bridge.metadata.codes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.metadata.codes import (
    COLOR_SPACES,
    COMPRESSIONS,
    CONTRAST_SHARPNESS,
    CUSTOM_RENDERED,
    EXPOSURE_MODES,
    EXPOSURE_PROGRAMS,
    GAIN_CONTROLS,
    LIGHT_SOURCES,
    METERING_MODES,
    RESOLUTION_UNITS,
    SATURATIONS,
    SCENE_CAPTURE_TYPES,
    SENSING_METHODS,
    SUBJECT_DISTANCE_RANGES,
    WHITE_BALANCES,
)
from bridge.metadata.convert import (
    Converter,
    apex_to_fnumber,
    apex_to_seconds,
    bounded,
    enum,
    exposure_time_from_rational,
    flash_fired,
    flash_text,
    lens_spec_text,
    stars_from_percent,
    stars_from_rating,
    to_bool,
    to_direction_ref,
    to_exif_version,
    to_first_word,
    to_float,
    to_int,
    to_iso,
    to_joined_text,
    to_nonzero_bool,
    to_positive_int,
    to_text,
    to_text_list,
    to_url_code,
    to_user_comment,
)

Source = str | tuple[str, Converter]


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # payload key
    type: type  # str, int, float, bool or list (of str)
    sources: tuple[Source, ...]  # candidate keys, best first
    convert: Converter = to_text
    derived: bool = False  # computed in bridge.metadata.read from several keys at once
    doc: str = ""
    pairs: tuple[tuple[str, Converter], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pairs = tuple(s if isinstance(s, tuple) else (s, self.convert) for s in self.sources)
        object.__setattr__(self, "pairs", pairs)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.pairs)


def F(name: str, type_: type, *sources: Source, convert: Converter = to_text, doc: str = "") -> Field:
    return Field(name, type_, tuple(sources), convert, doc=doc)


def D(name: str, type_: type, *sources: str, doc: str = "") -> Field:
    return Field(name, type_, tuple(sources), derived=True, doc=doc)


# Source keys shared with the derivations in bridge.metadata.read (one list, used by both).
MAKE_KEYS = ("Exif.Image.Make", "Xmp.tiff.Make")
MODEL_KEYS = ("Exif.Image.Model", "Xmp.tiff.Model", "Exif.Image.UniqueCameraModel")
FLAT_KEYWORD_KEYS = ("Xmp.dc.subject", "Iptc.Application2.Keywords", "Exif.Image.XPKeywords")
# Hierarchical keyword properties and their separators (Lightroom, digiKam, Microsoft, Media Pro).
PATH_KEYWORD_KEYS = (
    ("Xmp.lr.hierarchicalSubject", "|"),
    ("Xmp.digiKam.TagsList", "/"),
    ("Xmp.mediapro.CatalogSets", "|"),
    ("Xmp.MicrosoftPhoto.LastKeywordXMP", "/"),
)
GPS_LAT_KEYS = ("Exif.GPSInfo.GPSLatitude", "Exif.GPSInfo.GPSLatitudeRef", "Xmp.exif.GPSLatitude")
GPS_LON_KEYS = ("Exif.GPSInfo.GPSLongitude", "Exif.GPSInfo.GPSLongitudeRef", "Xmp.exif.GPSLongitude")
GPS_ALT_KEYS = (
    "Exif.GPSInfo.GPSAltitude",
    "Exif.GPSInfo.GPSAltitudeRef",
    "Xmp.exif.GPSAltitude",
    "Xmp.exif.GPSAltitudeRef",
)
GPS_SPEED_KEYS = (
    "Exif.GPSInfo.GPSSpeed",
    "Exif.GPSInfo.GPSSpeedRef",
    "Xmp.exif.GPSSpeed",
    "Xmp.exif.GPSSpeedRef",
)
GPS_TIME_KEYS = ("Exif.GPSInfo.GPSDateStamp", "Exif.GPSInfo.GPSTimeStamp", "Xmp.exif.GPSTimeStamp")
# Capture-time candidates, best first: (date-time key, sub-second key, UTC-offset key).
CAPTURE_DATE_KEYS: tuple[tuple[str, str | None, str | None], ...] = (
    ("Exif.Photo.DateTimeOriginal", "Exif.Photo.SubSecTimeOriginal", "Exif.Photo.OffsetTimeOriginal"),
    ("Xmp.exif.DateTimeOriginal", None, None),
    ("Xmp.photoshop.DateCreated", None, None),
    ("Iptc.Application2.DateCreated", None, "Iptc.Application2.TimeCreated"),
    ("Exif.Image.DateTimeOriginal", None, None),  # TIFF/EP (older Nikon NEF)
    ("Exif.Photo.DateTimeDigitized", "Exif.Photo.SubSecTimeDigitized", "Exif.Photo.OffsetTimeDigitized"),
    ("Xmp.exif.DateTimeDigitized", None, None),
    ("Iptc.Application2.DigitizationDate", None, "Iptc.Application2.DigitizationTime"),
    ("Xmp.xmp.CreateDate", None, None),
)
CREATE_DATE_KEYS = CAPTURE_DATE_KEYS[5:]
MODIFY_DATE_KEYS: tuple[tuple[str, str | None, str | None], ...] = (
    ("Xmp.xmp.ModifyDate", None, None),
    ("Exif.Image.DateTime", "Exif.Photo.SubSecTime", "Exif.Photo.OffsetTime"),
    ("Xmp.tiff.DateTime", None, None),
)
METADATA_DATE_KEYS: tuple[tuple[str, str | None, str | None], ...] = (("Xmp.xmp.MetadataDate", None, None),)
FACE_NAME_PATTERNS = (
    r"^Xmp\.mwg-rs\.Regions/mwg-rs:RegionList\[\d+\]/mwg-rs:Name$",
    r"^Xmp\.MP\.RegionInfo/MPRI:Regions\[\d+\]/MPReg:PersonDisplayName$",
)


def _flat(keys: tuple[tuple[str, str | None, str | None], ...]) -> tuple[str, ...]:
    return tuple(k for triple in keys for k in triple if k)


_aperture = bounded(to_float, 0.7, 256, digits=2)
_focal = bounded(to_float, 0.1, 5000, digits=2)

FIELDS: tuple[Field, ...] = (
    # --- camera and lens ---
    F("camera_make", str, *MAKE_KEYS, doc="manufacturer as recorded"),
    F("camera_model", str, *MODEL_KEYS, "Exif.Image.LocalizedCameraModel"),
    D(
        "camera",
        str,
        *MAKE_KEYS,
        *MODEL_KEYS,
        doc='make + model without repeating the brand: "Canon EOS 600D"',
    ),
    F(
        "serial_number",
        str,
        "Exif.Photo.BodySerialNumber",
        "Exif.Image.CameraSerialNumber",
        "Xmp.exifEX.BodySerialNumber",
        "Xmp.aux.SerialNumber",
        "Xmp.MicrosoftPhoto.CameraSerialNumber",
        "Exif.Nikon3.SerialNumber",
        "Exif.Nikon3.SerialNO",
        "Exif.OlympusEq.SerialNumber",
        "Exif.Fujifilm.SerialNumber",
        ("Exif.Canon.SerialNumber", to_first_word),
    ),
    F(
        "owner_name",
        str,
        "Exif.Photo.CameraOwnerName",
        "Xmp.exifEX.CameraOwnerName",
        "Xmp.aux.OwnerName",
        "Exif.Canon.OwnerName",
    ),
    F("firmware", str, "Xmp.aux.Firmware", "Exif.Canon.FirmwareVersion"),
    F(
        "lens",
        str,
        "Exif.Photo.LensModel",
        "Xmp.exifEX.LensModel",
        "Xmp.aux.Lens",
        "Exif.Canon.LensModel",
        "Exif.OlympusEq.LensModel",
    ),
    F("lens_make", str, "Exif.Photo.LensMake", "Xmp.exifEX.LensMake"),
    F(
        "lens_serial_number",
        str,
        "Exif.Photo.LensSerialNumber",
        "Xmp.exifEX.LensSerialNumber",
        "Xmp.aux.LensSerialNumber",
        "Exif.OlympusEq.LensSerialNumber",
    ),
    F(
        "lens_specification",
        str,
        "Exif.Photo.LensSpecification",
        "Xmp.exifEX.LensSpecification",
        "Xmp.aux.LensInfo",
        "Exif.Image.LensInfo",
        "Exif.Nikon3.Lens",
        convert=lens_spec_text,
        doc='focal and aperture range: "24-105mm f/4"',
    ),
    F("lens_id", int, "Xmp.aux.LensID", convert=to_int),
    # --- exposure ---
    F(
        "focal_length",
        float,
        "Exif.Photo.FocalLength",
        "Xmp.exif.FocalLength",
        "Exif.Image.FocalLength",
        convert=_focal,
    ),
    F(
        "focal_length_35mm",
        int,
        "Exif.Photo.FocalLengthIn35mmFilm",
        "Xmp.exif.FocalLengthIn35mmFilm",
        "Xmp.exif.FocalLenIn35mmFilm",  # misspelt by some writers (scikit-image's chelsea.png)
        convert=to_positive_int,
    ),
    F(
        "aperture",
        float,
        "Exif.Photo.FNumber",
        "Xmp.exif.FNumber",
        "Exif.Image.FNumber",
        ("Exif.Photo.ApertureValue", apex_to_fnumber),
        ("Xmp.exif.ApertureValue", apex_to_fnumber),
        convert=_aperture,
        doc="f-number",
    ),
    F(
        "max_aperture",
        float,
        "Exif.Photo.MaxApertureValue",
        "Xmp.exif.MaxApertureValue",
        convert=apex_to_fnumber,
        doc="widest f-number of the lens at this focal length (from APEX)",
    ),
    F(
        "exposure_time",
        float,
        "Exif.Photo.ExposureTime",
        "Xmp.exif.ExposureTime",
        "Exif.Image.ExposureTime",
        ("Exif.Photo.ShutterSpeedValue", apex_to_seconds),
        ("Xmp.exif.ShutterSpeedValue", apex_to_seconds),
        convert=exposure_time_from_rational,
        doc="seconds",
    ),
    D("shutter", str, "exposure_time", doc='display text: "1/250", "0.5", "30"'),
    F(
        "iso",
        int,
        "Exif.Photo.ISOSpeedRatings",
        "Xmp.exif.ISOSpeedRatings",
        "Xmp.exifEX.PhotographicSensitivity",
        "Exif.Photo.RecommendedExposureIndex",
        "Xmp.exifEX.RecommendedExposureIndex",
        "Exif.Image.ISOSpeedRatings",
        convert=to_iso,
    ),
    F(
        "exposure_bias",
        float,
        "Exif.Photo.ExposureBiasValue",
        "Xmp.exif.ExposureBiasValue",
        convert=bounded(to_float, -20, 20, digits=2),
        doc="EV",
    ),
    F(
        "exposure_program",
        str,
        "Exif.Photo.ExposureProgram",
        "Xmp.exif.ExposureProgram",
        "Exif.Image.ExposureProgram",
        convert=enum(EXPOSURE_PROGRAMS),
    ),
    F("exposure_mode", str, "Exif.Photo.ExposureMode", "Xmp.exif.ExposureMode", convert=enum(EXPOSURE_MODES)),
    F("metering_mode", str, "Exif.Photo.MeteringMode", "Xmp.exif.MeteringMode", convert=enum(METERING_MODES)),
    F("white_balance", str, "Exif.Photo.WhiteBalance", "Xmp.exif.WhiteBalance", convert=enum(WHITE_BALANCES)),
    F("flash", str, "Exif.Photo.Flash", "Exif.Image.Flash", convert=flash_text),
    F(
        "flash_fired",
        bool,
        "Exif.Photo.Flash",
        "Exif.Image.Flash",
        ("Xmp.exif.Flash/exif:Fired", to_bool),
        convert=flash_fired,
    ),
    F(
        "flash_compensation",
        float,
        "Xmp.aux.FlashCompensation",
        convert=bounded(to_float, -20, 20, digits=2),
    ),
    F("light_source", str, "Exif.Photo.LightSource", "Xmp.exif.LightSource", convert=enum(LIGHT_SOURCES)),
    F(
        "scene_capture_type",
        str,
        "Exif.Photo.SceneCaptureType",
        "Xmp.exif.SceneCaptureType",
        convert=enum(SCENE_CAPTURE_TYPES),
    ),
    F(
        "digital_zoom",
        float,
        "Exif.Photo.DigitalZoomRatio",
        "Xmp.exif.DigitalZoomRatio",
        convert=bounded(to_float, 0.01, 1000, digits=2),  # 0 means "not used"
    ),
    F(
        "subject_distance",
        float,
        "Exif.Photo.SubjectDistance",
        "Xmp.exif.SubjectDistance",
        "Exif.Image.SubjectDistance",
        convert=bounded(to_float, 0, 100_000, digits=3),  # 0xFFFFFFFF/1 ("infinity") is skipped
        doc="metres",
    ),
    F(
        "focus_distance",
        float,
        "Xmp.aux.ApproximateFocusDistance",
        convert=bounded(to_float, 0.001, 100_000, digits=3),
        doc="metres, as Adobe records it",
    ),
    F(
        "subject_distance_range",
        str,
        "Exif.Photo.SubjectDistanceRange",
        "Xmp.exif.SubjectDistanceRange",
        "Xmp.exif.SubjectDistRange",
        convert=enum(SUBJECT_DISTANCE_RANGES),
    ),
    F(
        "brightness",
        float,
        "Exif.Photo.BrightnessValue",
        "Xmp.exif.BrightnessValue",
        convert=bounded(to_float, -100, 100, digits=2),
        doc="APEX brightness value (Bv)",
    ),
    F("contrast", str, "Exif.Photo.Contrast", "Xmp.exif.Contrast", convert=enum(CONTRAST_SHARPNESS)),
    F("saturation", str, "Exif.Photo.Saturation", "Xmp.exif.Saturation", convert=enum(SATURATIONS)),
    F("sharpness", str, "Exif.Photo.Sharpness", "Xmp.exif.Sharpness", convert=enum(CONTRAST_SHARPNESS)),
    F("gain_control", str, "Exif.Photo.GainControl", "Xmp.exif.GainControl", convert=enum(GAIN_CONTROLS)),
    F(
        "sensing_method",
        str,
        "Exif.Photo.SensingMethod",
        "Xmp.exif.SensingMethod",
        "Exif.Image.SensingMethod",
        convert=enum(SENSING_METHODS),
    ),
    F(
        "custom_rendered",
        str,
        "Exif.Photo.CustomRendered",
        "Xmp.exif.CustomRendered",
        convert=enum(CUSTOM_RENDERED),
    ),
    F("color_space", str, "Exif.Photo.ColorSpace", "Xmp.exif.ColorSpace", convert=enum(COLOR_SPACES)),
    F("icc_profile_name", str, "Xmp.photoshop.ICCProfile"),
    # --- bursts and counters ---
    F(
        "sequence_number",
        int,
        "Exif.Image.ImageNumber",
        "Xmp.aux.ImageNumber",
        "Exif.SonyMisc3c.SequenceImageNumber",
        "Exif.Sony1.SequenceNumber",
        "Exif.Sony2.SequenceNumber",
        "Exif.Fujifilm.SequenceNumber",
        "Exif.Panasonic.SequenceNumber",
        "Exif.CanonSi.Sequence",
        "Xmp.pmi.sequenceNumber",
        convert=bounded(to_int, 0, 10**9),
        doc="image number within a burst/sequence (0: single shot for most makers)",
    ),
    F(
        "continuous_drive",
        bool,
        "Exif.Fujifilm.Continuous",
        "Exif.Panasonic.BurstMode",
        convert=to_nonzero_bool,
        doc="burst/continuous shooting was on (maker notes)",
    ),
    F(
        "shutter_count",
        int,
        "Exif.Nikon3.ShutterCount",
        "Exif.SonyMisc3c.ShotNumberSincePowerUp",
        convert=to_positive_int,
        doc="shutter actuations (Nikon) or shots since power-up (Sony)",
    ),
    F("file_number", int, "Exif.Canon.FileNumber", "Exif.NikonFi.FileNumber", convert=to_positive_int),
    # --- image ---
    F(
        "width",
        int,
        "File.PixelWidth",
        "Exif.Photo.PixelXDimension",
        "Xmp.exif.PixelXDimension",
        "Exif.Image.ImageWidth",
        "Xmp.tiff.ImageWidth",
        convert=to_positive_int,
        doc="displayed size, after orientation, as Lightroom shows it (orientations 5-8 swap the stored axes; "
        "a RAW: its output image with the default crop, never the sensor size); the decoder's when it decoded",
    ),
    F(
        "height",
        int,
        "File.PixelHeight",
        "Exif.Photo.PixelYDimension",
        "Xmp.exif.PixelYDimension",
        "Exif.Image.ImageLength",
        "Xmp.tiff.ImageLength",
        convert=to_positive_int,
    ),
    F(
        "orientation",
        int,
        "Exif.Image.Orientation",
        "Xmp.tiff.Orientation",
        convert=bounded(to_int, 1, 8),
        doc="EXIF orientation 1-8 (0 and other values are skipped)",
    ),
    F(
        "x_resolution",
        float,
        "Exif.Image.XResolution",
        "Xmp.tiff.XResolution",
        convert=bounded(to_float, 0.01, 1e6, digits=3),
    ),
    F(
        "y_resolution",
        float,
        "Exif.Image.YResolution",
        "Xmp.tiff.YResolution",
        convert=bounded(to_float, 0.01, 1e6, digits=3),
    ),
    F(
        "resolution_unit",
        str,
        "Exif.Image.ResolutionUnit",
        "Xmp.tiff.ResolutionUnit",
        convert=enum(RESOLUTION_UNITS),
    ),
    F(
        "bits_per_sample",
        int,
        "Exif.Image.BitsPerSample",
        "Xmp.tiff.BitsPerSample",
        convert=bounded(to_int, 1, 64),
    ),
    F("compression", str, "Exif.Image.Compression", "Xmp.tiff.Compression", convert=enum(COMPRESSIONS)),
    F("mime_type", str, "File.MimeType", doc="container type as Exiv2 detected it from the content"),
    F("exif_version", str, "Exif.Photo.ExifVersion", "Xmp.exif.ExifVersion", convert=to_exif_version),
    # --- dates ---
    D(
        "captured_at",
        str,
        *_flat(CAPTURE_DATE_KEYS),
        *GPS_TIME_KEYS,
        doc="ISO 8601 local capture time with sub-seconds, and offset when known",
    ),
    D(
        "captured_ts",
        float,
        "captured_at",
        doc="POSIX seconds: true UTC when the offset is known, else the local time read as UTC",
    ),
    D("capture_tz_known", bool, "captured_at", doc="captured_at carries a real UTC offset"),
    F("subsec_time_original", str, "Exif.Photo.SubSecTimeOriginal", convert=to_text),
    F("offset_time_original", str, "Exif.Photo.OffsetTimeOriginal", convert=to_text),
    D("create_date", str, *_flat(CREATE_DATE_KEYS), doc="digitized/created time, ISO 8601"),
    D("modify_date", str, *_flat(MODIFY_DATE_KEYS), doc="last edit time, ISO 8601"),
    D("metadata_date", str, *_flat(METADATA_DATE_KEYS)),
    # --- description (IPTC Core / XMP) ---
    F(
        "title",
        str,
        "Xmp.dc.title",
        "Iptc.Application2.ObjectName",
        "Exif.Image.XPTitle",
        "Exif.Photo.ImageTitle",
    ),
    F(
        "caption",
        str,
        "Xmp.dc.description",
        "Iptc.Application2.Caption",
        "Exif.Image.ImageDescription",
        convert=to_text,
        doc="description; camera defaults like 'OLYMPUS DIGITAL CAMERA' are skipped (bridge.metadata.clean)",
    ),
    F("headline", str, "Xmp.photoshop.Headline", "Iptc.Application2.Headline"),
    D(
        "keywords",
        list,
        *FLAT_KEYWORD_KEYS,
        *(k for k, _ in PATH_KEYWORD_KEYS),
        doc="flat keywords + leaves of hierarchical paths, de-duplicated case-insensitively",
    ),
    D(
        "keyword_paths",
        list,
        *(k for k, _ in PATH_KEYWORD_KEYS),
        doc='hierarchical keywords as "A|B|C"',
    ),
    F(
        "rating",
        int,
        "Xmp.xmp.Rating",
        "Exif.Image.Rating",
        ("Xmp.MicrosoftPhoto.Rating", stars_from_percent),
        ("Exif.Image.RatingPercent", stars_from_percent),
        convert=stars_from_rating,
        doc="-1 (rejected) .. 5 stars",
    ),
    F("label", str, "Xmp.xmp.Label", doc="colour label text"),
    F(
        "creator",
        str,
        "Xmp.dc.creator",
        "Iptc.Application2.Byline",
        "Exif.Image.Artist",
        "Exif.Image.XPAuthor",
        convert=to_joined_text,
        doc="several creators joined with '; '",
    ),
    F("creator_job_title", str, "Xmp.photoshop.AuthorsPosition", "Iptc.Application2.BylineTitle"),
    F("copyright", str, "Xmp.dc.rights", "Iptc.Application2.Copyright", "Exif.Image.Copyright"),
    F("credit", str, "Xmp.photoshop.Credit", "Iptc.Application2.Credit"),
    F("source", str, "Xmp.photoshop.Source", "Iptc.Application2.Source"),
    F("instructions", str, "Xmp.photoshop.Instructions", "Iptc.Application2.SpecialInstructions"),
    F("usage_terms", str, "Xmp.xmpRights.UsageTerms", "Xmp.xmpRights.RightsUsageTerms"),
    F("web_statement", str, "Xmp.xmpRights.WebStatement"),
    F("caption_writer", str, "Xmp.photoshop.CaptionWriter", "Iptc.Application2.Writer"),
    F("job_id", str, "Xmp.photoshop.TransmissionReference", "Iptc.Application2.TransmissionReference"),
    F("category", str, "Xmp.photoshop.Category", "Iptc.Application2.Category"),
    F(
        "supplemental_categories",
        list,
        "Xmp.photoshop.SupplementalCategories",
        "Iptc.Application2.SuppCategory",
        convert=to_text_list,
    ),
    F("urgency", int, "Xmp.photoshop.Urgency", "Iptc.Application2.Urgency", convert=bounded(to_int, 0, 9)),
    F("intellectual_genre", str, "Xmp.iptc.IntellectualGenre", "Iptc.Application2.ObjectAttribute"),
    F("scene_codes", list, "Xmp.iptc.Scene", convert=to_text_list),
    F("subject_codes", list, "Xmp.iptc.SubjectCode", "Iptc.Application2.Subject", convert=to_text_list),
    F("event", str, "Xmp.iptcExt.Event"),
    F("persons_shown", list, "Xmp.iptcExt.PersonInImage", convert=to_text_list),
    D("face_names", list, *FACE_NAME_PATTERNS, doc="names of tagged face/person regions (MWG, Microsoft)"),
    F(
        "digital_source_type",
        str,
        "Xmp.iptcExt.DigitalSourceType",
        convert=to_url_code,
        doc='IPTC code, e.g. "digitalCapture", "trainedAlgorithmicMedia" (AI-generated)',
    ),
    F("model_release_status", str, "Xmp.plus.ModelReleaseStatus", convert=to_url_code),
    F("property_release_status", str, "Xmp.plus.PropertyReleaseStatus", convert=to_url_code),
    # --- location (IPTC Core "location shown" legacy fields) ---
    F("city", str, "Xmp.photoshop.City", "Iptc.Application2.City"),
    F("state", str, "Xmp.photoshop.State", "Iptc.Application2.ProvinceState"),
    F("country", str, "Xmp.photoshop.Country", "Iptc.Application2.CountryName"),
    F("country_code", str, "Xmp.iptc.CountryCode", "Iptc.Application2.CountryCode"),
    F("sublocation", str, "Xmp.iptc.Location", "Iptc.Application2.SubLocation"),
    # --- GPS ---
    D("gps_lat", float, *GPS_LAT_KEYS, doc="signed decimal degrees, north positive"),
    D("gps_lon", float, *GPS_LON_KEYS, doc="signed decimal degrees, east positive"),
    D("gps_alt", float, *GPS_ALT_KEYS, doc="metres, negative below sea level"),
    F(
        "gps_direction",
        float,
        "Exif.GPSInfo.GPSImgDirection",
        "Xmp.exif.GPSImgDirection",
        convert=bounded(to_float, 0, 360, digits=2),
        doc="degrees the camera pointed",
    ),
    F(
        "gps_direction_ref",
        str,
        "Exif.GPSInfo.GPSImgDirectionRef",
        "Xmp.exif.GPSImgDirectionRef",
        convert=to_direction_ref,
    ),
    D("gps_speed", float, *GPS_SPEED_KEYS, doc="km/h"),
    F(
        "gps_track",
        float,
        "Exif.GPSInfo.GPSTrack",
        "Xmp.exif.GPSTrack",
        convert=bounded(to_float, 0, 360, digits=2),
        doc="direction of movement, degrees",
    ),
    F("gps_map_datum", str, "Exif.GPSInfo.GPSMapDatum", "Xmp.exif.GPSMapDatum"),
    F(
        "gps_dop",
        float,
        "Exif.GPSInfo.GPSDOP",
        "Xmp.exif.GPSDOP",
        convert=bounded(to_float, 0, 10_000, digits=2),
    ),
    F(
        "gps_satellites",
        str,
        "Exif.GPSInfo.GPSSatellites",
        "Xmp.exif.GPSSatellites",
    ),
    D("gps_timestamp", str, *GPS_TIME_KEYS, doc="UTC time of the GPS fix, ISO 8601"),
    # --- software and provenance ---
    F("software", str, "Exif.Image.Software", "Xmp.tiff.Software"),
    F("creator_tool", str, "Xmp.xmp.CreatorTool"),
    F("host_computer", str, "Exif.Image.HostComputer"),
    F("artist", str, "Exif.Image.Artist", "Xmp.tiff.Artist", "Exif.Image.XPAuthor"),
    F("image_description", str, "Exif.Image.ImageDescription", "Exif.Image.XPSubject"),
    F(
        "user_comment",
        str,
        "Exif.Photo.UserComment",
        "Xmp.exif.UserComment",
        "Exif.Image.XPComment",
        convert=to_user_comment,
    ),
    F("image_unique_id", str, "Exif.Photo.ImageUniqueID"),
    F("document_id", str, "Xmp.xmpMM.DocumentID"),
    F("original_document_id", str, "Xmp.xmpMM.OriginalDocumentID", doc="links an export to its original"),
    F(
        "original_file_name",
        str,
        "Exif.Image.OriginalRawFileName",
        "Xmp.crs.RawFileName",
        doc="the raw file an export or DNG came from",
    ),
    # --- reader bookkeeping ---
    D("metadata_sources", list, doc='blocks that held data: "exif", "iptc", "xmp", "sidecar"'),
    D("sidecar_file", str, doc="file name of the XMP sidecar that was read"),
    D(
        "field_sources",
        dict,
        doc='field -> reader for fields not read by Exiv2 from the file itself: "pillow-exif", '
        '"container-exif", "xmp-scan" (bridge.metadata.fallback) or "sidecar"; absent when Exiv2 read it all',
    ),
)

FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
