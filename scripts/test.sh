#!/usr/bin/env bash
# Set up (with test tools) and run the default test suite. Extra arguments go to pytest.
#   scripts/test.sh                 default suite (what CI runs)
#   scripts/test.sh -m slow         the long runs kept out of the default suite
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
# (--dev also installs the Debian tools some tests use: ExifTool, Lua 5.1, Xvfb, Chromium; see setup.sh.)
# Import rules (pyproject [tool.importlinter]: layers, catalog never imports the engine), lint and types, before tests.
.venv/bin/lint-imports --no-cache
.venv/bin/ruff check --quiet bridge catalog desktop tests bench
.venv/bin/mypy  # [tool.mypy]: bridge, catalog, desktop; zero errors
exec .venv/bin/python -m pytest -q "$@"
