/**
 * Image assembly speed: packages totalling ~200 MB installed (made here with writeApk: many files,
 * compressible text mixed with random data) assembled into a layer, against `tar --sort=name | gzip
 * -6` of the same tree, in the same run. Assembly runs in a child process so its peak RSS is its own.
 *
 *   node dist/bench/assemble.js [--mb 200] [--packages 16] [--rounds 3] [--keep DIR]
 *   node dist/bench/assemble.js --files 100000 [--packages 16] [--node-flags "--max-semi-space-size=16"]
 *
 * `--node-flags`: V8/Node flags for the assembly child, to measure what a launcher passing them
 * gives (Node 24's young generation grows to 2 x 64 MiB by default, Node 20's to 2 x 16 MiB).
 * `--files N`: memory instead of speed: an image of N small files (64 B - 2 KiB), assembled once
 * cold (empty cache) and once warm (packages already unpacked in the cache), printing the peak RSS against the goal (a 100,000-file image under 300 MB).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { writeApk } from "../provider/apk/apk-writer";
import type { DataEntry } from "../provider/apk/data-entry";
import { emptyPkgInfo } from "../provider/apk/pkginfo";
import { assembleImage } from "../provider/image/assemble";
import { validateApkoConfig } from "../provider/image/config";
import { installPlanOf, median, rng } from "./_common";

const WORDS =
  "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua config server listen port value true false null return function const export import".split(
    " ",
  );

function textCorpus(bytes: number, rand: () => number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const line = Array.from(
      { length: 4 + Math.floor(rand() * 10) },
      () => WORDS[Math.floor(rand() * WORDS.length)],
    ).join(" ");
    const withNumbers = `${line} ${Math.floor(rand() * 100000)}\n`;
    parts.push(withNumbers);
    n += withNumbers.length;
  }
  return Buffer.from(parts.join(""));
}

function fileSize(rand: () => number): number {
  const r = rand();
  // Mostly small files (configs, scripts, headers), some medium ones, a few large binaries.
  if (r < 0.9) return 256 + Math.floor(rand() * (8 << 10));
  if (r < 0.995) return (32 << 10) + Math.floor(rand() * (96 << 10));
  return (1 << 20) + Math.floor(rand() * (3 << 20));
}

async function makePackages(
  dir: string,
  totalMb: number,
  count: number,
  /** Exactly this many small files in all instead of `totalMb` of mixed sizes. */
  smallFiles?: number,
): Promise<{ files: string[]; bytes: number; entries: number }> {
  const rand = rng(42);
  const corpus = textCorpus(8 << 20, rand);
  const perPackage = Math.floor((totalMb << 20) / count);
  const files: string[] = [];
  let bytes = 0;
  let entries = 0;
  for (let p = 0; p < count; p++) {
    const name = `bench-${String(p).padStart(2, "0")}`;
    const list: DataEntry[] = [];
    const dirs = new Set<string>();
    let size = 0;
    const perPackageFiles = smallFiles === undefined ? undefined : Math.ceil(smallFiles / count);
    for (let i = 0; perPackageFiles === undefined ? size < perPackage : i < perPackageFiles; i++) {
      const d = `usr/share/${name}/d${i % 23}/s${i % 7}`;
      const n = perPackageFiles === undefined ? fileSize(rand) : 64 + Math.floor(rand() * 1984);
      // 60% text-like (compresses ~3:1), 40% random (does not compress).
      let body: Buffer;
      if (rand() < 0.6) {
        const start = Math.floor(rand() * (corpus.length - n - 1));
        body = corpus.subarray(start, start + n);
      } else body = randomBytes(n);
      list.push({ path: `${d}/f${i}.dat`, type: "file", mode: 0o644, uid: 0, gid: 0, content: body });
      for (let k = d.split("/").length; k > 0; k--) dirs.add(d.split("/").slice(0, k).join("/"));
      size += n;
    }
    for (const d of dirs) list.push({ path: d, type: "directory", mode: 0o755, uid: 0, gid: 0 });
    const out = path.join(dir, "x86_64", `${name}-1.0-r0.apk`);
    await writeApk({
      pkginfo: {
        ...emptyPkgInfo(),
        pkgname: name,
        pkgver: "1.0-r0",
        arch: "x86_64",
        origin: name,
        licenses: ["MIT"],
      },
      entries: list,
      output: out,
    });
    files.push(out);
    bytes += size;
    entries += list.length;
  }
  return { files, bytes, entries };
}

