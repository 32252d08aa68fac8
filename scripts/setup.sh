#!/usr/bin/env bash
# Create .venv and install Pixel Detective with every dependency pinned by constraints.txt.
#   scripts/setup.sh          the app
#   scripts/setup.sh --cluster  the app + the cluster extra (Ray, s3fs, gcsfs: docs/cluster.md)
#   scripts/setup.sh --faces  the app + the faces extra (dlib and its face models: faces, eyes, people)
#   scripts/setup.sh --installer  the app + PyInstaller (installer/README.md)
#   scripts/setup.sh --dev    the app + the cluster and faces extras + test tools
# Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pixel Detective needs Python >= 3.11")'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
[ "${1:-}" = "--cluster" ] && extras="[cluster]"
[ "${1:-}" = "--faces" ] && extras="[faces]"
[ "${1:-}" = "--installer" ] && extras="[installer]"  # PyInstaller: installer/README.md
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".${extras}"

# Test tools outside Python (--dev); each test that needs one skips with a reason when it is missing:
#   exiftool (libimage-exiftool-perl): the independent reader the metadata and XMP tests compare with
#   luac5.1 (lua5.1): `luac5.1 -p` syntax check of the Lightroom plugin (lupa's Lua 5.1 checks it too)
#   Xvfb (xvfb) + Qt's xcb libraries: the desktop screenshots under a real X server (offscreen otherwise)
#   chromium + chromium-driver: the dashboard's browser test
if [ "${1:-}" = "--dev" ]; then
  missing=()
  command -v exiftool >/dev/null 2>&1 || missing+=(libimage-exiftool-perl)
  command -v luac5.1 >/dev/null 2>&1 || missing+=(lua5.1)
  command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0 \
    libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}") >/dev/null 2>&1 || echo "note: could not install ${missing[*]}; the tests that need them will skip" >&2
    else
      echo "note: not found: ${missing[*]} (Debian/Ubuntu: apt-get install ${missing[*]}); their tests will skip" >&2
    fi
  fi
fi
