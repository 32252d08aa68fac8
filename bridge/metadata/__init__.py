"""Photo metadata (EXIF, IPTC, XMP, sidecars) read into one typed payload dict, and the user's rules."""
