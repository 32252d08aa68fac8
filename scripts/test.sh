#!/usr/bin/env bash
# Set up (with test tools) and run the default test suite. Extra arguments go to pytest.
#   scripts/test.sh                 default suite (what CI runs)
#   scripts/test.sh -m slow         the long runs kept out of the default suite
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
exec .venv/bin/python -m pytest -q "$@"