async function child(work: string, label: string): Promise<void> {
  const files = process.env.PD_BENCH_FILES
    ? (JSON.parse(process.env.PD_BENCH_FILES) as string[])
    : readdirSync(path.join(work, "repo", "x86_64")).map((f) => path.join(work, "repo", "x86_64", f));
  const plan = await installPlanOf(files, work);
  const config = validateApkoConfig(
    { contents: { packages: plan.packages.map((p) => p.name) }, archs: ["x86_64"] },
    "bench.yaml",
  );
  const out = path.join(work, `oci-${label}`);
  rmSync(out, { recursive: true, force: true });
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const stamp = (m: string) => {
    if (process.env.PD_BENCH_VERBOSE) {
      process.stderr.write(`[${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)}s] ${m}\n`);
    }
  };
  const result = await assembleImage({
    config,
    plans: [plan],
    cacheDir: path.join(work, "cache"),
    outputDir: out,
    keys: [],
    // A byte listener, as the CLI's progress bar has: the layer then needs its total up front.
    progress: { info: stamp, warn: stamp, bytes: () => {} },
    // PD_BENCH_GZIP=zlib: single-threaded zlib instead of the parallel compressor, for comparison.
    ...(process.env.PD_BENCH_GZIP === "zlib"
      ? { compressor: () => zlib.createGzip({ level: 6, memLevel: 9 }) }
      : {}),
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = process.cpuUsage(c0);
  const p = result.platforms[0]!;
  process.stdout.write(
    `${JSON.stringify({ seconds, uncompressed: p.uncompressedSize, compressed: p.size, layer: p.layerDigest, maxRssKb: process.resourceUsage().maxRSS, cpu: (used.user + used.system) / 1e6 })}\n`,
  );
}

/** `--node-flags "..."`: given to the assembly child's node. */
const nodeFlags = ((argv: string[]) => {
  const i = argv.indexOf("--node-flags");
  return i < 0 ? [] : (argv[i + 1] ?? "").split(/\s+/).filter(Boolean);
})(process.argv.slice(2));

function runChild(work: string, label: string, files: string[]) {
  const res = spawnSync(process.execPath, [...nodeFlags, __filename, "--child", work, label], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, PD_BENCH_FILES: JSON.stringify(files) },
    maxBuffer: 1 << 20,
  });
  if (res.status !== 0) throw new Error(`assembly child failed:\n${res.stderr}`);
  return JSON.parse(res.stdout.trim().split("\n").pop()!) as {
    seconds: number;
    uncompressed: number;
    compressed: number;
    layer: string;
    maxRssKb: number;
    cpu: number;
  };
}

/** CPU seconds used by waited-for children so far (cutime + cstime of /proc/self/stat). */
function childrenCpu(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  return (Number(fields[13]) + Number(fields[14])) / ticks;
}

