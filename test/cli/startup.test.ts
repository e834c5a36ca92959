import * as assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { cacheKey, codeCacheFile } from "../../provider/cli/code-cache";
import { privateDirectory } from "../../provider/cli/compile-cache";
import { tiersUpEarly } from "../../provider/cli/wasm-tiering";
import { runProcess } from "../helpers/cli";
import { fixture, needsFixtures, projectRoot } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

/**
 * Start-up: a command loads only what it uses. Each case runs the CLI's `main` in a fresh node
 * process and lists the packages and modules in its require cache afterwards (what was loaded, not
 * how long it took: speed is bench/commands.ts).
 */
async function loadedBy(args: string[], cwd: string): Promise<{ code: number; modules: string[] }> {
  const main = path.join(projectRoot, "dist", "provider", "cli", "main.js");
  const script = `require(${JSON.stringify(main)}).main(${JSON.stringify(args)}, { stdout() {}, stderr() {} })
    .then((code) => process.stdout.write(JSON.stringify({ code, modules: Object.keys(require.cache) })));`;
  const r = await runProcess(process.execPath, ["-e", script], { cwd });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { code: number; modules: string[] };
}

const inPackage = (modules: string[], name: string) =>
  modules.filter((m) => m.includes(`${path.sep}node_modules${path.sep}${name}${path.sep}`));

/** A config of two packages from the fixtures' local repository (what `lock` of a small world reads). */
function twoPackageConfig(dir: string): string {
  const repo = fixture("local-repo");
  const config = path.join(dir, "two.yaml");
  writeFileSync(
    config,
    `contents:\n  keyring:\n    - ${repo}/melange.rsa.pub\n  repositories:\n    - ${repo}\n` +
      "  packages:\n    - pretend-baselayout\n    - custom-ca-certs-1\narchs:\n  - x86_64\n",
  );
  return config;
}

describe("what a command loads", needsFixtures(), () => {
  test("lock from a local repository loads no HTTP client, no builder and no security databases", async () => {
    const dir = tempDir();
    const config = twoPackageConfig(dir);
    const { code, modules } = await loadedBy(["lock", config, "--cache-dir", path.join(dir, "cache")], dir);
    assert.equal(code, 0);
    assert.deepEqual(inPackage(modules, "undici"), []);
    const ours = modules.map((m) => path.relative(path.join(projectRoot, "dist"), m));
    for (const unwanted of [
      "provider/build/",
      "provider/security/",
      "provider/registry/",
      "package-fetcher",
    ]) {
      assert.deepEqual(
        ours.filter((m) => m.includes(unwanted)),
        [],
        `${unwanted} is not needed by lock`,
      );
    }
    // It did resolve: the repository layer and the solver were loaded.
    assert.ok(ours.some((m) => m.includes("provider/resolve/solver")));
  });

  test("the first HTTP request loads undici's Agent and request, not its fetch, WebSocket or mocks", async () => {
    const lean = path.join(projectRoot, "dist", "provider", "util", "undici-lean.js");
    // Nothing listens on port 9: the request fails, after the client was loaded.
    const script = `require(${JSON.stringify(lean)}).request("http://127.0.0.1:9/", { method: "HEAD" })
      .catch(() => {}).finally(() => process.stdout.write(JSON.stringify(Object.keys(require.cache))));`;
    const r = await runProcess(process.execPath, ["-e", script], { cwd: tempDir() });
    assert.equal(r.code, 0, r.stderr);
    const undici = inPackage(JSON.parse(r.stdout) as string[], "undici").map((m) =>
      m.slice(m.lastIndexOf(`${path.sep}undici${path.sep}`) + 8),
    );
    assert.ok(undici.includes(path.join("lib", "dispatcher", "agent.js")), undici.join("\n"));
    assert.ok(undici.includes(path.join("lib", "api", "api-request.js")), undici.join("\n"));
    for (const unwanted of ["web", "mock", "cache"]) {
      assert.deepEqual(
        undici.filter((m) => m.startsWith(path.join("lib", unwanted) + path.sep)),
        [],
        `undici's lib/${unwanted} is not loaded`,
      );
    }
  });
});

describe("the compile cache of the command line", () => {
  const main = path.join(projectRoot, "dist", "provider", "cli", "main.js");
  const hasApi =
    typeof (require("node:module") as { enableCompileCache?: unknown }).enableCompileCache === "function";

  test("a command run as the entry point fills a private cache directory (Node >= 22.1), none before", async () => {
    const home = tempDir();
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: home };
    delete env.NODE_COMPILE_CACHE;
    delete env.NODE_DISABLE_COMPILE_CACHE;
    const r = await runProcess(process.execPath, [main, "--version"], { env });
    assert.equal(r.code, 0, r.stderr);
    const dir = path.join(home, "pulumi-distroless", "v8-compile-cache");
    if (!hasApi) {
      assert.equal(existsSync(dir), false, `Node ${process.version} has no compile cache API`);
      return;
    }
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const entries = readdirSync(dir, { recursive: true });
    assert.ok(entries.length > 0, "the cache holds the compiled modules");
  });

  test("a cache directory others can write is never used", () => {
    const dir = path.join(tempDir(), "shared");
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    assert.equal(privateDirectory(dir), undefined);
    chmodSync(dir, 0o700);
    assert.equal(privateDirectory(dir), dir);
  });

  test("importing the CLI's functions leaves the importer's process alone", async () => {
    const home = tempDir();
    const script = `require(${JSON.stringify(main)}); process.stdout.write("ok")`;
    const r = await runProcess(process.execPath, ["-e", script], {
      env: { ...process.env, XDG_CACHE_HOME: home },
    });
    assert.equal(r.stdout, "ok", r.stderr);
    assert.equal(existsSync(path.join(home, "pulumi-distroless")), false);
  });
});

