/**
 * Cost of apko's origin layering: the same ~200 MB of packages (made here with writeApk, 16
 * packages of 12 origins, text mixed with random data) assembled as one layer and with
 * `layering: { strategy: origin, budget: 10 }`, warm cache, interleaved rounds; prints the median
 * times and their ratio (the target: layered within 1.2x of single-layer).
 *
 *   node dist/bench/layering.js [--mb 200] [--packages 16] [--rounds 3]
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeApk } from "../provider/apk/apk-writer";
import type { DataEntry } from "../provider/apk/data-entry";
import { emptyPkgInfo } from "../provider/apk/pkginfo";
import { assembleImage } from "../provider/image/assemble";
import { validateApkoConfig } from "../provider/image/config";
import type { InstallPlan } from "../provider/image/install-plan";
import { installPlanOf, median, rng } from "./_common";

async function makePackages(dir: string, totalMb: number, count: number): Promise<string[]> {
  const rand = rng(7);
  const text = Buffer.from("lorem ipsum dolor sit amet consectetur adipiscing elit\n".repeat(40_000));
  const files: string[] = [];
  for (let p = 0; p < count; p++) {
    const name = `lay-${String(p).padStart(2, "0")}`;
    // Sizes differ by package (so the budget has to choose), and some origins hold two packages.
    const target = Math.floor(((totalMb << 20) / count) * (0.4 + 1.2 * rand()));
    const entries: DataEntry[] = [
      { path: `usr/lib/${name}`, type: "directory", mode: 0o755, uid: 0, gid: 0 },
    ];
    let size = 0;
    for (let i = 0; size < target; i++) {
      const n = (16 << 10) + Math.floor(rand() * (512 << 10));
      const body = rand() < 0.5 ? text.subarray(0, n) : randomBytes(n);
      entries.push({
        path: `usr/lib/${name}/f${i}.bin`,
        type: "file",
        mode: 0o644,
        uid: 0,
        gid: 0,
        content: body,
      });
      size += n;
    }
    const out = path.join(dir, `${name}-1.0-r0.apk`);
    await writeApk({
      pkginfo: {
        ...emptyPkgInfo(),
        pkgname: name,
        pkgver: "1.0-r0",
        arch: "x86_64",
        origin: `origin-${p % 12}`,
        size,
        licenses: ["MIT"],
      },
      entries: [
        { path: "usr", type: "directory", mode: 0o755, uid: 0, gid: 0 },
        { path: "usr/lib", type: "directory", mode: 0o755, uid: 0, gid: 0 },
        ...entries,
      ],
      output: out,
    });
    files.push(out);
  }
  return files;
}

async function assemble(work: string, plan: InstallPlan, layered: boolean) {
  const config = validateApkoConfig(
    {
      contents: { packages: plan.packages.map((p) => p.name) },
      archs: ["x86_64"],
      ...(layered ? { layering: { strategy: "origin", budget: 10 } } : {}),
    },
    "bench.yaml",
  );
  const out = path.join(work, layered ? "oci-layered" : "oci-single");
  rmSync(out, { recursive: true, force: true });
  const t0 = process.hrtime.bigint();
  const result = await assembleImage({
    config,
    plans: [plan],
    cacheDir: path.join(work, "cache"),
    outputDir: out,
    keys: [],
    sourceDateEpoch: 0,
  });
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, platform: result.platforms[0]! };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string, dflt: number) =>
    argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) || dflt : dflt;
  const mb = flag("--mb", 200);
  const count = flag("--packages", 16);
  const rounds = flag("--rounds", 3);
  const work = mkdtempSync(path.join(os.tmpdir(), "pd-bench-layering-"));
  try {
    const plan = await installPlanOf(await makePackages(path.join(work, "repo"), mb, count), work);
    // A first assembly fills the content store: both timed variants then read the same warm cache.
    await assemble(work, plan, false);
    const single: number[] = [];
    const layered: number[] = [];
    let layers = 0;
    let bytes = 0;
    for (let r = 0; r < rounds; r++) {
      const s = await assemble(work, plan, false);
      const l = await assemble(work, plan, true);
      single.push(s.seconds);
      layered.push(l.seconds);
      layers = l.platform.layers.length;
      bytes = s.platform.uncompressedSize;
    }
    const ms = median(single);
    const ml = median(layered);
    console.log(
      `layering: ${(bytes / (1 << 20)).toFixed(0)} MiB uncompressed; single layer ${ms.toFixed(2)} s, ` +
        `${layers} layers (budget 10) ${ml.toFixed(2)} s; ratio ${(ml / ms).toFixed(3)} (target <= 1.2)`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