function timeShell(script: string): { seconds: number; cpu: number } {
  const c0 = childrenCpu();
  const t0 = process.hrtime.bigint();
  const res = spawnSync("sh", ["-c", script], { stdio: ["ignore", "ignore", "inherit"] });
  if (res.status !== 0) throw new Error(`failed: ${script}`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, cpu: childrenCpu() - c0 };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") return child(argv[1]!, argv[2]!);
  const mb = Number(argv[argv.indexOf("--mb") + 1] ?? 200) || 200;
  const count = Number(argv[argv.indexOf("--packages") + 1] ?? 16) || 16;
  // --keep DIR: work in DIR and leave it (to profile one assembly: `--child DIR label`).
  const keep = argv.includes("--keep") ? argv[argv.indexOf("--keep") + 1] : undefined;
  const work = keep ?? mkdtempSync(path.join(os.tmpdir(), "pd-bench-assemble-"));
  const smallFiles = argv.includes("--files") ? Number(argv[argv.indexOf("--files") + 1]) : undefined;
  if (smallFiles !== undefined) {
    try {
      await memoryRow(work, smallFiles, count);
    } finally {
      if (!keep) rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  try {
    const MB = (n: number) => (n / (1 << 20)).toFixed(1);
    const t0 = Date.now();
    const made = await makePackages(path.join(work, "repo"), mb, count);
    console.log(
      `setup: ${count} packages, ${made.entries} entries, ${MB(made.bytes)} MiB installed (${((Date.now() - t0) / 1000).toFixed(1)} s to write)`,
    );
    // Interleaved rounds, medians reported: other work on a shared machine moves single timings.
    const rounds = Number(argv[argv.indexOf("--rounds") + 1] ?? 3) || 3;
    const colds: ReturnType<typeof runChild>[] = [];
    const warms: ReturnType<typeof runChild>[] = [];
    const baselines: { seconds: number; cpu: number }[] = [];
    const tree = path.join(work, "tree");
    for (let r = 0; r < rounds; r++) {
      rmSync(path.join(work, "cache"), { recursive: true, force: true });
      colds.push(runChild(work, "cold", made.files));
      warms.push(runChild(work, "warm", made.files));
      if (colds[r]!.layer !== warms[r]!.layer || colds[r]!.layer !== colds[0]!.layer) {
        throw new Error("builds of the same packages differ: not reproducible");
      }
      if (r === 0) {
        // The same tree on disk, for the baseline.
        mkdirSync(tree);
        const layer = path.join(work, "oci-warm", "blobs", "sha256", colds[0]!.layer.slice(7));
        if (!existsSync(layer)) throw new Error("layer blob missing");
        spawnSync("sh", ["-c", `gzip -dc '${layer}' | tar -C '${tree}' --numeric-owner -xf -`], {
          stdio: "inherit",
        });
      }
      baselines.push(
        timeShell(
          `cd '${tree}' && tar --sort=name -cf - . | gzip -6 > '${path.join(work, "baseline.tar.gz")}'`,
        ),
      );
    }
    const cold = median(colds.map((c) => c.seconds));
    const warm = median(warms.map((c) => c.seconds));
    const baseline = median(baselines.map((b) => b.seconds));
    const cpu = {
      cold: median(colds.map((c) => c.cpu)),
      warm: median(warms.map((c) => c.cpu)),
      baseline: median(baselines.map((b) => b.cpu)),
    };
    const rss = Math.max(...colds.map((c) => c.maxRssKb), ...warms.map((c) => c.maxRssKb)) / 1024;
    const bytes = colds[0]!.uncompressed;
    const rate = (s: number) => `${(bytes / (1 << 20) / s).toFixed(1)} MiB/s`;
    const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(" ");
    console.log(
      `layer: ${MB(bytes)} MiB tar -> ${MB(colds[0]!.compressed)} MiB gzip; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} CPUs`,
    );
    console.log(
      `assemble, cold cache: median ${cold.toFixed(2)} s = ${rate(cold)}   (runs: ${list(colds.map((c) => c.seconds))})`,
    );
    console.log(
      `assemble, warm cache: median ${warm.toFixed(2)} s = ${rate(warm)}   (runs: ${list(warms.map((c) => c.seconds))})`,
    );
    console.log(
      `tar --sort=name | gzip -6: median ${baseline.toFixed(2)} s = ${rate(baseline)}   (runs: ${list(baselines.map((b) => b.seconds))})`,
    );
    console.log(
      `ratio assemble/baseline: cold ${(cold / baseline).toFixed(2)}, warm ${(warm / baseline).toFixed(2)} (target <= 1.0)`,
    );
    console.log(
      `CPU seconds (all threads): cold ${cpu.cold.toFixed(2)}, warm ${cpu.warm.toFixed(2)}, tar|gzip ${cpu.baseline.toFixed(2)}`,
    );
    console.log(`peak RSS of assembly: ${rss.toFixed(0)} MiB (target < 250 MiB)`);
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

/** Peak RSS of assembling an image of `files` small files, cold and warm file store. */
async function memoryRow(work: string, files: number, count: number): Promise<void> {
  const t0 = Date.now();
  const made = await makePackages(path.join(work, "repo"), 0, count, files);
  console.log(
    `setup: ${count} packages, ${made.entries} entries (${files} files), ${(made.bytes / (1 << 20)).toFixed(1)} MiB (${((Date.now() - t0) / 1000).toFixed(1)} s to write); node ${process.version}${nodeFlags.length ? ` ${nodeFlags.join(" ")}` : ""}`,
  );
  const cold = runChild(work, "cold", made.files);
  const warm = runChild(work, "warm", made.files);
  if (cold.layer !== warm.layer) throw new Error("builds of the same packages differ: not reproducible");
  const goal = 300;
  for (const [label, r] of [
    ["cold", cold],
    ["warm", warm],
  ] as const) {
    const rss = r.maxRssKb / 1024;
    console.log(
      `${files} files, ${label} cache: ${r.seconds.toFixed(2)} s (${r.cpu.toFixed(2)} s CPU), peak RSS ${rss.toFixed(0)} MiB ` +
        `(${((r.maxRssKb * 1024) / files).toFixed(0)} B per file all told); goal < ${goal} MB: ${rss * 1.048576 < goal ? "met" : "NOT met"}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
