#!/usr/bin/env bash
# Create .venv and install Pixel Detective with every dependency pinned by constraints.txt.
#   scripts/setup.sh          the app
#   scripts/setup.sh --cluster  the app + the cluster extra (Ray, s3fs, gcsfs: docs/cluster.md)
#   scripts/setup.sh --dev    the app + the cluster extra + test tools
# Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pixel Detective needs Python >= 3.11")'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
[ "${1:-}" = "--cluster" ] && extras="[cluster]"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".${extras}"

# Test tools outside Python (--dev): ExifTool, the independent reader the metadata agreement test compares with;
# Chromium and its driver for the dashboard's browser test.
if [ "${1:-}" = "--dev" ]; then
  missing=()
  command -v exiftool >/dev/null || missing+=(libimage-exiftool-perl)
  command -v chromium >/dev/null || missing+=(chromium chromium-driver)  # the dashboard's browser test
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "note: install ${missing[*]} (Debian/Ubuntu) for the tests that need them; they skip without" >&2
    fi
  fi
fi
