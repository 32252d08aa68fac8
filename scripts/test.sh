#!/usr/bin/env bash
# Set up (with test tools) and run the default test suite. Extra arguments go to pytest.
#   scripts/test.sh                 default suite (what CI runs)
#   scripts/test.sh -m slow         the long runs kept out of the default suite
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
# Debian tools some tests use; each test that needs one skips with a reason when it is missing:
#   exiftool (libimage-exiftool-perl): the independent reader the XMP tests check our sidecars with
#   luac5.1 (lua5.1): `luac5.1 -p` syntax check of the Lightroom plugin (lupa's Lua 5.1 checks it too)
#   Xvfb (xvfb) + Qt's xcb libraries: the desktop screenshots under a real X server (offscreen otherwise)
missing=()
command -v exiftool >/dev/null 2>&1 || missing+=(libimage-exiftool-perl)
command -v luac5.1 >/dev/null 2>&1 || missing+=(lua5.1)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0 \
  libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}") >/dev/null 2>&1 \
      || echo "note: could not install ${missing[*]}; the tests that need them will skip" >&2
  else
    echo "note: not found: ${missing[*]} (Debian/Ubuntu: apt-get install ${missing[*]}); their tests will skip" >&2
  fi
fi
# Import rules (pyproject [tool.importlinter]: layers, catalog never imports the engine), lint and types, before tests.
.venv/bin/lint-imports --no-cache
.venv/bin/ruff check --quiet bridge catalog desktop tests bench
.venv/bin/mypy  # [tool.mypy]: bridge, catalog, desktop; zero errors
exec .venv/bin/python -m pytest -q "$@"
