import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { hostBusyboxAvailable, makeBusyboxRepo, toolAvailable } from "../build/build-helpers";
import { runProcess } from "../helpers/cli";
import { projectRoot } from "../helpers/fixtures";
import { hookTempDir, packedTarball, removeTempDirs } from "./pulumi-project";

/*
 * The package as a new user gets it: `npm pack`, installed into fresh CommonJS and ESM projects.
 * The README's Quick start typechecks there verbatim, only the public API is importable, and the
 * README's runnable shell blocks (marked `<!-- runnable: NAME -->`) run exactly as written with the
 * installed `pulumi-distroless` on PATH. (test/e2e/pulumi-quickstart.test.ts runs the Quick start
 * through the real pulumi CLI.)
 */

const README = readFileSync(path.join(projectRoot, "README.md"), "utf8");
const SDK_VERSION = (
  JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  }
).devDependencies["@pulumi/pulumi"];
const TSC = path.join(projectRoot, "node_modules", "typescript", "bin", "tsc");

function quickStart(): string {
  const block = /## Quick start\n\n```ts\n([\s\S]*?)```/.exec(README)?.[1];
  assert.ok(block, "README.md has a Quick start ```ts block");
  return block;
}

/** The shell blocks the README marks runnable, by name. */
export function runnableBlocks(readme: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of readme.matchAll(/<!-- runnable: ([\w-]+) -->\n```sh\n([\s\S]*?)```/g))
    out.set(m[1]!, m[2]!);
  return out;
}

function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${command} ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * One install (npm is the slow part) serving two projects: the CommonJS one where it is installed and
 * an ESM one in a subdirectory, which resolves the same node_modules one level up as Node and tsc do.
 */
async function projects(): Promise<{ cjs: string; esm: string }> {
  const cjs = path.join(hookTempDir("pd-pack-"), "app");
  const esm = path.join(cjs, "esm");
  mkdirSync(esm, { recursive: true });
  for (const [dir, type] of [
    [cjs, "commonjs"],
    [esm, "module"],
  ] as const) {
    writeFileSync(
      path.join(dir, "package.json"),
      `${JSON.stringify({ name: `app-${type}`, version: "0.0.0", private: true, type }, null, 2)}\n`,
    );
  }
  const r = await runProcess(
    "npm",
    [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      await packedTarball(),
      `@pulumi/pulumi@${SDK_VERSION}`,
    ],
    { cwd: cjs },
  );
  assert.equal(r.code, 0, r.stderr);
  return { cjs, esm };
}

function typecheck(dir: string, file: string, module: "node16" | "nodenext"): void {
  sh(
    process.execPath,
    [
      TSC,
      "--noEmit",
      "--strict",
      "--module",
      module,
      "--moduleResolution",
      module,
      "--target",
      "es2022",
      "--skipLibCheck",
      "--types",
      "node",
      "--typeRoots",
      path.join(projectRoot, "node_modules", "@types"),
      path.join(dir, file),
    ],
    dir,
  );
}

