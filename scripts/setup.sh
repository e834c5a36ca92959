#!/usr/bin/env bash
# Prepares a fresh Debian machine for pulumi-distroless: the system tools the tests and the demo
# use, the npm dependencies, the compiled output, then the pinned Go tools (`scripts/setup.sh
# [TOOL... | all]`, default: the pulumi CLI). Idempotent: it installs only what is
# missing, so running it before every command costs a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages:
#   docker-registry  the CNCF distribution registry the tests push to (on 127.0.0.1)
#   skopeo, umoci    independent OCI clients that read back what we push
#   runc             runs built images; bubblewrap sandboxes builds
#   busybox-static   the demo's and tests' busybox package is made from it
#   apache2-utils    htpasswd (bcrypt) for the registry's basic-auth tests
#   git, gcc, libc6-dev  git-checkout pipeline tests; a static test binary
#   pigz             the parallel gzip the benches compare against
#   libcap2-bin      getcap, to check setcap capabilities on an unpacked image
# The real builds through melange's language pipelines (test/build/pipelines-build-*.test.ts;
# download sizes on bookworm, dependencies included, beyond the packages above):
#   make                          autoconf/make, pecl/install, gem and R extension builds (0.4 MB)
#   ruby, ruby-dev                ruby/build, ruby/install, ruby/clean: gem, mkmf (9 MB)
#   php-dev, php-cli              pecl/phpize, pecl/install: phpize, php-config, php to load it (21 MB)
#   r-base-core                   R/build: Rscript, R CMD build (53 MB)
#   cmake, ninja-build, meson     cmake/*, meson/* (23 MB + 7 MB)
#   llvm, clang, libclang-rt-dev  llvm/covreport: llvm-profdata, llvm-cov, and clang's profile runtime
#                                 for an instrumented program (82 MB)
#   maven, default-jdk-headless   maven/configure-mirror, maven/pombump: mvn and javac (137 MB, the
#                                 JDK most of it; the plugins come once from Maven Central, below)
PACKAGES=(docker-registry skopeo umoci runc bubblewrap busybox-static apache2-utils git gcc libc6-dev pigz ca-certificates libcap2-bin
  make ruby ruby-dev php-dev php-cli r-base-core cmake ninja-build meson llvm clang libclang-rt-dev maven default-jdk-headless)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("setup: Node >= 20.19 is required, this is "+process.version); process.exit(1) }'

# npm dependencies, exactly the lock file's (`npm ci`: the committed lock lists every platform's
# optional packages, so it never rewrites the lock); reinstalled only when the lock changed since the
# last install.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "setup: npm ci (the locked versions)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# The package itself, as a program's node_modules would hold it: the Pulumi dynamic provider (and the
# local demo engine) require "pulumi-distroless/provider/..." from the program's directory.
ln -sfn .. node_modules/pulumi-distroless

npm run --silent build

# The Maven plugins a plain jar build and maven/pombump's dependency tree need (resources, compiler,
# surefire, jar, dependency), fetched once
# from Maven Central into .cache/maven-repo, so the maven pipeline test builds offline. Recorded as
# coming from google-maven-central, the mirror maven/configure-mirror names: offline Maven accepts a
# cached artifact only from the repository id it was fetched through.
maven_repo=.cache/maven-repo
if command -v mvn >/dev/null 2>&1 && [ ! -f "$maven_repo/.complete" ]; then
  echo "setup: fetching the Maven plugins of a jar build into $maven_repo" >&2
  mvn_project=$(mktemp -d)
  mkdir -p "$mvn_project/src/main/java/prefetch"
  cat >"$mvn_project/settings.xml" <<'SETTINGS'
<settings><mirrors><mirror>
  <id>google-maven-central</id><url>https://repo.maven.apache.org/maven2/</url><mirrorOf>central</mirrorOf>
</mirror></mirrors></settings>
SETTINGS
  cat >"$mvn_project/pom.xml" <<'POM'
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>prefetch</groupId><artifactId>prefetch</artifactId><version>1</version>
  <properties>
    <maven.compiler.source>11</maven.compiler.source><maven.compiler.target>11</maven.compiler.target>
  </properties>
</project>
POM
  echo 'package prefetch; public class P {}' >"$mvn_project/src/main/java/prefetch/P.java"
  mkdir -p "$maven_repo"
  (cd "$mvn_project" && mvn -B -q -s settings.xml -Dmaven.repo.local="$OLDPWD/$maven_repo" package dependency:tree) &&
    touch "$maven_repo/.complete"
  rm -rf "$mvn_project"
fi

# Pinned Go tools into .cache/tools/bin (scripts/tools.sh; each built once per version): by default
# what the demo needs (the pulumi CLI; its dynamic-provider plugin is a script), or the tools named
# as arguments (scripts/test.sh passes `all`: apko, melange, crane and cosign too). Without Go it
# says what it skipped, and the demo falls back to its local engine.
scripts/tools.sh "${@:-pulumi}"
