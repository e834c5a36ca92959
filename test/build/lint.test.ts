/**
 * melange's linters on packages the project builds (host runner: the recipes are ours). Each
 * required linter fails the build naming the linter, the package and the path, and leaves no apk;
 * with the linter in checks.disabled the build passes with a warning. Each warn linter warns.
 */
import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { buildPackage } from "../../provider/build/build";
import { defaultRequiredLinters, defaultWarnLinters, LINTER_NAMES } from "../../provider/build/lint/linters";
import { hostArch } from "../../provider/image/config/arch";
import { runCli } from "../helpers/cli";
import { tempDir } from "../helpers/tmp";

interface Built {
  warnings: string[];
  apks: string[];
}

/** The output directory of the last build started. */
let lastOut = "";

/** Builds a one-package recipe whose pipeline runs `script` (indented under `runs: |`). */
async function buildWith(script: string, extra = "", name = "linted"): Promise<Built> {
  const dir = tempDir("pd-lint-");
  const body = script
    .trim()
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n");
  const recipe = `package:
  name: ${name}
  version: 1.0.0
  epoch: 0
  copyright:
    - license: MIT
${extra}
pipeline:
  - name: install
    runs: |
      mkdir -p \${{targets.destdir}}
${body}
`;
  writeFileSync(path.join(dir, "melange.yaml"), recipe);
  const warnings: string[] = [];
  const out = path.join(dir, "out");
  lastOut = out;
  await buildPackage({
    recipeFile: path.join(dir, "melange.yaml"),
    arch: hostArch(),
    runner: "host",
    outDir: out,
    cacheDir: path.join(dir, "cache"),
    progress: { info: () => {}, warn: (m) => warnings.push(m) },
  });
  return { warnings, apks: existsSync(out) ? readdirSync(path.join(out, hostArch())) : [] };
}

/** Like buildWith, but expects a failure and checks that no apk was written. */
async function failingBuild(script: string, extra = "", name = "linted"): Promise<Error> {
  let caught: Error | undefined;
  try {
    await buildWith(script, extra, name);
  } catch (err) {
    caught = err as Error;
  }
  assert.ok(caught, "the build should have failed");
  const apks = existsSync(path.join(lastOut, hostArch())) ? readdirSync(path.join(lastOut, hostArch())) : [];
  assert.deepEqual(apks, [], "a failed lint leaves no apk");
  return caught;
}

const D = `\${{targets.destdir}}`;

