/**
 * The recipes the package conformance test builds with melange and with us: the fixture recipes
 * that can build offline against the busybox-only environment repository (the others with the
 * reason they cannot), and a generated set covering files, modes, symlinks, hardlinks, long
 * names, scriptlets, subpackages, declared relations, splits and so:/cmd:/pc: detection (a small
 * real ELF library and program built here by gcc, and a .pc file).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { fixture } from "../helpers/fixtures";

export interface CorpusRecipe {
  name: string;
  /** The recipe file to build (a copy when the fixture had to be made offline). */
  recipe: string;
  sourceDir: string;
  pipelineDirs?: string[];
  /** melange's --namespace (ours: `namespace`), when not the default `unknown`. */
  namespace?: string;
  /** Set when the recipe cannot build here: the reason. */
  skip?: string;
}

const NETWORK = "fetches its sources over the network (fetch / git-checkout)";

/** Fixture recipes (relative to configs/melange) and why some are left out. */
const FIXTURES: [string, string?][] = [
  ["pretend-baselayout.melange.yaml"],
  ["replayout.melange.yaml"],
  ["custom-ca-certs-1.melange.yaml"],
  ["custom-ca-certs-2.melange.yaml"],
  ["package-x.melange.yaml"],
  ["package-y.melange.yaml"],
  ["examples/minimal.yaml"],
  ["examples/one-arch.yaml"],
  ["examples/vars.yaml"],
  ["examples/working-directory.yaml"],
  ["examples/pipelineless.yaml"],
  ["examples/replacement-provides.yaml"],
  ["examples/split-bin.yaml"],
  ["examples/split-lib.yaml"],
  ["e2e/greeter-build-test.yaml"],
  ["e2e/env-vars-build-test.yaml"],
  ["e2e/pipelines-subpackages-build-test.yaml"],
  ["e2e/split-lib-build-test.yaml"],
  ["e2e/env-propagation-uses-build.yaml"],
  [
    "e2e/accounts-root-build-test.yaml",
    "checks `id -un` is root: needs a root account in /etc/passwd (wolfi-baselayout), which the busybox environment lacks (melange's own check fails)",
  ],
  ["e2e/accounts-non-root-build-test.yaml"],
  ["e2e/accounts-nonstd-non-root-build-test.yaml"],
  ["examples/conditional.yaml", NETWORK],
  ["examples/fetch-directory.yaml", NETWORK],
  ["examples/git-checkout.yaml", NETWORK],
  ["examples/gnu-hello.yaml", NETWORK],
  ["examples/go-build.yaml", NETWORK],
  ["examples/mbedtls.yaml", NETWORK],
  ["examples/var-transforms.yaml", NETWORK],
  ["e2e/git-checkout-build.yaml", NETWORK],
  ["examples/go-install.yaml", "needs go from Wolfi (go/install)"],
  ["examples/npm-install.yaml", "needs npm from Wolfi"],
  ["examples/capabilities-add-drop.yaml", "test-only pipeline needing iproute2"],
  ["e2e/capabilities-add-drop-build.yaml", "needs cmd:capsh, which the busybox environment lacks"],
  ["e2e/go-build-v2-build-test.yaml", "needs go-1.26 from Wolfi"],
];

/**
 * A fixture made offline: the build environment's remote repositories and keys are dropped (the
 * test's repository replaces them; busybox is the only package these recipes need, and the one
 * given to recipes without an environment). Written under the same base name, which both tools
 * record in the SBOM and .melange.yaml.
 */
function offlineCopy(file: string, dir: string): string {
  const doc = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const env = (doc.environment ?? {}) as { contents?: Record<string, unknown> };
  const contents = env.contents ?? {};
  delete contents.repositories;
  delete contents.keyring;
  // melange starts its build guest with /bin/sh even for a recipe without steps.
  if (!Array.isArray(contents.packages) || contents.packages.length === 0) contents.packages = ["busybox"];
  env.contents = contents;
  doc.environment = env;
  const out = path.join(dir, path.basename(file));
  mkdirSync(dir, { recursive: true });
  writeFileSync(out, stringify(doc));
  return out;
}

