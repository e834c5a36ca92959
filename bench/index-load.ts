/**
 * Index loading speed: verify + gunzip + parse of the Alpine 3.16 main index (4,929 packages) and of
 * a 60,000-package index this bench generates and signs itself, each measured in its own process
 * (so peak memory is that of loading alone). Prints medians of warm runs beside the targets, a
 * breakdown by stage (to see where the time goes), and the repository loader's three paths (parse,
 * disk cache, memory). Asserts nothing.
 *
 *   npm run build && node dist/bench/index-load.js [--runs N]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { readIndexArchive, writeIndexArchive } from "../provider/apk/index-archive";
import { IndexTextParser } from "../provider/apk/index-parser";
import type { IndexEntry } from "../provider/apk/index-text";
import { generateSigningKey, Keyring, parsePrivateKey } from "../provider/apk/keys";
import { splitGzipMembers } from "../provider/archive/gzip-members";
import { readTarBuffer } from "../provider/archive/tar-reader";
import { RepositoryClient } from "../provider/repository/client";
import { clearIndexMemo } from "../provider/repository/index-loader";
import { verifyIndexSignature } from "../provider/repository/index-trust";
import { parseRepositorySource } from "../provider/repository/source";
import { PackageIndex } from "../provider/resolve/package-index";
import { median, rng, syntheticIndexEntry } from "./_common";

const FIXTURES = path.resolve(__dirname, "..", "..", "..", "shared", "fixtures");
const APK_TOOLS_MS = 39; // apk-tools loading the Alpine index (reference figure; apk-tools is not installed here)
const KEY_NAME = "bench-60k.rsa.pub";

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Median milliseconds of `runs` calls of `fn`, after two warm-up calls. */
async function timeMedian(runs: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < 2; i++) await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
}

interface LoadReport {
  label: string;
  packages: number;
  archiveBytes: number;
  baselineRssMb: number;
  peakRssMb: number;
  retainedMb: number;
  /** Heap + buffers held after a full GC, per package: the index alone, and with the resolver's maps. */
  bytesPerPackage: number;
  bytesPerPackageResolver: number;
  total: number;
  verify: number;
  gunzip: number;
  tar: number;
  parse: number;
  loaderParse: number;
  loaderDisk: number;
  loaderMemory: number;
}