/** One case per linter: a script that trips it and a path the finding must name. */
const TRIPS: Record<string, { script: string; path: string; name?: string; extra?: string }> = {
  dev: { script: `mkdir -p ${D}/dev && touch ${D}/dev/null`, path: "dev/null" },
  setuidgid: {
    script: `mkdir -p ${D}/usr/bin && touch ${D}/usr/bin/su && chmod 4755 ${D}/usr/bin/su`,
    path: "usr/bin/su",
  },
  tempdir: { script: `mkdir -p ${D}/tmp && touch ${D}/tmp/left-over`, path: "tmp/left-over" },
  varempty: { script: `mkdir -p ${D}/var/empty && touch ${D}/var/empty/x`, path: "var/empty/x" },
  worldwrite: {
    script: `mkdir -p ${D}/etc && touch ${D}/etc/open && chmod 666 ${D}/etc/open`,
    path: "etc/open",
  },
  infodir: {
    script: `mkdir -p ${D}/usr/share/info/dir && touch ${D}/usr/share/info/dir/x`,
    path: "usr/share/info/dir/x",
  },
  usrmerge: { script: `mkdir -p ${D}/bin && touch ${D}/bin/tool`, path: "bin/tool" },
  "libtool/la-files": {
    script: `mkdir -p ${D}/usr/lib && touch ${D}/usr/lib/libx.la`,
    path: "usr/lib/libx.la",
  },
  opt: { script: `mkdir -p ${D}/opt/app && touch ${D}/opt/app/x`, path: "opt/app/x" },
  object: { script: `mkdir -p ${D}/usr/lib && touch ${D}/usr/lib/x.o`, path: "usr/lib/x.o" },
  maninfo: {
    script: `mkdir -p ${D}/usr/share/man/man1 && touch ${D}/usr/share/man/man1/x.1`,
    path: "usr/share/man/man1/x.1",
  },
  sbom: {
    script: `mkdir -p ${D}/var/lib/db/sbom && touch ${D}/var/lib/db/sbom/x.txt`,
    path: "var/lib/db/sbom/x.txt",
  },
  srv: { script: `mkdir -p ${D}/srv && touch ${D}/srv/x`, path: "srv/x" },
  usrlocal: { script: `mkdir -p ${D}/usr/local/bin && touch ${D}/usr/local/bin/x`, path: "usr/local/bin/x" },
  pkgconf: {
    script: `mkdir -p ${D}/usr/lib/pkgconfig && touch ${D}/usr/lib/pkgconfig/x.pc`,
    path: "usr/lib/pkgconfig/x.pc",
  },
  lddcheck: { script: `mkdir -p ${D}/usr/lib && touch ${D}/usr/lib/libx.so.1`, path: "usr/lib/libx.so.1" },
  cudaruntimelib: {
    script: `mkdir -p ${D}/usr/lib && touch ${D}/usr/lib/libcuda.so.1`,
    path: "usr/lib/libcuda.so.1",
  },
  dll: { script: `mkdir -p ${D}/usr/lib && touch ${D}/usr/lib/x.dll`, path: "usr/lib/x.dll" },
  dylib: { script: `mkdir -p ${D}/usr/lib && touch ${D}/usr/lib/x.dylib`, path: "usr/lib/x.dylib" },
  staticarchive: { script: `mkdir -p ${D}/usr/lib && touch ${D}/usr/lib/libx.a`, path: "usr/lib/libx.a" },
  nonlinux: {
    script: `mkdir -p ${D}/usr/share/x && touch ${D}/usr/share/x/darwin-helper`,
    path: "usr/share/x/darwin-helper",
  },
  unsupportedarch: {
    script: `mkdir -p ${D}/usr/share/x && touch ${D}/usr/share/x/tool-s390x`,
    path: "usr/share/x/tool-s390x",
  },
  "python/docs": {
    script: `mkdir -p ${D}/usr/lib/python3.12/site-packages/docs && touch ${D}/usr/lib/python3.12/site-packages/docs/x`,
    path: "usr/lib/python3.12/site-packages/docs",
  },
  "python/test": {
    script: `mkdir -p ${D}/usr/lib/python3.12/site-packages/tests && touch ${D}/usr/lib/python3.12/site-packages/tests/x`,
    path: "usr/lib/python3.12/site-packages/tests",
  },
  "python/multiple": {
    script: `mkdir -p ${D}/usr/lib/python3.12/site-packages/alpha ${D}/usr/lib/python3.12/site-packages/beta && touch ${D}/usr/lib/python3.12/site-packages/alpha/x ${D}/usr/lib/python3.12/site-packages/beta/x`,
    path: '"alpha", "beta"',
  },
  duplicate: {
    script: `mkdir -p ${D}/usr/share/a ${D}/usr/share/b && head -c 2048 /dev/zero > ${D}/usr/share/a/blob && cp ${D}/usr/share/a/blob ${D}/usr/share/b/blob`,
    path: "usr/share/b/blob",
  },
  binaryarch: {
    // An ELF file for another machine: our own x86-64/aarch64 cc output with e_machine patched to
    // s390 (22) by the shell, so no cross compiler is needed.
    script: `mkdir -p ${D}/usr/bin && printf 'int main(void){return 0;}' > m.c && cc -o ${D}/usr/bin/foreign m.c && printf '\\026\\000' | dd of=${D}/usr/bin/foreign bs=1 seek=18 conv=notrunc 2>/dev/null`,
    path: "usr/bin/foreign",
  },
  strip: {
    // melange looks for a section named exactly .debug (or .zdebug).
    script: `mkdir -p ${D}/usr/bin && printf 'int main(void){return 0;}' > m.c && cc -o m m.c && printf 'x' > note && objcopy --add-section .debug=note m ${D}/usr/bin/unstripped`,
    path: "usr/bin/unstripped",
  },
  documentation: {
    script: `mkdir -p ${D}/usr/share/x && touch ${D}/usr/share/x/README`,
    path: "usr/share/x/README",
  },
  empty: { script: "true", path: "" },
};