export function fixtureRecipes(dir: string): CorpusRecipe[] {
  const empty = path.join(dir, "empty-source");
  mkdirSync(empty, { recursive: true });
  return FIXTURES.map(([rel, skip], i) => {
    const file = fixture(`configs/melange/${rel}`);
    const r: CorpusRecipe = { name: rel, recipe: file, sourceDir: empty };
    if (skip) return { ...r, skip };
    r.recipe = offlineCopy(file, path.join(dir, `fixture-${i}`));
    if (rel.startsWith("e2e/")) r.pipelineDirs = [fixture("configs/melange/e2e/pipelines")];
    return r;
  });
}

const ENV = `environment:
  contents:
    packages:
      - busybox
`;

const FILES = `package:
  name: gen-files
  version: 1.2.3
  epoch: 4
  description: files, directories, modes, symlinks, hardlinks and long names
  url: https://example.com/gen-files
  copyright:
    - license: Apache-2.0 OR MIT
${ENV}pipeline:
  - runs: |
      d=\${{targets.destdir}}
      mkdir -p $d/usr/bin $d/usr/share/gen $d/etc/gen $d/var/empty $d/opt/private
      printf 'plain\\n' > $d/usr/share/gen/plain.txt
      : > $d/usr/share/gen/empty
      head -c 70000 /dev/zero | tr '\\0' 'z' > $d/usr/share/gen/big.txt
      printf '#!/bin/sh\\necho gen\\n' > $d/usr/bin/gen-tool
      chmod 0755 $d/usr/bin/gen-tool
      cp $d/usr/bin/gen-tool $d/usr/bin/gen-exec-only && chmod 0711 $d/usr/bin/gen-exec-only
      printf 'secret\\n' > $d/etc/gen/secret.conf && chmod 0600 $d/etc/gen/secret.conf
      chmod 0700 $d/opt/private
      chmod 1777 $d/var/empty
      ln -s gen-tool $d/usr/bin/gen-rel
      ln -s /usr/bin/gen-tool $d/usr/bin/gen-abs
      ln -s ../does/not/exist $d/usr/share/gen/dangling
      ln $d/usr/share/gen/plain.txt $d/usr/share/gen/plain-hardlink.txt
      long=$d/usr/share/gen/a-directory-name-that-is-quite-long-indeed/and-another-one-below-it-that-is-long
      mkdir -p $long
      printf 'deep\\n' > $long/with-a-file-name-long-enough-that-the-whole-path-passes-one-hundred-bytes.txt
      ln -s $(printf 'x%.0s' $(seq 1 120)) $d/usr/share/gen/long-target
`;

const SCRIPTLETS = `package:
  name: gen-scriptlets
  version: 0.1
  epoch: 0
  description: every scriptlet and a trigger
  copyright:
    - license: MIT
  scriptlets:
    pre-install: |
      #!/bin/sh
      echo pre-install
    post-install: |
      #!/bin/sh
      echo post-install
    pre-deinstall: |
      #!/bin/sh
      echo pre-deinstall
    post-deinstall: |
      #!/bin/sh
      echo post-deinstall
    pre-upgrade: |
      #!/bin/sh
      echo pre-upgrade
    post-upgrade: |
      #!/bin/sh
      echo post-upgrade
    trigger:
      paths:
        - /usr/share/gen-triggers
        - /etc/gen-triggers
      script: |
        #!/bin/sh
        echo trigger
${ENV}pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/share/gen-triggers
      echo one > \${{targets.destdir}}/usr/share/gen-triggers/one
`;