describe("the bin: the bundled CLI with a code cache per command", needsFixtures(), () => {
  const bin = path.join(projectRoot, "dist", "provider", "cli", "launch.js");
  const bundle = path.join(projectRoot, "dist", "provider", "cli", "bundle", "cli.js");

  /** `lock` through the bin with its own cache home; the lock's package names. */
  async function lockThroughBin(dir: string, home: string, extra: string[] = []) {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: home };
    delete env.NODE_DISABLE_COMPILE_CACHE;
    const args = [...extra, bin, "lock", twoPackageConfig(dir), "--cache-dir", path.join(dir, "cache")];
    const r = await runProcess(process.execPath, args, { env, cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const lock = JSON.parse(r.stdout) as Record<string, { name: string }[]>;
    return { names: lock.x86_64!.map((p) => p.name).sort(), stderr: r.stderr };
  }

  const cacheFileFor = (home: string) =>
    codeCacheFile(readFileSync(bundle), "lock", { ...process.env, XDG_CACHE_HOME: home })!;

  test("the first run saves the cache in a private directory; the next runs use it as it is", async () => {
    assert.ok(existsSync(bundle), "npm run build bundles the CLI (scripts/build-cli.mjs)");
    const dir = tempDir();
    const home = tempDir();
    const first = await lockThroughBin(dir, home);
    assert.deepEqual(first.names, ["custom-ca-certs-1", "pretend-baselayout"]);
    const file = cacheFileFor(home);
    const saved = statSync(file);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.equal(saved.mode & 0o777, 0o600);
    assert.ok(saved.size > 0);
    // V8 took it: a rejected cache would have been written anew (a new file renamed in place).
    const second = await lockThroughBin(dir, home);
    assert.deepEqual(second.names, first.names);
    assert.equal(statSync(file).ino, saved.ino, "the cache was used, not rewritten");
  });

  test("a cache V8 rejects (not V8's, or from other flags) is replaced and the command still works", async () => {
    const dir = tempDir();
    const home = tempDir();
    const file = cacheFileFor(home);
    const junk = Buffer.from("not a V8 code cache, whatever a file here holds");
    writeFileSync(file, junk, { mode: 0o600 });
    const r = await lockThroughBin(dir, home);
    assert.deepEqual(r.names, ["custom-ca-certs-1", "pretend-baselayout"]);
    assert.notDeepEqual(readFileSync(file), junk);
  });

  test("the cache is named by the bundle's text: another bundle (an upgrade, an edit) never uses it", () => {
    const env = { ...process.env, XDG_CACHE_HOME: tempDir() };
    const text = readFileSync(bundle);
    const edited = Buffer.concat([text, Buffer.from("\n")]);
    assert.notEqual(codeCacheFile(text, "lock", env), codeCacheFile(edited, "lock", env));
    assert.equal(codeCacheFile(text, "lock", { ...env, NODE_DISABLE_COMPILE_CACHE: "1" }), undefined);
    // Only plain command names become file names; anything else shares one cache.
    assert.equal(cacheKey("lock"), "lock");
    assert.equal(cacheKey("../../x"), "other");
    assert.equal(cacheKey(undefined), "other");
  });

  test("lock through the bin reads the bundle, and neither undici nor yaml's own files", async () => {
    const dir = tempDir();
    const listing = path.join(dir, "modules.json");
    const preload = path.join(dir, "list-modules.js");
    writeFileSync(
      preload,
      `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(listing)}, JSON.stringify(Object.keys(require.cache))));\n`,
    );
    await lockThroughBin(dir, tempDir(), ["-r", preload]);
    const modules = JSON.parse(readFileSync(listing, "utf8")) as string[];
    assert.deepEqual(inPackage(modules, "undici"), []);
    assert.deepEqual(inPackage(modules, "yaml"), [], "yaml is in the bundle");
    const ours = modules
      .filter((m) => m.startsWith(path.join(projectRoot, "dist")))
      .map((m) => path.relative(path.join(projectRoot, "dist", "provider", "cli"), m))
      .sort();
    // The launcher and what it needs before the bundle runs; everything else is in the bundle.
    assert.deepEqual(ours, ["code-cache.js", "compile-cache.js", "entry.js", "launch.js", "wasm-tiering.js"]);
  });
});

test("WebAssembly stays on Liftoff only under the V8 that tiers llhttp up within a few requests", () => {
  assert.equal(tiersUpEarly("11.3.244.8-node.38"), true, "Node 20");
  assert.equal(tiersUpEarly("13.6.233.17-node.53"), false, "Node 24: the flag would only cost");
});
