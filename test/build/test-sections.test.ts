/**
 * `test:` sections run as melange runs them: compiled with the build's substitutions into a test
 * guest (test.environment + the package under test + what the steps need), run after the build in
 * the same runner; a failing test fails `package` and leaves no apk in --out. The `test` verb runs
 * them against apks built before. The sandbox cases use a real busybox guest built by the project.
 */
import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { generateSigningKey } from "../../provider/apk/keys";
import { buildPackage } from "../../provider/build/build";
import { compileRecipe, parseRecipe } from "../../provider/build/recipe";
import { provider as apkPackageProvider } from "../../provider/dynamic/package";
import { hostArch } from "../../provider/image/config/arch";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { type BusyboxRepo, hostBusyboxAvailable, makeBusyboxRepo, toolAvailable } from "./build-helpers";

const D = `\${{targets.destdir}}`;

/** A recipe: `tool` prints its greeting; a subpackage ships `tool-extra`; tests as given. */
function recipe(opts: {
  mainTest: string;
  subTest?: string;
  extra?: string;
  testEnv?: string;
  topLevel?: string;
}): string {
  const indent = (s: string, n: number) =>
    s
      .trim()
      .split("\n")
      .map((l) => `${" ".repeat(n)}${l}`)
      .join("\n");
  return `package:
  name: tool
  version: 1.0.0
  epoch: 0
  copyright:
    - license: MIT
${opts.extra ?? ""}
${opts.topLevel ?? ""}
pipeline:
  - runs: |
      mkdir -p ${D}/usr/bin
      printf '#!/bin/sh\\necho tool says hi\\n' > ${D}/usr/bin/tool
      chmod 755 ${D}/usr/bin/tool
subpackages:
  - name: tool-extra
    pipeline:
      - runs: |
          mkdir -p \${{targets.subpkgdir}}/usr/bin
          printf '#!/bin/sh\\necho extra\\n' > \${{targets.subpkgdir}}/usr/bin/tool-extra
          chmod 755 \${{targets.subpkgdir}}/usr/bin/tool-extra
${opts.subTest ? `    test:\n      pipeline:\n${indent(opts.subTest, 8)}` : ""}
test:
${opts.testEnv ? `${indent(opts.testEnv, 2)}\n` : ""}  pipeline:
${indent(opts.mainTest, 4)}
`;
}

function writeRecipe(dir: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "melange.yaml");
  writeFileSync(file, text);
  return file;
}

const apksIn = (out: string, arch: string) =>
  existsSync(path.join(out, arch)) ? readdirSync(path.join(out, arch)).sort() : [];

describe("test sections: compile", () => {
  test("the test guest holds test.environment, the package under test and the steps' needs", () => {
    const plan = compileRecipe(
      parseRecipe(
        recipe({
          mainTest: `- name: check
  runs: tool
  environment:
    WHO: \${{package.name}}`,
          subTest: `- runs: test "\${{targets.contextdir}}" = /home/build/melange-out/tool-extra && tool-extra`,
          testEnv: `environment:
  contents:
    packages: [zzz-last, aaa-first]
  environment:
    MODE: testing`,
        }),
        "melange.yaml",
      ),
      { arch: "x86_64" },
    );
    const main = plan.tests.find((t) => t.pkg === "tool")!;
    assert.deepEqual(main.environment.contents.packages, ["aaa-first", "tool", "zzz-last"]);
    assert.equal(main.environment.accounts.runAs, "root");
    assert.equal(main.steps[0]!.environment.MODE, "testing");
    assert.equal(main.steps[0]!.environment.WHO, "tool");
    assert.equal(main.steps[0]!.environment.HOME, "/home/build");
    assert.equal(main.steps[0]!.workingDirectory, "/home/build");
    const sub = plan.tests.find((t) => t.pkg === "tool-extra")!;
    assert.deepEqual(sub.environment.contents.packages, ["tool-extra"]);
    assert.match(sub.steps[0]!.script, /test "\/home\/build\/melange-out\/tool-extra"/);
    // Test needs do not leak into the build guest.
    assert.ok(!plan.environment.contents.packages.includes("aaa-first"));
  });
});

