#!/usr/bin/env bash
# The main job: set up, then run the offline demo (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The pinned pulumi CLI and its plugin first on PATH: the demo runs through the real `pulumi up`
# when they were built, through its local engine otherwise.
PATH="$PWD/.cache/tools/bin:$PATH" exec node dist/provider/cli/main.js demo "$@"
