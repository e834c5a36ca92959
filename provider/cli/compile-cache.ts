/**
 * Node's compile cache for the command line (Node >= 22.1, `module.enableCompileCache`), for the
 * modules loaded from their own files: main.js run directly, and the packages the bundle leaves
 * out (undici, ...). The bundle itself has its own code cache (code-cache.ts), which also holds
 * the functions a command ran, not only each module's top level.
 *
 * Imported first by main.ts for its side effect, and active only when the command line is the
 * process's entry point (entry.ts): a program that imports the CLI's functions (tests, the SDK)
 * keeps its own settings.
 *
 * The cache holds bytecode that V8 executes, so it lives in a directory only this user can write
 * (`$XDG_CACHE_HOME/pulumi-distroless/v8-compile-cache`, else `~/.cache/...`, created 0700): a
 * shared directory such as Node's default under /tmp would let another user plant code. Where that
 * cannot be had (no home, a directory someone else can write), the cache stays off. Node < 22.1 has
 * no such API: nothing happens. `NODE_DISABLE_COMPILE_CACHE=1` turns it off, as it does for Node.
 */
import { lstatSync, mkdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isCommandLineEntry } from "./entry";

type ModuleWithCache = { enableCompileCache?: (directory?: string) => unknown };

/** `$XDG_CACHE_HOME/pulumi-distroless/<name>`, else `~/.cache/...`; undefined without a home. */
export function userCacheDir(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  const home = env.HOME || os.homedir();
  const base = xdg && path.isAbsolute(xdg) ? xdg : home ? path.join(home, ".cache") : undefined;
  return base && path.join(base, "pulumi-distroless", name);
}

export function compileCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  return userCacheDir(env, "v8-compile-cache");
}

/** The directory, if it is (or could be made) ours alone; undefined otherwise. */
export function privateDirectory(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0)
      return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): boolean {
  const { enableCompileCache: enable } = require("node:module") as ModuleWithCache;
  if (typeof enable !== "function" || env.NODE_DISABLE_COMPILE_CACHE) return false;
  const wanted = compileCacheDir(env);
  const dir = wanted && privateDirectory(wanted);
  if (!dir) return false;
  enable(dir);
  return true;
}

if (isCommandLineEntry()) enableCompileCache();
