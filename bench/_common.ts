/**
 * Helpers shared by the bench scripts (the bench runner skips files starting with "_").
 */
import { readApkHead } from "../provider/apk/apk-reader";
import { emptyIndexEntry, type IndexEntry } from "../provider/apk/index-text";
import type { InstallPlan } from "../provider/image/install-plan";
import { q1Encode, sha1 } from "../provider/util/hash";

/** A deterministic generator (xorshift32) in [0, 1), so every run benchmarks the same data. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** The median of some timings (the upper one of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error("median of no values");
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** An x86_64 install plan of local apk files, as the image pipeline would hand it to assembly. */
export async function installPlanOf(files: readonly string[], repository: string): Promise<InstallPlan> {
  const plan: InstallPlan = { arch: "x86_64", packages: [] };
  for (const f of files) {
    const h = await readApkHead(f);
    plan.packages.push({
      name: h.pkginfo.pkgname,
      version: h.pkginfo.pkgver,
      checksum: h.controlChecksum,
      apkPath: f,
      repository,
    });
  }
  return plan;
}

/**
 * The metadata of the `i`-th package of a generated index (pkgN, pkgN-dev, pkgN-doc; versions,
 * sizes and text fields of realistic length; `so:`/`cmd:` provides on the main package). Each bench
 * adds the dependencies its scenario needs.
 */
export function syntheticIndexEntry(i: number, rand: () => number): IndexEntry {
  const e = emptyIndexEntry();
  const base = `pkg${Math.floor(i / 3)}`;
  e.name = i % 3 === 0 ? base : i % 3 === 1 ? `${base}-dev` : `${base}-doc`;
  e.version = `${1 + (i % 7)}.${i % 13}.${i % 5}-r${i % 3}`;
  e.arch = "x86_64";
  e.checksum = q1Encode(sha1(`${e.name}-${e.version}`));
  e.size = 1000 + Math.floor(rand() * 500_000);
  e.installedSize = e.size * 3;
  e.description = `Generated package ${i} for the benches, of a realistic length`;
  e.url = `https://example.org/projects/${base}`;
  e.license = i % 4 === 0 ? "MIT" : "Apache-2.0 AND BSD-3-Clause";
  e.origin = base;
  e.maintainer = "Bench Maintainer <bench@example.org>";
  e.buildTime = 1_700_000_000 + i;
  e.commit = sha1(`commit${i}`).toString("hex");
  if (i % 3 === 0) e.provides.push(`so:libpkg${i / 3}.so.1=1.0.0`, `cmd:${base}=${e.version}`);
  return e;
}