describe("test sections: host runner", () => {
  const run = async (text: string, extra: { skipTests?: boolean } = {}) => {
    const dir = tempDir("pd-tests-");
    const out = path.join(dir, "out");
    const lines: string[] = [];
    let error: Error | undefined;
    try {
      await buildPackage({
        recipeFile: writeRecipe(path.join(dir, "src"), text),
        arch: hostArch(),
        runner: "host",
        outDir: out,
        cacheDir: path.join(dir, "cache"),
        onStepOutput: (l) => lines.push(l),
        progress: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
        ...extra,
      });
    } catch (err) {
      error = err as Error;
    }
    return {
      error,
      lines,
      apks: apksIn(out, hostArch()),
      leftovers: existsSync(out) ? readdirSync(out) : [],
    };
  };

  test("a test that exits 1 fails package with the step's name and output; nothing lands in --out", async () => {
    const r = await run(recipe({ mainTest: "- name: must fail\n  runs: echo about to fail; exit 1" }));
    assert.ok(r.error, "the build should fail");
    assert.match(r.error.message, /^tool: test failed: .*must fail/s);
    assert.match(r.error.message, /about to fail/);
    assert.deepEqual(r.apks, []);
    assert.deepEqual(r.leftovers, [], "no staging directory is left behind");
  });

  test("passing tests run the package's own binary; a failing subpackage test fails the build", async () => {
    const ok = await run(
      recipe({ mainTest: '- runs: test "$(tool)" = "tool says hi"', subTest: "- runs: tool-extra" }),
    );
    assert.equal(ok.error, undefined, ok.lines.join("\n"));
    assert.deepEqual(ok.apks, ["tool-1.0.0-r0.apk", "tool-extra-1.0.0-r0.apk"]);
    assert.ok(ok.lines.includes("testing tool-extra (1 step(s))"));
    const bad = await run(
      recipe({ mainTest: "- runs: tool", subTest: "- name: extra works\n  runs: tool-extra; false" }),
    );
    assert.match(bad.error?.message ?? "", /^tool-extra: test failed: .*extra works/s);
    assert.deepEqual(bad.apks, []);
  });

  test("skipTests builds without running them", async () => {
    const r = await run(recipe({ mainTest: "- runs: exit 1" }), { skipTests: true });
    assert.equal(r.error, undefined);
    assert.deepEqual(r.apks, ["tool-1.0.0-r0.apk", "tool-extra-1.0.0-r0.apk"]);
    assert.ok(r.lines.some((l) => l.includes("tests of tool skipped")));
  });

  test("the test verb runs the tests against apks built before; package --skip-tests", async () => {
    const dir = tempDir("pd-tests-");
    const file = writeRecipe(path.join(dir, "src"), recipe({ mainTest: "- runs: tool | grep -q 'says hi'" }));
    const out = path.join(dir, "out");
    const built = await runCli([
      "package",
      file,
      "--runner",
      "host",
      "--out",
      out,
      "--cache-dir",
      path.join(dir, "c"),
    ]);
    assert.equal(built.code, 0, built.stderr);
    const apk = path.join(out, hostArch(), "tool-1.0.0-r0.apk");
    const passed = await runCli(["test", file, apk, "--runner", "host", "--cache-dir", path.join(dir, "c")]);
    assert.equal(passed.code, 0, passed.stderr);
    assert.match(passed.stdout, /tool: passed/);
    const failing = writeRecipe(
      path.join(dir, "src2"),
      recipe({ mainTest: "- name: never\n  runs: tool | grep -q 'says bye'" }),
    );
    const failed = await runCli([
      "test",
      failing,
      apk,
      "--runner",
      "host",
      "--cache-dir",
      path.join(dir, "c"),
    ]);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /tool: test failed: .*never/s);
    const skipped = await runCli([
      "package",
      failing,
      "--runner",
      "host",
      "--out",
      path.join(dir, "o2"),
      "--skip-tests",
      "--cache-dir",
      path.join(dir, "c"),
    ]);
    assert.equal(skipped.code, 0, skipped.stderr);
  });
});