const RELATIONS = `package:
  name: gen-relations
  version: 2.0.0
  epoch: 1
  description: declared relations on the main package and its subpackages
  copyright:
    - license: GPL-2.0-or-later
  dependencies:
    runtime:
      - busybox
      - so:libc.musl-x86_64.so.1
      - gen-other>=1.0
    provides:
      - gen-virtual=2.0.0-r1
      - cmd:gen-alias=2.0.0-r1
    replaces:
      - gen-old
    provider-priority: 10
    replaces-priority: 5
${ENV}pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/bin \${{targets.destdir}}/usr/share/doc/gen-relations
      printf '#!/bin/sh\\necho rel\\n' > \${{targets.destdir}}/usr/bin/gen-relations
      chmod 755 \${{targets.destdir}}/usr/bin/gen-relations
      echo doc > \${{targets.destdir}}/usr/share/doc/gen-relations/README
subpackages:
  - name: gen-relations-doc
    description: documentation
    dependencies:
      runtime:
        - gen-relations
      replaces:
        - gen-relations-docs
    pipeline:
      - runs: |
          mkdir -p \${{targets.contextdir}}/usr/share
          mv \${{targets.destdir}}/usr/share/doc \${{targets.contextdir}}/usr/share/
  - name: gen-relations-quiet
    description: no commands, no provides
    options:
      no-provides: true
      no-commands: true
    pipeline:
      - runs: |
          mkdir -p \${{targets.contextdir}}/usr/bin
          printf '#!/bin/sh\\n' > \${{targets.contextdir}}/usr/bin/gen-quiet
          chmod 755 \${{targets.contextdir}}/usr/bin/gen-quiet
`;

const SPLITS = `package:
  name: gen-splits
  version: 3.1
  epoch: 0
  description: the split pipelines
  copyright:
    - license: BSD-3-Clause
${ENV}pipeline:
  - runs: |
      d=\${{targets.destdir}}
      mkdir -p $d/usr/include $d/usr/lib/pkgconfig $d/usr/share/man/man1 $d/usr/share/locale/de/LC_MESSAGES $d/usr/share/info
      mkdir -p $d/usr/local/share/man/man8 $d/usr/lib/locale/C.utf8
      echo '.TH GEN 8' > $d/usr/local/share/man/man8/gen.8
      echo ctype > $d/usr/lib/locale/C.utf8/LC_CTYPE
      echo '#define GEN 1' > $d/usr/include/gen.h
      printf 'prefix=/usr\\nName: gen\\nVersion: 3.1\\nDescription: gen\\nLibs: -lgen\\n' > $d/usr/lib/pkgconfig/gen.pc
      echo archive > $d/usr/lib/libgen.a
      echo '.TH GEN 1' > $d/usr/share/man/man1/gen.1
      echo mo > $d/usr/share/locale/de/LC_MESSAGES/gen.mo
      echo info > $d/usr/share/info/gen.info
subpackages:
  - name: gen-splits-dev
    pipeline:
      - uses: split/dev
  - name: gen-splits-static
    pipeline:
      - uses: split/static
  - name: gen-splits-doc
    pipeline:
      - uses: split/manpages
      - uses: split/infodir
  - name: gen-splits-lang
    pipeline:
      - uses: split/locales
`;

/** A shared library with a SONAME, a program linked against it, a .pc file and scripts. */
const ELF = `package:
  name: gen-elf
  version: 1.0.0
  epoch: 0
  description: "so:, cmd:, pc: and shebang detection on real ELF files"
  copyright:
    - license: MIT
${ENV}pipeline:
  - runs: |
      d=\${{targets.destdir}}
      mkdir -p $d/usr/lib/pkgconfig $d/usr/bin $d/usr/libexec
      cp libgreet.so.1.0.0 $d/usr/lib/libgreet.so.1.0.0
      ln -s libgreet.so.1.0.0 $d/usr/lib/libgreet.so.1
      cp greet $d/usr/bin/greet
      chmod 755 $d/usr/bin/greet $d/usr/lib/libgreet.so.1.0.0
      cp greet.pc $d/usr/lib/pkgconfig/greet.pc
      printf '#!/usr/bin/env perl\\nprint 1;\\n' > $d/usr/libexec/greet-perl
      printf '#!/bin/bash\\necho hi\\n' > $d/usr/libexec/greet-bash
      chmod 755 $d/usr/libexec/greet-perl $d/usr/libexec/greet-bash
subpackages:
  - name: gen-elf-dev
    pipeline:
      - runs: |
          mkdir -p \${{targets.contextdir}}/usr/lib
          ln -s libgreet.so.1 \${{targets.contextdir}}/usr/lib/libgreet.so
          mv \${{targets.destdir}}/usr/lib/pkgconfig \${{targets.contextdir}}/usr/lib/
`;

