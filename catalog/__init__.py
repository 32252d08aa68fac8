"""Lightroom Classic catalogs (.lrcat) and XMP sidecars. Does not import the engine."""