describe("linters", () => {
  test("the registry holds melange's linters with its defaults", () => {
    assert.deepEqual(defaultRequiredLinters(), [
      "dev",
      "infodir",
      "libtool/la-files",
      "setuidgid",
      "tempdir",
      "usrmerge",
      "varempty",
      "worldwrite",
    ]);
    for (const w of [
      "opt",
      "object",
      "srv",
      "usrlocal",
      "strip",
      "pkgconf",
      "python/docs",
      "python/multiple",
      "python/test",
    ]) {
      assert.ok(defaultWarnLinters().includes(w), w);
    }
    assert.ok(!defaultWarnLinters().includes("documentation") && !defaultWarnLinters().includes("empty"));
    assert.deepEqual([...LINTER_NAMES].sort(), Object.keys(TRIPS).sort());
  });

  test("a clean package passes without a warning", async () => {
    const r = await buildWith(
      `mkdir -p ${D}/usr/bin && printf '#!/bin/sh\\n' > ${D}/usr/bin/tool && chmod 755 ${D}/usr/bin/tool`,
    );
    assert.deepEqual(r.warnings, []);
    assert.equal(r.apks.length, 1);
  });

  for (const name of defaultRequiredLinters()) {
    const trip = TRIPS[name]!;
    test(`${name}: fails the build naming the linter, package and path; checks.disabled makes it a warning`, async () => {
      const err = await failingBuild(trip.script);
      assert.match(err.message, new RegExp(`\\[${name.replace("/", "\\/")}\\] linted: `));
      assert.ok(err.message.includes(trip.path), err.message);
      const r = await buildWith(trip.script, `  checks:\n    disabled:\n      - ${name}`);
      assert.equal(r.apks.length, 1);
      assert.ok(
        r.warnings.some((w) => w.includes(`[${name}] linted`) && w.includes(trip.path)),
        r.warnings.join("\n"),
      );
    });
  }

  for (const name of defaultWarnLinters()) {
    const trip = TRIPS[name]!;
    test(`${name}: warns with the package and path`, async () => {
      const r = await buildWith(trip.script);
      assert.equal(r.apks.length, 1);
      const mine = r.warnings.filter((w) => w.includes(`[${name}] linted`));
      assert.equal(mine.length, 1, r.warnings.join("\n"));
      assert.ok(mine[0]!.includes(trip.path), mine[0]);
    });
  }

  test("documentation and empty run only when asked for (a disabled check still runs, as a warning)", async () => {
    const doc = await buildWith(TRIPS.documentation!.script);
    assert.ok(!doc.warnings.some((w) => w.includes("[documentation]")));
    const docWarned = await buildWith(
      TRIPS.documentation!.script,
      "  checks:\n    disabled:\n      - documentation",
    );
    assert.ok(
      docWarned.warnings.some(
        (w) => w.includes("[documentation] linted") && w.includes("usr/share/x/README"),
      ),
    );
    const empty = await buildWith("true", "  checks:\n    disabled:\n      - empty");
    assert.ok(empty.warnings.some((w) => w.includes("[empty] linted: package is empty")));
  });

  test("duplicate: the same name and size with other content is not a duplicate; a third copy is", async () => {
    const differ = `mkdir -p ${D}/usr/share/a ${D}/usr/share/b && head -c 2048 /dev/zero > ${D}/usr/share/a/blob && head -c 2048 /dev/zero | tr '\\0' x > ${D}/usr/share/b/blob`;
    const r = await buildWith(differ);
    assert.ok(!r.warnings.some((w) => w.includes("[duplicate]")), r.warnings.join("\n"));
    const third = await buildWith(
      `${differ} && mkdir -p ${D}/usr/share/c && cp ${D}/usr/share/b/blob ${D}/usr/share/c/`,
    );
    const dup = third.warnings.filter((w) => w.includes("[duplicate] linted"));
    assert.equal(dup.length, 1, third.warnings.join("\n"));
    assert.match(dup[0]!, /1 set\(s\) of duplicate files: usr\/share\/b\/blob, usr\/share\/c\/blob/);
  });

  test("a -compat package may write to /opt", async () => {
    const r = await buildWith(TRIPS.opt!.script, "", "thing-compat");
    assert.ok(!r.warnings.some((w) => w.includes("[opt]")), r.warnings.join("\n"));
  });

  test("subpackages are linted with their own checks", async () => {
    const extra = `subpackages:
  - name: linted-extra
    pipeline:
      - runs: mkdir -p \${{targets.subpkgdir}}/dev && touch \${{targets.subpkgdir}}/dev/zero
`;
    // The recipe text puts subpackages after the package block; buildWith appends `extra` there.
    const err = await failingBuild("true", extra.replace(/^/, ""));
    assert.match(err.message, /\[dev\] linted-extra: linted-extra writes to \/dev: dev\/zero/);
    const ok = await buildWith("true", `${extra}    checks:\n      disabled:\n        - dev\n`);
    assert.equal(ok.apks.length, 2);
  });

  test("pkgconf and lddcheck stay quiet when the package's tests use test/pkgconf and test/ldd-check", async () => {
    const dir = tempDir("pd-lint-");
    const pipelines = path.join(dir, "pipelines", "test");
    mkdirSync(pipelines, { recursive: true });
    for (const name of ["pkgconf", "ldd-check"]) {
      writeFileSync(path.join(pipelines, `${name}.yaml`), `name: ${name}\npipeline:\n  - runs: "true"\n`);
    }
    writeFileSync(
      path.join(dir, "melange.yaml"),
      `package:\n  name: linted\n  version: 1.0.0\n  epoch: 0\npipeline:\n  - runs: |\n      ${TRIPS.pkgconf!.script}\n      ${TRIPS.lddcheck!.script}\ntest:\n  pipeline:\n    - uses: test/pkgconf\n    - uses: test/ldd-check\n`,
    );
    const warnings: string[] = [];
    await buildPackage({
      recipeFile: path.join(dir, "melange.yaml"),
      arch: hostArch(),
      runner: "host",
      outDir: path.join(dir, "out"),
      cacheDir: path.join(dir, "cache"),
      pipelineDirs: [path.join(dir, "pipelines")],
      progress: { info: () => {}, warn: (m) => warnings.push(m) },
    });
    assert.deepEqual(warnings, []);
  });

  test("an unknown linter in checks.disabled is refused by name", async () => {
    const err = await failingBuild(`touch ${D}/x`, "  checks:\n    disabled:\n      - no-such-linter");
    assert.match(err.message, /linted: checks\.disabled: unknown linter "no-such-linter"/);
  });

  test("--lint-require / --lint-warn settings replace the defaults", async () => {
    const dir = tempDir("pd-lint-");
    writeFileSync(
      path.join(dir, "melange.yaml"),
      `package:\n  name: linted\n  version: 1.0.0\n  epoch: 0\npipeline:\n  - runs: mkdir -p \${{targets.destdir}}/opt && touch \${{targets.destdir}}/opt/x\n`,
    );
    mkdirSync(path.join(dir, "out"));
    await assert.rejects(
      buildPackage({
        recipeFile: path.join(dir, "melange.yaml"),
        arch: hostArch(),
        runner: "host",
        outDir: path.join(dir, "out"),
        cacheDir: path.join(dir, "cache"),
        lint: { require: ["opt"], warn: [] },
      }),
      /\[opt\] linted: linted writes to \/opt: opt\/x/,
    );
  });

  test("package --lint-require / --lint-warn take comma-separated names", async () => {
    const dir = tempDir("pd-lint-");
    const file = path.join(dir, "melange.yaml");
    writeFileSync(
      file,
      `package:\n  name: linted\n  version: 1.0.0\n  epoch: 0\npipeline:\n  - runs: |\n      ${TRIPS.opt!.script}\n      ${TRIPS.dev!.script}\n`,
    );
    const common = ["package", file, "--runner", "host", "--cache-dir", path.join(dir, "c")];
    const strict = await runCli([...common, "--out", path.join(dir, "o1"), "--lint-require", "opt,dev"]);
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /\[opt\] linted: linted writes to \/opt: opt\/app\/x/);
    assert.match(strict.stderr, /\[dev\] linted: linted writes to \/dev: dev\/null/);
    const lenient = await runCli([
      ...common,
      "--out",
      path.join(dir, "o2"),
      "--lint-require",
      "",
      "--lint-warn",
      "dev",
    ]);
    assert.equal(lenient.code, 0, lenient.stderr);
    assert.match(lenient.stderr, /warning: lint warning \[dev\] linted/);
    assert.ok(!lenient.stderr.includes("[opt]"), lenient.stderr);
  });
});
