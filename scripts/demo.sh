#!/usr/bin/env bash
# The main job: set up, then run the offline demo (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node dist/provider/cli/main.js demo "$@"
