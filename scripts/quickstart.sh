#!/usr/bin/env bash
# One command for a new machine: set up, index a folder into the embedded store, then search it.
#   scripts/quickstart.sh FOLDER ["what to look for"]
set -uo pipefail
folder="${1:?usage: scripts/quickstart.sh FOLDER [\"query\"]}"
folder="$(cd "$folder" 2>/dev/null && pwd)" || { echo "folder not found: $1" >&2; exit 1; }
cd "$(dirname "$0")/.."
query="${2:-a photo of people outdoors}"
scripts/setup.sh || exit 1
.venv/bin/pixel-detective index "$folder"
rc=$?
case $rc in
  0) .venv/bin/pixel-detective search "$query" --limit 10 ;;
  4) echo "Indexed metadata only: model weights are missing (see the message above and README 'Model weights')." >&2
     .venv/bin/pixel-detective status ;;
  *) exit $rc ;;
esac
