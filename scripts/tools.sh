#!/usr/bin/env bash
# Builds the pinned Go tools the real-engine tests and the demo use into .cache/tools/bin (git-ignored):
#   scripts/tools.sh pulumi plugin      what the demo needs (the Pulumi CLI, the dynamic-provider plugin)
#   scripts/tools.sh all                everything below (pombump: the maven/pombump pipeline's tool)
# Each tool is built once per version (a stamp file beside the binary); Go's module and build caches
# are reused, so a rebuild after a version bump costs only what changed. Without `go` on PATH it says
# which tools it skipped and exits 0 (the tests that need them then report themselves skipped).
#
# Why build from source: only the Go module proxy is reachable here, not release downloads. Each tool
# is built from a small wrapper module that requires the pinned module (pulumi's go.mod has replace
# directives, which `go install pkg@version` refuses).
#
# The Node.js language host (pulumi-language-nodejs) is not served by the module proxy, so programs
# run as automation-API inline programs (the CLI's --client path): test/e2e/pulumi-program.ts.
set -euo pipefail
cd "$(dirname "$0")/.."

# name      module                                         package (in the module)      version
TOOLS_TABLE='
pulumi      github.com/pulumi/pulumi/pkg/v3                 cmd/pulumi                   v3.274.1
apko        chainguard.dev/apko                             .                            v1.2.37
melange     chainguard.dev/melange                          .                            v0.59.1
crane       github.com/google/go-containerregistry          cmd/crane                    v0.22.1
cosign      github.com/sigstore/cosign/v2                   cmd/cosign                   v2.6.5
pombump     github.com/chainguard-dev/pombump               .                            v0.0.16
'

root="$PWD"
bin="$root/.cache/tools/bin"
src="$root/.cache/tools/src"
mkdir -p "$bin" "$src"

# The dynamic-provider plugin is ours (a launcher script, no build): install it beside the CLI,
# where the engine looks for plugins first.
install_plugin() {
  install -m 0755 scripts/pulumi-resource-pulumi-nodejs "$bin/pulumi-resource-pulumi-nodejs"
}

# The linker flags that make the binary report its version (the CLI checks plugin and SDK versions).
version_ldflags() {
  case "$1" in
  pulumi) echo "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$2" ;;
  apko) echo "-X sigs.k8s.io/release-utils/version.gitVersion=$2" ;;
  melange) echo "-X sigs.k8s.io/release-utils/version.gitVersion=$2" ;;
  crane) echo "-X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$2" ;;
  cosign) echo "-X sigs.k8s.io/release-utils/version.gitVersion=$2" ;;
  esac
}

build_tool() {
  local name="$1" module="$2" pkg="$3" version="$4"
  local stamp="$bin/.$name.version"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    return 0
  fi
  local full="$module"
  [ "$pkg" = "." ] || full="$module/$pkg"
  local dir="$src/$name-$version"
  echo "tools: building $name $version ($full)" >&2
  local started=$SECONDS
  rm -rf "$dir"
  mkdir -p "$dir"
  # Called as an `if` condition, where `set -e` is off: every step checks its own status.
  (
    cd "$dir" || exit 1
    printf 'module distroless.local/tools/%s\n\ngo 1.26\n' "$name" >go.mod
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$full" >tools.go
    # The module's own replace directives: a module => module@version one is copied; a local-path one
    # (`X => ../sdk`, a monorepo sibling) becomes a requirement of X at the same version.
    gomod=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    [ -n "$gomod" ] || exit 1
    siblings=()
    while read -r from arrow to to_version; do
      [ "$arrow" = "=>" ] || continue
      case "$to" in
      .* | /*) siblings+=("$from@$version") ;;
      *) echo "replace $from => $to $to_version" >>go.mod ;;
      esac
    done < <(sed -n 's/^replace[[:space:]]*//p' "$gomod")
    # Modules the proxy refuses, replaced by our stand-ins (scripts/go-stubs/*; each says why).
    case "$name" in
    apko | melange) echo "replace chainguard.dev/sdk => $root/scripts/go-stubs/chainguard-sdk" >>go.mod ;;
    esac
    go get "$module@$version" "${siblings[@]}" >/dev/null || exit 1
    go mod tidy >/dev/null || exit 1
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $(version_ldflags "$name" "$version")" \
      -o "$bin/$name.tmp" "$full" || exit 1
  ) || return 1
  mv "$bin/$name.tmp" "$bin/$name" || return 1
  echo "$version" >"$stamp"
  echo "tools: built $name $version in $((SECONDS - started)) s" >&2
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(all)
if [ "${want[0]}" = all ]; then
  want=(plugin)
  while read -r name _; do [ -n "$name" ] && want+=("$name"); done <<<"$TOOLS_TABLE"
fi

install_plugin
if ! command -v go >/dev/null 2>&1; then
  skipped=()
  for t in "${want[@]}"; do [ "$t" = plugin ] || skipped+=("$t"); done
  echo "tools: no go on PATH; skipped building ${skipped[*]} (the tests that need them report themselves skipped)" >&2
  exit 0
fi

todo=()
for t in "${want[@]}"; do
  [ "$t" = plugin ] && continue
  line=$(awk -v n="$t" '$1 == n' <<<"$TOOLS_TABLE")
  [ -n "$line" ] || { echo "tools: unknown tool $t" >&2; exit 1; }
  read -r name module pkg version <<<"$line"
  [ -x "$bin/$name" ] && [ "$(cat "$bin/.$name.version" 2>/dev/null)" = "$version" ] || todo+=("$line")
done
if [ ${#todo[@]} -gt 0 ]; then
  echo "tools: building ${#todo[@]} Go tool(s) into .cache/tools/bin; a first run takes minutes" >&2
fi
# One at a time: on 2 cores two concurrent Go builds are no faster than one after the other.
# A tool that fails to build is reported and left out (its log kept); the rest still build, the
# demo falls back to its local engine, and the tests that need it say so (and fail on CI).
failed=()
for line in "${todo[@]}"; do
  read -r name module pkg version <<<"$line"
  log="$src/$name-$version.log"
  mkdir -p "$src"
  if ! build_tool "$name" "$module" "$pkg" "$version" 2> >(tee "$log" >&2); then
    echo "tools: FAILED to build $name $version (log: $log)" >&2
    failed+=("$name")
  fi
done
[ ${#failed[@]} -eq 0 ] || echo "tools: not built: ${failed[*]}" >&2
