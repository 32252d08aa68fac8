#!/usr/bin/env bash
# Set up (with test tools) and run the default test suite. Extra arguments go to pytest.
#   scripts/test.sh                 default suite (what CI runs)
#   scripts/test.sh -m slow         the long runs kept out of the default suite
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
# ExifTool is the independent reader the XMP tests check our sidecars with (Debian package).
if ! command -v exiftool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq libimage-exiftool-perl) >/dev/null 2>&1 \
      || echo "note: could not install exiftool; the tests that need it will skip" >&2
  else
    echo "note: exiftool not found (Debian/Ubuntu: apt-get install libimage-exiftool-perl); its tests will skip" >&2
  fi
fi
exec .venv/bin/python -m pytest -q "$@"
