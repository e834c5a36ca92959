/**
 * Runs the bundled command line (bundle/cli.js) with a V8 code cache: the bytecode of the functions
 * a command ran, saved when it ends and handed back to V8 by the next run of the same command, so
 * the bundle is neither parsed nor compiled again. Node 20 has no compile cache of its own, and
 * Node's (>= 22.1) keeps each module's top level only, not the functions called after.
 *
 * The cache is bytecode V8 executes. It lives in a directory only this user can write
 * (`$XDG_CACHE_HOME/pulumi-distroless/v8-code-cache`, else `~/.cache/...`, 0700: see
 * compile-cache.ts), and each file is named by the SHA-256 of the bundle's text, the Node and V8
 * versions and the architecture: a cache is used only for the very bundle it was made from (V8
 * itself checks only the text's length), and V8 rejects one made under other flags, which is then
 * written anew. `NODE_DISABLE_COMPILE_CACHE=1`, or no private directory, runs without it.
 */
import { isAscii } from "node:buffer";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire, Module } from "node:module";
import * as path from "node:path";
import { Script } from "node:vm";
import { privateDirectory, userCacheDir } from "./compile-cache";
import { flagsForCodeCache } from "./wasm-tiering";

/**
 * Caches of other bundles are removed once this old: each build (an upgrade, or every `npm run build`
 * in a checkout) makes new ones, and a cache is cheap to make again.
 */
const STALE_MS = 3600 * 1000;

export interface LoadedBundle<T> {
  exports: T;
  /** The cache file of this bundle and key; undefined when there is no private cache directory. */
  cacheFile: string | undefined;
  /** Whether V8 took the cache (false: none yet, rejected, or no cache). */
  cacheUsed: boolean;
  /** Writes the cache if this run had none it could use: call when the command is done. */
  save(): void;
}

/** `lock` -> `lock`; anything that is not a plain command name shares one cache, `other`. */
export function cacheKey(command: string | undefined): string {
  return command && /^[a-z][a-z0-9-]{0,31}$/.test(command) ? command : "other";
}

export function codeCacheFile(
  source: Buffer | string,
  key: string,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  const wanted = userCacheDir(env, "v8-code-cache");
  const dir = wanted && privateDirectory(wanted);
  if (!dir) return undefined;
  const digest = createHash("sha256").update(source).digest("hex");
  const runtime = `node${process.versions.node}-v8-${process.versions.v8}-${process.arch}`;
  return path.join(dir, `${digest}-${runtime}-${cacheKey(key)}.bin`);
}

function readCache(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Temp file and rename, so a concurrent run reads a whole cache or none; failures are ignored. */
function writeCache(file: string, data: Buffer): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, data, { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    rmSync(temp, { force: true });
    return;
  }
  removeStale(path.dirname(file), path.basename(file).slice(0, 64));
}

function removeStale(dir: string, digest: string): void {
  try {
    const now = Date.now();
    for (const name of readdirSync(dir)) {
      if (name.startsWith(digest)) continue;
      const file = path.join(dir, name);
      if (now - statSync(file).mtimeMs > STALE_MS) rmSync(file, { force: true });
    }
  } catch {
    // Another run removed it first, or the directory went away: nothing to keep tidy.
  }
}

type ModuleFunction = (
  exports: unknown,
  require: NodeJS.Require,
  module: Module,
  filename: string,
  dirname: string,
) => void;

/**
 * Evaluates a CommonJS file the way require() would (its own module, exports and require), compiled
 * from the cache `key` names when there is one.
 */
export function loadWithCodeCache<T>(file: string, key: string, env: NodeJS.ProcessEnv): LoadedBundle<T> {
  const bytes = readFileSync(file);
  // ASCII text (build-cli.mjs writes the bundle so) is read as latin1: a one-byte string, no UTF-8
  // decoding (~8 ms of a 1.9 MB file); any other text as UTF-8.
  const text = bytes.toString(isAscii(bytes) ? "latin1" : "utf8");
  // A shebang is not JavaScript inside the module wrapper; `//` keeps the lines where they were.
  const source = text.startsWith("#!") ? `//${text.slice(2)}` : text;
  const cacheFile = codeCacheFile(bytes, key, env);
  const cachedData = readCache(cacheFile);
  const script = new Script(Module.wrap(source), {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const cacheUsed = cachedData !== undefined && script.cachedDataRejected !== true;
  const mod = new Module(file, require.main);
  mod.filename = file;
  const run = script.runInThisContext() as ModuleFunction;
  run.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  return {
    exports: mod.exports as T,
    cacheFile,
    cacheUsed,
    save: () => {
      if (!cacheFile || cacheUsed) return;
      // The flags this run started with, which the next one will load the cache under.
      flagsForCodeCache();
      writeCache(cacheFile, script.createCachedData());
    },
  };
}