describe("test sections: the ApkPackage resource", () => {
  test("a failing test fails create with the step's output; skipTests creates, and changes the digest", async () => {
    const dir = tempDir("pd-tests-res-");
    const { privateKeyPem } = await generateSigningKey(2048);
    const file = writeRecipe(
      path.join(dir, "src"),
      recipe({ mainTest: "- name: resource check\n  runs: echo nope; exit 4" }),
    );
    const inputs = (extra: Record<string, unknown>) => ({
      resourceName: "tool",
      configFile: file,
      signingKey: privateKeyPem,
      runner: "host",
      archs: [hostArch()],
      outDir: path.join(dir, "out"),
      cacheDir: path.join(dir, "cache"),
      ...extra,
    });
    const checked = (await apkPackageProvider.check({}, inputs({}))).inputs;
    await assert.rejects(apkPackageProvider.create(checked), (err: Error) => {
      assert.match(err.message, /ApkPackage "tool" \(create\): .*tool: test failed: .*resource check/s);
      assert.match(err.message, /nope/);
      assert.ok(!err.message.includes("PRIVATE KEY"));
      return true;
    });
    assert.deepEqual(apksIn(path.join(dir, "out"), hostArch()), []);
    const skipping = (await apkPackageProvider.check({}, inputs({ skipTests: true }))).inputs;
    const created = await apkPackageProvider.create(skipping);
    assert.equal((created.outs.packages as unknown[]).length, 2);
    const digest = (i: Record<string, unknown>) => (i.resolved as { inputDigest: string }).inputDigest;
    assert.notEqual(digest(skipping), digest(checked));
  });
});

const canRun = toolAvailable("bwrap") && hostBusyboxAvailable();
const sandboxed = canRun
  ? needsFixtures()
  : { skip: "needs bwrap and Debian's busybox-static (/bin/busybox)" };

describe("test sections: bubblewrap", sandboxed, () => {
  const dir = tempDir("pd-tests-bw-");
  const cacheDir = path.join(dir, "cache");
  let bb: BusyboxRepo;
  before(async () => {
    bb = await makeBusyboxRepo(dir);
  });

  test("greeter's own tests (main + every subpackage) run in fresh guests and pass", async () => {
    const lines: string[] = [];
    const r = await buildPackage({
      recipeFile: fixture("configs/melange/e2e/greeter-build-test.yaml"),
      sourceDir: path.join(dir, "empty"),
      arch: "x86_64",
      runner: "bubblewrap",
      outDir: path.join(dir, "greeter"),
      repositories: [bb.repo],
      keyring: [bb.publicKey],
      cacheDir,
      onStepOutput: (l) => lines.push(l),
      progress: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
    });
    assert.equal(r.packages.length, 4);
    for (const p of ["greeter", "greeter-english", "greeter-hawaiian", "greeter-latvian"]) {
      assert.ok(lines.includes(`testing ${p} (1 step(s))`), p);
    }
    assert.ok(lines.includes("PASS: 'aloha bob' outputs 'aloha, bob'"), lines.join("\n"));
    assert.ok(lines.includes("PASS: 'greeter' outputs 'howdy'"));
  });

  test("a failing test in the guest fails the build; the guest runs as root with the package installed", async () => {
    const out = path.join(dir, "failing");
    const text = recipe({
      extra: "  dependencies:\n    runtime: [busybox]",
      topLevel: "environment:\n  contents:\n    packages: [busybox]",
      mainTest: `- name: inside the guest
  runs: |
    echo "uid=$(id -u) at $(pwd)"
    test -x /usr/bin/tool && tool
    test "$(id -u)" = 0
    echo "the end"; exit 3`,
    });
    const lines: string[] = [];
    await assert.rejects(
      buildPackage({
        recipeFile: writeRecipe(path.join(dir, "failing-src"), text),
        arch: "x86_64",
        runner: "bubblewrap",
        outDir: out,
        repositories: [bb.repo],
        keyring: [bb.publicKey],
        cacheDir,
        onStepOutput: (l) => lines.push(l),
      }),
      (err: Error) => {
        assert.match(err.message, /^tool: test failed: .*inside the guest/s);
        assert.match(err.message, /the end/);
        return true;
      },
    );
    assert.ok(lines.includes("uid=0 at /home/build"), lines.join("\n"));
    assert.ok(lines.includes("tool says hi"));
    assert.deepEqual(apksIn(out, "x86_64"), []);
  });
});
