/**
 * The built-in pipelines, compiled from recipes and run for real: each step in a bubblewrap sandbox
 * (the workspace bound at /home/build, the host's /usr as the guest's tools) under busybox sh and
 * under dash, the way a runner executes a BuildPlan.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  BUILTIN_PIPELINE_DIR,
  type BuildStep,
  compileRecipe,
  parseRecipe,
} from "../../provider/build/recipe";
import { tempDir } from "../helpers/tmp";

const HAVE_BWRAP = spawnSync("bwrap", ["--version"]).status === 0;
const SHELLS = ["/usr/bin/busybox", "/bin/dash"].filter((s) => existsSync(s));
const sandboxed = HAVE_BWRAP ? {} : { skip: "bubblewrap (bwrap) is not installed" };

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one step as a runner would: sh -c with set -e, in its working directory, with its environment. */
function runStep(
  step: BuildStep,
  workspace: string,
  opts: { shell: string; cache?: string; path?: string },
): RunResult {
  const wd = step.workingDirectory.replace(/'/g, "'\\''");
  const script = `set -e\nmkdir -p '${wd}'\ncd '${wd}'\n${step.script}`;
  const args = [
    "--tmpfs",
    "/",
    "--ro-bind",
    "/usr",
    "/usr",
    "--symlink",
    "usr/bin",
    "/bin",
    "--symlink",
    "usr/sbin",
    "/sbin",
    "--symlink",
    "usr/lib",
    "/lib",
    "--symlink",
    "usr/lib64",
    "/lib64",
    "--ro-bind",
    "/etc",
    "/etc",
    "--dir",
    "/tmp",
    "--bind",
    workspace,
    "/home/build",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--unshare-pid",
    "--die-with-parent",
    "--clearenv",
  ];
  if (opts.cache) args.push("--bind", opts.cache, "/var/cache/melange");
  for (const [k, v] of Object.entries({ ...step.environment, ...(opts.path ? { PATH: opts.path } : {}) })) {
    args.push("--setenv", k, v);
  }
  const argv = opts.shell.endsWith("busybox") ? [opts.shell, "sh", "-c", script] : [opts.shell, "-c", script];
  const res = spawnSync("bwrap", [...args, ...argv], { encoding: "utf8", timeout: 120_000 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function ok(res: RunResult): void {
  assert.equal(res.status, 0, `step failed:\n${res.stdout}\n${res.stderr}`);
}

function host(cmd: string, args: string[], cwd: string): string {
  const res = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  assert.equal(res.status, 0, `${cmd} ${args.join(" ")}: ${res.stderr}`);
  return res.stdout.trim();
}

function plan(yaml: string, arch = "x86_64") {
  return compileRecipe(parseRecipe(yaml, "/recipes/test.yaml"), { arch });
}

/** A tarball at <ws>/dist/hello-1.0.tar.gz holding hello-1.0/{README,sub/file}; returns its sha256. */
function makeTarball(ws: string): string {
  const src = path.join(ws, "src-tree");
  mkdirSync(path.join(src, "hello-1.0", "sub"), { recursive: true });
  writeFileSync(path.join(src, "hello-1.0", "README"), "hello\n");
  writeFileSync(path.join(src, "hello-1.0", "sub", "file"), "deep\n");
  mkdirSync(path.join(ws, "dist"));
  host("tar", ["-czf", path.join(ws, "dist", "hello-1.0.tar.gz"), "-C", src, "hello-1.0"], ws);
  return createHash("sha256")
    .update(readFileSync(path.join(ws, "dist", "hello-1.0.tar.gz")))
    .digest("hex");
}

const fetchRecipe = (sha: string, extra = "") =>
  `package: {name: hello, version: '1.0'}\npipeline:\n  - uses: fetch\n    with:\n      uri: file:///home/build/dist/\${{package.name}}-\${{package.version}}.tar.gz\n      expected-sha256: ${sha}\n      directory: out\n${extra}`;

describe("built-in pipelines", () => {
  test("every required pipeline ships and compiles without leftover substitutions", () => {
    const names = [
      "fetch",
      "git-checkout",
      "patch",
      "strip",
      "autoconf/configure",
      "autoconf/make",
      "autoconf/make-install",
      "cmake/configure",
      "cmake/build",
      "cmake/install",
      "meson/configure",
      "meson/compile",
      "meson/install",
      "split/bin",
      "split/dev",
      "split/lib",
      "split/static",
      "split/manpages",
      "split/infodir",
      "split/locales",
      "go/build",
      "go/install",
      "python/build-wheel",
      "python/install",
    ];
    const required: Record<string, string> = {
      fetch: "{uri: 'https://example.com/a.tgz', expected-sha512: '" + "ab".repeat(64) + "'}",
      "git-checkout":
        "{repository: 'https://example.com/r.git', tag: v1, expected-commit: '" + "0".repeat(40) + "'}",
      patch: "{patches: fix.patch}",
      "go/build": "{packages: ., output: app}",
      "go/install": "{package: example.com/app}",
    };
    for (const name of names) {
      assert.ok(existsSync(path.join(BUILTIN_PIPELINE_DIR, `${name}.yaml`)), name);
      const withs = required[name] ? `\n        with: ${required[name]}` : "";
      const p = plan(
        `package: {name: a, version: 1}\nsubpackages:\n  - name: a-sub\n    pipeline:\n      - uses: ${name}${withs}\n`,
      );
      const scripts = p.subpackages[0]!.steps.map((s) => s.script).join("\n");
      assert.ok(scripts.length > 0, name);
      assert.doesNotMatch(scripts, /\$\{\{/, name);
    }
  });

  test("pipelines that need a tool check for it and name the tool and the pipeline", () => {
    for (const file of readdirSync(BUILTIN_PIPELINE_DIR, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".yaml"))) {
      const text = readFileSync(path.join(BUILTIN_PIPELINE_DIR, file), "utf8");
      const name = file.replace(/\.yaml$/, "");
      assert.match(
        text,
        new RegExp(`${name.replace("/", "\\/")}: needs `),
        `${file} has no tool check naming ${name}`,
      );
    }
  });
});

describe("built-in pipelines, run in a sandbox", sandboxed, () => {
  for (const shell of SHELLS) {
    test(`fetch (${path.basename(shell)}): file:// download, sha256 verified, extracted, cached`, () => {
      const ws = tempDir();
      const cache = tempDir();
      const sha = makeTarball(ws);
      const step = plan(fetchRecipe(sha)).steps[0]!;
      ok(runStep(step, ws, { shell, cache }));
      assert.equal(readFileSync(path.join(ws, "out", "README"), "utf8"), "hello\n");
      assert.equal(readFileSync(path.join(ws, "out", "sub", "file"), "utf8"), "deep\n");
      assert.ok(existsSync(path.join(ws, "hello-1.0.tar.gz")), "the download is kept (delete: false)");
      assert.equal(
        createHash("sha256")
          .update(readFileSync(path.join(cache, `sha256:${sha}`)))
          .digest("hex"),
        sha,
      );
    });

    test(`fetch (${path.basename(shell)}): a checksum mismatch fails and deletes the download`, () => {
      const ws = tempDir();
      makeTarball(ws);
      const wrong = "0".repeat(64);
      const res = runStep(plan(fetchRecipe(wrong)).steps[0]!, ws, { shell });
      assert.equal(res.status, 1);
      assert.match(
        res.stderr,
        new RegExp(
          `fetch: sha256 of file:///home/build/dist/hello-1.0.tar.gz is [0-9a-f]{64}, expected ${wrong}; the download was deleted`,
        ),
      );
      assert.ok(!existsSync(path.join(ws, "hello-1.0.tar.gz")));
      assert.ok(!existsSync(path.join(ws, "out")), "nothing was extracted");
    });
  }

  test("fetch: a cached download is used without fetching; no checksum is an error", () => {
    const ws = tempDir();
    const cache = tempDir();
    const sha = makeTarball(ws);
    writeFileSync(path.join(cache, `sha256:${sha}`), readFileSync(path.join(ws, "dist", "hello-1.0.tar.gz")));
    const step = plan(fetchRecipe(sha).replace("file:///home/build/dist/", "https://unreachable.invalid/"))
      .steps[0]!;
    const res = runStep(step, ws, { shell: SHELLS[0]!, cache });
    ok(res);
    assert.match(res.stdout, /fetch: using \/var\/cache\/melange\/sha256:/);
    assert.equal(readFileSync(path.join(ws, "out", "README"), "utf8"), "hello\n");

    const bare = plan(
      "package: {name: a, version: 1}\npipeline:\n  - uses: fetch\n    with: {uri: 'file:///home/build/x.tgz'}\n",
    ).steps[0]!;
    const refused = runStep(bare, ws, { shell: SHELLS[0]! });
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /fetch: one of expected-sha256 or expected-sha512 is required for file:\/\/\/home\/build\/x\.tgz/,
    );
  });

  test("git-checkout: tag and expected commit verified; older branch commits reset; wrong commits fail", () => {
    const ws = tempDir();
    const repo = path.join(ws, "repo");
    mkdirSync(repo);
    const git = (...args: string[]) =>
      host(
        "git",
        ["-c", "user.name=t", "-c", "user.email=t@e", "-c", "init.defaultBranch=main", ...args],
        repo,
      );
    git("init", "-q");
    writeFileSync(path.join(repo, "file"), "one\n");
    git("add", "file");
    git("commit", "-qm", "one");
    const first = git("rev-parse", "HEAD");
    git("tag", "-a", "v1", "-m", "v1");
    writeFileSync(path.join(repo, "file"), "two\n");
    git("commit", "-qam", "two");

    const checkout = (withs: string, dest: string) =>
      plan(
        `package: {name: a, version: 1}\npipeline:\n  - uses: git-checkout\n    with:\n      repository: file:///home/build/repo\n      destination: ${dest}\n${withs}`,
      ).steps[0]!;

    ok(
      runStep(checkout(`      tag: v1\n      expected-commit: ${first}\n`, "tagged"), ws, {
        shell: SHELLS[0]!,
      }),
    );
    assert.equal(readFileSync(path.join(ws, "tagged", "file"), "utf8"), "one\n");

    ok(
      runStep(checkout(`      branch: main\n      expected-commit: ${first}\n`, "older"), ws, {
        shell: SHELLS[0]!,
      }),
    );
    assert.equal(readFileSync(path.join(ws, "older", "file"), "utf8"), "one\n");

    const wrong = "1".repeat(40);
    const res = runStep(checkout(`      tag: v1\n      expected-commit: ${wrong}\n`, "bad"), ws, {
      shell: SHELLS[0]!,
    });
    assert.equal(res.status, 1);
    assert.match(
      res.stderr,
      new RegExp(`git-checkout: tag v1 of file:///home/build/repo is at ${first} .*expected ${wrong}`),
    );
  });

  test("split/dev moves headers, static libraries and .so links into the subpackage", () => {
    const ws = tempDir();
    const main = path.join(ws, "melange-out", "lib");
    mkdirSync(path.join(main, "usr", "include"), { recursive: true });
    mkdirSync(path.join(main, "usr", "lib", "pkgconfig"), { recursive: true });
    writeFileSync(path.join(main, "usr", "include", "x.h"), "");
    writeFileSync(path.join(main, "usr", "lib", "libx.a"), "");
    writeFileSync(path.join(main, "usr", "lib", "libx.so.1"), "");
    writeFileSync(path.join(main, "usr", "lib", "pkgconfig", "x.pc"), "");
    host("ln", ["-s", "libx.so.1", path.join(main, "usr", "lib", "libx.so")], ws);
    const p = plan(
      "package: {name: lib, version: 1}\nsubpackages:\n  - name: lib-dev\n    pipeline:\n      - uses: split/dev\n",
    );
    for (const shell of SHELLS) {
      const res = runStep(p.subpackages[0]!.steps[0]!, ws, { shell });
      ok(res);
    }
    const dev = path.join(ws, "melange-out", "lib-dev");
    assert.ok(existsSync(path.join(dev, "usr", "include", "x.h")));
    assert.ok(existsSync(path.join(dev, "usr", "lib", "libx.a")));
    assert.ok(existsSync(path.join(dev, "usr", "lib", "pkgconfig", "x.pc")));
    assert.ok(lstatSync(path.join(dev, "usr", "lib", "libx.so")).isSymbolicLink());
    assert.equal(readlinkSync(path.join(dev, "usr", "lib", "libx.so")), "libx.so.1");
    assert.ok(existsSync(path.join(main, "usr", "lib", "libx.so.1")), "the runtime library stays");
    assert.ok(!existsSync(path.join(main, "usr", "include")));

    const self = plan("package: {name: lib, version: 1}\npipeline:\n  - uses: split/dev\n").steps[0]!;
    const refused = runStep(self, ws, { shell: SHELLS[0]! });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /split\/dev: a package cannot split files from itself/);
  });

  test("a missing tool fails the step with exit 127, naming the tool and the pipeline", () => {
    const ws = tempDir();
    const step = plan("package: {name: a, version: 1}\npipeline:\n  - uses: autoconf/make\n").steps[0]!;
    const res = runStep(step, ws, { shell: SHELLS[0]!, path: "/nonexistent" });
    assert.equal(res.status, 127);
    assert.equal(
      res.stderr.trim(),
      "autoconf/make: needs make, which the build environment lacks (add it to environment.contents.packages)",
    );
  });

  test("strip removes debug information from ELF files and leaves other files alone", {
    skip: existsSync("/usr/bin/gcc") ? undefined : "no gcc to build an ELF with debug info",
  }, () => {
    const ws = tempDir();
    const bin = path.join(ws, "melange-out", "a", "usr", "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(ws, "hello.c"), "int main(void) { return 0; }\n");
    host("gcc", ["-g", "-o", path.join(bin, "hello"), path.join(ws, "hello.c")], ws);
    writeFileSync(path.join(bin, "script"), "#!/bin/sh\n");
    const before = statSync(path.join(bin, "hello")).size;
    assert.match(host("readelf", ["-S", path.join(bin, "hello")], ws), /\.debug_info/);
    ok(
      runStep(plan("package: {name: a, version: 1}\npipeline:\n  - uses: strip\n").steps[0]!, ws, {
        shell: SHELLS[0]!,
      }),
    );
    assert.doesNotMatch(host("readelf", ["-S", path.join(bin, "hello")], ws), /\.debug_info/);
    assert.ok(statSync(path.join(bin, "hello")).size < before);
    assert.equal(readFileSync(path.join(bin, "script"), "utf8"), "#!/bin/sh\n");
  });

  test("environment propagation holds when the step really runs", () => {
    const ws = tempDir();
    const pipelines = tempDir();
    writeFileSync(
      path.join(pipelines, "check-env.yaml"),
      'pipeline:\n  - runs: |\n      [ "$GLOBAL_VAR" = from_config ]\n      [ "$PIPELINE_VAR" = from_uses ]\n      [ "$(pwd)" = /home/build/sub ]\n',
    );
    const p = compileRecipe(
      parseRecipe(
        "package: {name: a, version: 1}\nenvironment:\n  environment: {GLOBAL_VAR: from_config}\npipeline:\n  - uses: check-env\n    working-directory: sub\n    environment: {PIPELINE_VAR: from_uses}\n",
        "/recipes/env.yaml",
      ),
      { arch: "x86_64", pipelineDirs: [pipelines] },
    );
    for (const shell of SHELLS) ok(runStep(p.steps[0]!, ws, { shell }));
  });
});
