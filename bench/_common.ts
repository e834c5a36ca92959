/**
 * Helpers shared by the bench scripts (the bench runner skips files starting with "_").
 */
import { readApkHead } from "../provider/apk/apk-reader";
import type { InstallPlan } from "../provider/image/install-plan";

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
