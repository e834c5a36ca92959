/**
 * The build cache a sandboxed build sees at /var/cache/melange. The shared cache
 * (`<cacheDir>/melange-cache`) outlives builds and serves every recipe, so no recipe may write to
 * it: one that could would poison later builds of other recipes (a Go module cache entry is trusted
 * as it is), or break them (a garbage file under a download's checksum name).
 *
 * So each build gets its own writable directory, discarded afterwards (the Go module cache lives
 * there, per build). The shared cache's verified downloads (`sha256:<hex>`, `sha512:<hex>`, what
 * the fetch pipeline stores and looks up) that the plan's steps name are bound into it read-only.
 * After a successful build the host re-hashes what `fetch` stored there and moves only entries whose
 * content matches their name into the shared cache: nothing a step wrote reaches another build
 * unverified.
 */
import { createReadStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { pathExists, tempPathFor } from "../../util/fs";
import { newHash } from "../../util/hash";
import type { Progress } from "../../util/log";

/** The fetch pipeline's cache entry names: the download's checksum. */
const FETCH_ENTRY = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

export interface BuildCache {
  /** The build's own directory, bound read-write at /var/cache/melange. */
  dir: string;
  /** Shared entries bound read-only into it (`file` on the host, `name` inside). */
  seeds: { name: string; file: string }[];
}

/**
 * Makes `<scratch>/cache` with empty mount points for the shared entries whose checksum appears in
 * `stepTexts` (the compiled scripts: fetch's `expected-sha256` is substituted into them).
 */
export async function prepareBuildCache(
  shared: string,
  scratch: string,
  stepTexts: string[],
): Promise<BuildCache> {
  const dir = path.join(scratch, "cache");
  await fsp.mkdir(dir, { recursive: true });
  await fsp.mkdir(shared, { recursive: true });
  const text = stepTexts.join("\n");
  const seeds: BuildCache["seeds"] = [];
  for (const name of await fsp.readdir(shared)) {
    if (!FETCH_ENTRY.test(name) || !text.includes(name.slice(name.indexOf(":") + 1))) continue;
    const file = path.join(shared, name);
    if (!(await fsp.lstat(file)).isFile()) continue;
    await fsp.writeFile(path.join(dir, name), "");
    seeds.push({ name, file });
  }
  return { dir, seeds };
}

/**
 * Moves the verified downloads a build stored in its cache into the shared cache; returns how many.
 * An entry whose content does not hash to its name is left behind (and discarded with the build).
 */
export async function harvestBuildCache(
  cache: BuildCache,
  shared: string,
  progress: Progress,
): Promise<number> {
  const seeded = new Set(cache.seeds.map((s) => s.name));
  let moved = 0;
  for (const name of await fsp.readdir(cache.dir)) {
    if (!FETCH_ENTRY.test(name) || seeded.has(name)) continue;
    const file = path.join(cache.dir, name);
    const st = await fsp.lstat(file);
    if (!st.isFile()) continue;
    const target = path.join(shared, name);
    if (await pathExists(target)) continue;
    const [algorithm, want] = name.split(":") as ["sha256" | "sha512", string];
    // Copied first, hashed from the copy: the hashed bytes are the bytes that land in the cache.
    const tmp = tempPathFor(target);
    try {
      await fsp.copyFile(file, tmp);
      const h = newHash(algorithm);
      for await (const chunk of createReadStream(tmp, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
      if (h.digest("hex") !== want) {
        progress.warn(`build cache: ${name} does not match its checksum; not kept`);
        continue;
      }
      await fsp.chmod(tmp, 0o644);
      await fsp.rename(tmp, target);
      moved++;
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }
  return moved;
}