describe("npm pack, installed into fresh projects", () => {
  let cjs: string;
  let esm: string;
  before(async () => {
    ({ cjs, esm } = await projects());
  });
  after(() => removeTempDirs());

  test("the tarball holds the license and compiled code only: no source maps, tests or sources", async () => {
    const files = sh("tar", ["-tzf", await packedTarball()], projectRoot)
      .trim()
      .split("\n");
    assert.ok(files.includes("package/LICENSE"));
    assert.ok(files.includes("package/dist/provider/cli/main.js"));
    // The bin and the bundled CLI it runs (scripts/build-cli.mjs, run by prepack).
    assert.ok(files.includes("package/dist/provider/cli/launch.js"));
    assert.ok(files.includes("package/dist/provider/cli/bundle/cli.js"));
    assert.deepEqual(
      files.filter(
        (f) => f.endsWith(".map") || f.startsWith("package/dist/test/") || /(?<!\.d)\.ts$/.test(f),
      ),
      [],
    );
    const manifest = JSON.parse(
      readFileSync(path.join(cjs, "node_modules", "pulumi-distroless", "package.json"), "utf8"),
    ) as Record<string, unknown>;
    assert.equal(manifest.license, "Apache-2.0");
    for (const field of ["repository", "homepage", "bugs"])
      assert.ok(manifest[field], `package.json has ${field}`);
  });

  test("CommonJS and ESM both load the classes; internals are not importable, the dynamic providers are", () => {
    const cjsCheck = [
      'const m = require("pulumi-distroless");',
      'for (const c of ["ApkPackage", "ApkRepository", "DistrolessImage"]) if (typeof m[c] !== "function") throw new Error(c);',
      'require.resolve("pulumi-distroless/provider/dynamic/package");',
      'try { require("pulumi-distroless/provider/apk/keys"); throw new Error("internal module importable"); }',
      'catch (e) { if (e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e; }',
      'console.log("ok")',
    ].join("\n");
    assert.equal(sh(process.execPath, ["-e", cjsCheck], cjs).trim(), "ok");
    const esmCheck = [
      'import { ApkPackage, ApkRepository, DistrolessImage } from "pulumi-distroless";',
      'if (![ApkPackage, ApkRepository, DistrolessImage].every((c) => typeof c === "function")) throw new Error("exports");',
      'await import("pulumi-distroless/provider/image/assemble").then(() => { throw new Error("internal module importable"); }, (e) => { if (e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e; });',
      'console.log("ok");',
    ].join("\n");
    assert.equal(sh(process.execPath, ["--input-type=module", "-e", esmCheck], esm).trim(), "ok");
  });

  test("the README's Quick start typechecks verbatim in both", () => {
    writeFileSync(path.join(cjs, "index.ts"), quickStart());
    typecheck(cjs, "index.ts", "node16");
    writeFileSync(path.join(esm, "index.ts"), quickStart());
    typecheck(esm, "index.ts", "nodenext");
  });

  test("the installed command runs: --version, and an apko command's --help", () => {
    const bin = path.join(cjs, "node_modules", ".bin", "pulumi-distroless");
    const version = (
      JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { version: string }
    ).version;
    assert.equal(sh(bin, ["--version"], cjs).trim(), `pulumi-distroless ${version}`);
    assert.match(sh(bin, ["apko", "build", "--help"], cjs), /--keyring-append/);
  });

  test("the README's runnable blocks run as written with the installed command", async (t) => {
    if (!toolAvailable("bwrap") || !hostBusyboxAvailable()) {
      const reason = "the tutorial block builds in the sandbox: needs bwrap and busybox-static";
      if (process.env.CI) throw new Error(reason);
      t.skip(reason);
      return;
    }
    const blocks = runnableBlocks(README);
    assert.ok(blocks.has("tutorial"), "README marks the tutorial block runnable");
    const base = await makeBusyboxRepo(hookTempDir("pd-pack-base-"));
    // What the tutorial starts from: a recipe (built on the busybox base) and an apko config.
    writeFileSync(
      path.join(cjs, "melange.yaml"),
      [
        "package: { name: hello, version: 1.0.0, epoch: 0, description: hello, copyright: [{ license: Apache-2.0 }] }",
        `environment: { contents: { repositories: [${JSON.stringify(base.repo)}], keyring: [${JSON.stringify(base.publicKey)}], packages: [busybox] } }`,
        "pipeline:",
        `  - runs: mkdir -p "\${{targets.destdir}}/etc" && echo hello > "\${{targets.destdir}}/etc/hello"`,
        "",
      ].join("\n"),
    );
    writeFileSync(
      path.join(cjs, "apko.yaml"),
      "contents:\n  repositories: [./packages]\n  packages: [hello]\n",
    );
    const env = {
      ...process.env,
      PATH: `${path.join(cjs, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
    };
    for (const [name, block] of blocks) {
      const r = spawnSync("sh", ["-e", "-c", block], {
        cwd: cjs,
        env,
        encoding: "utf8",
        maxBuffer: 64 << 20,
      });
      assert.equal(r.status, 0, `README block ${name}:\n${r.stdout}\n${r.stderr}`);
    }
    assert.ok(existsSync(path.join(cjs, "out.tar")), "the tutorial wrote out.tar");
    assert.ok(existsSync(path.join(cjs, "packages", "x86_64", "hello-1.0.0-r0.apk")));
  });
});
