"""Read-only questions to the index: text and example-photo search, the --where language, duplicates."""