/** Child process: measure one index file. */
async function measure(
  label: string,
  file: string,
  keyFiles: string[],
  arch: string,
  runs: number,
): Promise<void> {
  const data = await fsp.readFile(file);
  const keyring = await Keyring.fromPaths(keyFiles);
  let packages = 0;
  const total = await timeMedian(runs, async () => {
    packages = (await readIndexArchive(data, { keyring, subject: label })).index.count;
  });
  const verify = await timeMedian(runs, () => verifyIndexSignature(data, keyring, label));
  const members = splitGzipMembers(data, { maxInflated: 512 << 20 });
  const gunzip = await timeMedian(runs, () => splitGzipMembers(data, { maxInflated: 512 << 20 }));
  const content = members[members.length - 1]!.inflated;
  let text: Buffer = Buffer.alloc(0);
  const tar = await timeMedian(runs, async () => {
    for (const e of await readTarBuffer(content, { maxEntryBytes: 512 << 20 })) {
      if (e.header.name === "APKINDEX") text = e.data;
    }
  });
  // The parser keeps the text's bytes (the index points into them): one copy, then line offsets.
  const parse = await timeMedian(runs, () => {
    const parser = new IndexTextParser(label, text.length);
    parser.push(text);
    return parser.finish();
  });

  // The repository loader on a local directory: parse (cold), disk cache (new process), memory.
  const repo = mkdtempSync(path.join(os.tmpdir(), "pd-bench-repo-"));
  await fsp.mkdir(path.join(repo, arch));
  await fsp.copyFile(file, path.join(repo, arch, "APKINDEX.tar.gz"));
  const source = parseRepositorySource(repo);
  const caches: string[] = [];
  // Timed up to the moment the entries are returned; the parsed-cache write that follows runs in
  // the background and is awaited (untimed) before the next round.
  const parseTimes: number[] = [];
  for (let i = 0; i < Math.min(runs, 7) + 1; i++) {
    clearIndexMemo();
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), "pd-bench-cache-"));
    caches.push(cacheDir);
    const c = new RepositoryClient({ cacheDir, keyring });
    const t = process.hrtime.bigint();
    await c.loadIndex(source, arch);
    if (i > 0) parseTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
    await c.flush();
  }
  const loaderParse = median(parseTimes);
  const warm = caches[0]!;
  const loaderDisk = await timeMedian(Math.min(runs, 7), async () => {
    clearIndexMemo();
    await new RepositoryClient({ cacheDir: warm, keyring }).loadIndex(source, arch);
  });
  const client = new RepositoryClient({ cacheDir: warm, keyring });
  const loaderMemory = await timeMedian(runs, () => client.loadIndex(source, arch));
  for (const d of [repo, ...caches]) rmSync(d, { recursive: true, force: true });

  const report: LoadReport = {
    label,
    packages,
    archiveBytes: data.length,
    baselineRssMb: 0,
    peakRssMb: 0,
    retainedMb: 0,
    bytesPerPackage: 0,
    bytesPerPackageResolver: 0,
    total,
    verify,
    gunzip,
    tar,
    parse,
    loaderParse,
    loaderDisk,
    loaderMemory,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/**
 * Child process: one load and nothing else, so the process's peak RSS is what loading costs (node's
 * own baseline included, and reported beside it). Then what stays: heap and buffers after a full GC,
 * per package, for the loaded index alone and with the resolver's package maps built over it.
 */
async function peak(file: string, keyFiles: string[]): Promise<void> {
  const keyring = await Keyring.fromPaths(keyFiles);
  const gc = (globalThis as { gc?: () => void }).gc!;
  // Buffers are freed after the GC that finds them dead; a second GC after a turn counts them out.
  const held = async () => {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const baseline = process.memoryUsage().rss;
  const before = await held();
  const data = await fsp.readFile(file);
  const index = await readIndexArchive(data, { keyring });
  const packages = index.index.count;
  const retained = (await held()) - before - data.length; // the archive's own bytes are the caller's
  const resolver = new PackageIndex("x86_64", [
    { repo: { location: "bench", order: 0 }, index: index.index },
  ]);
  const withResolver = (await held()) - before - data.length;
  process.stdout.write(
    `${JSON.stringify({
      packages,
      baselineRssMb: baseline / 2 ** 20,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      retainedMb: retained / 2 ** 20,
      bytesPerPackage: retained / packages,
      bytesPerPackageResolver: withResolver / packages,
      resolverNames: resolver.size,
    })}\n`,
  );
}

/** Child process: 60,000 realistic records (deps, so:/cmd: provides, descriptions), signed. */
async function generate(dir: string): Promise<void> {
  const rand = rng(42); // seeded: every run generates the same index
  const entries: IndexEntry[] = [];
  for (let i = 0; i < 60_000; i++) {
    const e = syntheticIndexEntry(i, rand);
    const base = e.origin;
    const ndeps = 2 + Math.floor(rand() * 4);
    for (let d = 0; d < ndeps; d++) {
      const j = Math.floor(rand() * Math.max(1, i / 3));
      e.depends.push(d % 2 === 0 ? `so:libpkg${j}.so.1` : `pkg${j}`);
    }
    if (i % 3 === 2) e.installIf.push(`${base}=${e.version}`, "docs");
    entries.push(e);
  }
  const pair = await generateSigningKey(2048);
  await fsp.writeFile(path.join(dir, KEY_NAME), pair.publicKeyPem);
  const archive = writeIndexArchive(entries, { signingKey: parsePrivateKey(pair.privateKeyPem, KEY_NAME) });
  await fsp.writeFile(path.join(dir, "APKINDEX.tar.gz"), archive);
}

function child(args: string[]): string {
  const r = spawnSync(process.execPath, ["--expose-gc", __filename, ...args], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`bench child ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

function row(name: string, value: string, target = "", note = ""): string {
  return `  ${name.padEnd(58)} ${value.padStart(10)}  ${target.padEnd(12)} ${note}`;
}

function print(r: LoadReport, targetMs: number, withApkTools: boolean): void {
  const ok = (v: number, t: number) => (v <= t ? "ok" : "OVER");
  console.log(`\n${r.label}: ${r.packages} packages, ${(r.archiveBytes / 2 ** 20).toFixed(1)} MiB archive`);
  console.log(
    row(
      "load (verify + gunzip + parse), median",
      `${r.total.toFixed(1)} ms`,
      `< ${targetMs} ms`,
      ok(r.total, targetMs),
    ),
  );
  if (withApkTools) console.log(row("apk-tools, for scale (reference figure)", `${APK_TOOLS_MS} ms`));
  console.log(row("  signature check (SHA over content + RSA)", `${r.verify.toFixed(1)} ms`));
  console.log(row("  gunzip (split members + inflate)", `${r.gunzip.toFixed(1)} ms`));
  console.log(row("  tar read", `${r.tar.toFixed(1)} ms`));
  console.log(row("  APKINDEX text parse", `${r.parse.toFixed(1)} ms`));
  console.log(
    row(
      "peak RSS of a process loading it once",
      `${r.peakRssMb.toFixed(0)} MB`,
      "< 150 MB",
      `${ok(r.peakRssMb, 150)} (node's own baseline ${r.baselineRssMb.toFixed(0)} MB; ${r.retainedMb.toFixed(0)} MB heap + buffers held after)`,
    ),
  );
  console.log(
    row(
      "held after GC per package (heap + buffers), index alone",
      `${r.bytesPerPackage.toFixed(0)} B`,
      "<= 1536 B",
      ok(r.bytesPerPackage, 1536),
    ),
  );
  console.log(
    row(
      "  ... with the resolver's package maps over it",
      `${r.bytesPerPackageResolver.toFixed(0)} B`,
      "<= 1536 B",
      ok(r.bytesPerPackageResolver, 1536),
    ),
  );
  console.log(
    row("repository loader: first load (read, hash, verify, parse)", `${r.loaderParse.toFixed(1)} ms`),
  );
  console.log(row("repository loader: disk cache (new process)", `${r.loaderDisk.toFixed(1)} ms`));
  console.log(row("repository loader: in-process memo", `${r.loaderMemory.toFixed(2)} ms`));
}

async function orchestrate(): Promise<void> {
  const runs = argValue("--runs", 15);
  const alpineFile = path.join(FIXTURES, "alpine-v3.16-main-aarch64", "APKINDEX.tar.gz");
  const alpineKeys = path.join(FIXTURES, "alpine-keys");
  const alpine = {
    ...(JSON.parse(
      child(["measure", "Alpine 3.16 main", alpineFile, alpineKeys, "x86_64", String(runs)]),
    ) as LoadReport),
    ...(JSON.parse(child(["peak", alpineFile, alpineKeys])) as Partial<LoadReport>),
  };
  print(alpine, 20, true);

  const dir = mkdtempSync(path.join(os.tmpdir(), "pd-bench-60k-"));
  try {
    const t = process.hrtime.bigint();
    child(["generate", dir]);
    console.log(
      `\n(generated and signed the 60,000-package index in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s)`,
    );
    const bigFile = path.join(dir, "APKINDEX.tar.gz");
    const bigKey = path.join(dir, KEY_NAME);
    const big = {
      ...(JSON.parse(
        child([
          "measure",
          "generated 60k",
          bigFile,
          bigKey,
          "x86_64",
          String(Math.max(5, Math.floor(runs / 2))),
        ]),
      ) as LoadReport),
      ...(JSON.parse(child(["peak", bigFile, bigKey])) as Partial<LoadReport>),
    };
    print(big, 250, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [mode, ...rest] = process.argv.slice(2);
const main =
  mode === "measure"
    ? measure(rest[0]!, rest[1]!, [rest[2]!], rest[3]!, Number(rest[4]))
    : mode === "peak"
      ? peak(rest[0]!, [rest[1]!])
      : mode === "generate"
        ? generate(rest[0]!)
        : orchestrate();
main.catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