/**
 * Licenses that are and are not SPDX expressions (melange keeps the first, turns each other one
 * into a LicenseRef with extracted text: the license-path file's, or its "Non-SPDX License" note),
 * a subpackage that gets the same SBOM licensing, and a namespace that is title-cased as the
 * supplier and becomes the purl's distro qualifier.
 */
const LICENSES = `package:
  name: gen-licenses
  version: 0.2
  epoch: 0
  description: SPDX and non-SPDX licenses
  copyright:
    - license: Not-Applicable
    - license: My Custom_License (v2)
      license-path: CUSTOM-LICENSE
      attestation: Copyright 2026 Example Corp
    - license: MIT and Zlib
    - license: GPL-2.0-only WITH Classpath-exception-2.0
    - license: apache-2.0
${ENV}pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/share/gen-licenses
      cp CUSTOM-LICENSE \${{targets.destdir}}/usr/share/gen-licenses/
subpackages:
  - name: gen-licenses-extra
    pipeline:
      - runs: |
          mkdir -p \${{targets.contextdir}}/usr/share/gen-licenses-extra
          echo extra > \${{targets.contextdir}}/usr/share/gen-licenses-extra/extra
`;

function gcc(args: string[], cwd: string): void {
  const res = spawnSync("gcc", args, { cwd, encoding: "utf8" });
  if (res.status !== 0) throw new Error(`gcc ${args.join(" ")} failed: ${res.stderr}`);
}

/** Writes the generated recipes (and gen-elf's binaries, built by gcc) under `dir`. */
export function generatedRecipes(dir: string): CorpusRecipe[] {
  const out: CorpusRecipe[] = [];
  for (const [name, text] of [
    ["gen-files", FILES],
    ["gen-scriptlets", SCRIPTLETS],
    ["gen-relations", RELATIONS],
    ["gen-splits", SPLITS],
    ["gen-licenses", LICENSES],
    ["gen-elf", ELF],
  ] as const) {
    const base = path.join(dir, name);
    const src = path.join(base, "src");
    mkdirSync(src, { recursive: true });
    const recipe = path.join(base, `${name}.yaml`);
    writeFileSync(recipe, text);
    out.push({ name, recipe, sourceDir: src });
  }
  writeFileSync(path.join(dir, "gen-licenses", "src", "CUSTOM-LICENSE"), "My Custom License, version 2\n");
  out.find((r) => r.name === "gen-licenses")!.namespace = "my-org.dev";
  const elfSrc = path.join(dir, "gen-elf", "src");
  if (spawnSync("gcc", ["--version"]).status !== 0) {
    out[out.length - 1]!.skip = "needs gcc on the host to make its ELF files";
    return out;
  }
  writeFileSync(path.join(elfSrc, "greet.c"), "int greet(void) { return 42; }\n");
  writeFileSync(
    path.join(elfSrc, "main.c"),
    '#include <stdio.h>\nint greet(void);\nint main(void) { printf("%d\\n", greet()); return 0; }\n',
  );
  gcc(["-shared", "-fPIC", "-Wl,-soname,libgreet.so.1", "-o", "libgreet.so.1.0.0", "greet.c"], elfSrc);
  gcc(["-o", "greet", "main.c", "-L.", "-l:libgreet.so.1.0.0"], elfSrc);
  writeFileSync(
    path.join(elfSrc, "greet.pc"),
    // pkg-config's own ${...} variables, written literally.
    [
      "prefix=/usr",
      "libdir=$" + "{prefix}/lib",
      "Name: greet",
      "Description: greets",
      "Version: 1.0.0",
      "Requires: zlib >= 1.2",
      "Libs: -L$" + "{libdir} -lgreet",
      "",
    ].join("\n"),
  );
  return out;
}
