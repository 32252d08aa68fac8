"""Files on disk: photo formats and limits, safe opening, non-UTF-8 names, the data dir, free space."""
