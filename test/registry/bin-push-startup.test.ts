import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { codeCacheFile } from "../../provider/cli/code-cache";
import { runProcess } from "../helpers/cli";
import { projectRoot } from "../helpers/fixtures";
import { makeTestImage, type TestImage } from "../helpers/oci-test-image";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";

/**
 * Start-up of a command that makes requests, through the bin: what the push loads, and that the
 * V8 flags it sets once undici loads (cli/wasm-tiering.ts) leave its code cache usable by the next
 * run. Speed is bench/commands.ts (--row repush).
 */
const bin = path.join(projectRoot, "dist", "provider", "cli", "launch.js");
const bundle = path.join(projectRoot, "dist", "provider", "cli", "bundle", "cli.js");

describe("a push through the bin", () => {
  const work = tempDir();
  const home = tempDir();
  let registry: RegistryServer;
  let image: TestImage;

  before(async () => {
    registry = await startRegistry();
    image = await makeTestImage(path.join(work, "image"), { marker: "bin-push" });
  });
  after(async () => {
    await registry?.stop();
  });

  /** A push (plain HTTP: --insecure) with its own cache home; `preload` runs inside the CLI's node. */
  async function push(preload?: string) {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: home };
    delete env.NODE_DISABLE_COMPILE_CACHE;
    delete env.PD_WASM_TIER_UP;
    const args = [...(preload ? ["-r", preload] : []), bin, "push", image.layoutDir];
    const r = await runProcess(process.execPath, [...args, `${registry.host}/startup/app:v1`, "--insecure"], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
  }

  test("its code cache is written once and used by the next pushes (the flags set late are undone)", async () => {
    await push();
    const file = codeCacheFile(readFileSync(bundle), "push", { ...process.env, XDG_CACHE_HOME: home });
    assert.ok(file);
    const written = (f: string) => {
      const st = statSync(f, { bigint: true });
      return `${st.ino}:${st.mtimeNs}`;
    };
    const first = written(file);
    await push();
    await push();
    assert.equal(written(file), first, "V8 took the cache: it was not written anew");
  });

  test("it loads neither node:http2 nor undici's own files (HTTP/1.1 only, bundled)", async () => {
    const listing = path.join(work, "loaded.json");
    const preload = path.join(work, "list-loaded.js");
    writeFileSync(
      preload,
      `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(listing)}, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) })));\n`,
    );
    await push(preload);
    const { builtins, files } = JSON.parse(readFileSync(listing, "utf8")) as {
      builtins: string[];
      files: string[];
    };
    assert.ok(builtins.includes("NativeModule net"), "it did connect");
    assert.deepEqual(
      builtins.filter((m) => /\bhttp2\b/.test(m)),
      [],
    );
    assert.deepEqual(
      files.filter((f) => f.includes(`${path.sep}node_modules${path.sep}`)),
      [],
    );
  });
});
