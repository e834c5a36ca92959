/**
 * Side by side with the real apko (issue #16's "Side by side"), both as processes, both offline,
 * runs alternated (apko, ours, apko, ours...) so load on the machine hits both alike; prints the
 * medians and ours/apko beside the goal (<= 1.0). Asserts nothing.
 *
 *   (a) assemble: `apko build` vs `pulumi-distroless build` of the same config over the same signed
 *       local repository (the conformance packages plus bulk packages, ~40 MB installed), warm caches;
 *   (b) index load + resolve: `apko lock` vs `pulumi-distroless lock` of a 40-package world against
 *       a generated, signed 150,000-package index (the world's closure are real apks, since apko
 *       lock reads each chosen apk's segments; the rest are index records only).
 *
 *   npm run build && node dist/bench/vs-apko.js [--runs N] [--mb 40] [--only assemble|lock] [--keep DIR]
 *
 * `--keep DIR` works in DIR and leaves it, so one side can be profiled by hand afterwards (the
 * commands are printed).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { readApkHead } from "../provider/apk/apk-reader";
import { writeApk } from "../provider/apk/apk-writer";
import { writeIndexArchive } from "../provider/apk/index-archive";
import { indexEntryFromApk } from "../provider/apk/index-entry";
import type { IndexEntry } from "../provider/apk/index-text";
import { conformancePackages } from "../test/conformance/generate/packages";
import {
  dir,
  file,
  pkgInfo,
  type TestPackage,
  testKey,
  withParents,
  writeRepo,
} from "../test/image/image-helpers";
import { median, rng, syntheticIndexEntry } from "./_common";

const ROOT = path.resolve(__dirname, "..", "..");
const APKO = path.join(ROOT, ".cache", "tools", "bin", "apko");
/**
 * The package's bin, run as a user runs it (its sh header, the bundle and its code cache).
 * PD_BENCH_CLI=.../dist/provider/cli/launch.js (or main.js) times another build (a "before" figure).
 */
const CLI = process.env.PD_BENCH_CLI ?? path.join(ROOT, "dist", "provider", "cli", "launch.js");
/** A .js file that is not the bin runs under this node; the bin runs itself. */
const cliCommand = (args: string[]): [string, string[]] =>
  CLI.endsWith("launch.js") ? [CLI, args] : [process.execPath, [CLI, ...args]];
const EPOCH = "1700000000";

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Timing {
  wall: number;
  /** user + sys of the process (through /usr/bin/time): steadier than wall time on a busy machine. */
  cpu: number;
}

/** One process run, timed; throws with its stderr when it fails. */
function timed(cmd: string, args: string[], cwd: string): Timing {
  const t = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "cpu %U %S", cmd, ...args], {
    cwd,
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH },
  });
  const wall = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(" ")} failed: ${r.stderr}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : Number.NaN };
}

interface SideBySide {
  apko: Timing;
  ours: Timing;
}

/** Alternating runs after one warm-up each; medians of both. */
function sideBySide(runs: number, apko: () => Timing, ours: () => Timing): SideBySide {
  apko();
  ours();
  const a: Timing[] = [];
  const o: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(apko());
    o.push(ours());
  }
  const med = (ts: Timing[]) => ({ wall: median(ts.map((t) => t.wall)), cpu: median(ts.map((t) => t.cpu)) });
  return { apko: med(a), ours: med(o) };
}

function report(label: string, r: SideBySide): void {
  const ratio = r.ours.wall / r.apko.wall;
  console.log(
    `${label.padEnd(36)} wall: ours ${r.ours.wall.toFixed(0).padStart(6)} ms  apko ${r.apko.wall.toFixed(0).padStart(6)} ms  ` +
      `ratio ${ratio.toFixed(2)} (goal <= 1.0${ratio <= 1 ? ", met" : ", NOT met"});  ` +
      `cpu: ours ${r.ours.cpu.toFixed(0)} ms  apko ${r.apko.cpu.toFixed(0)} ms  ratio ${(r.ours.cpu / r.apko.cpu).toFixed(2)}`,
  );
}

/** Bulk packages: text and random data in many files, so assembly has real bytes to move. */
function bulkPackages(mb: number): TestPackage[] {
  const rand = rng(7);
  const out: TestPackage[] = [];
  const perPackage = 2 << 20;
  for (let p = 0; p * perPackage < mb << 20; p++) {
    const entries = [dir(`usr/share/bulk${p}`)];
    for (let f = 0, n = 0; n < perPackage; f++) {
      const size = 1024 + Math.floor(rand() * (64 << 10));
      const body =
        f % 2 ? randomBytes(size) : Buffer.from("config value line\n".repeat(Math.ceil(size / 18)));
      entries.push(file(`usr/share/bulk${p}/f${f}`, body));
      n += body.length;
    }
    out.push({ info: pkgInfo(`bulk${p}`, "1.0-r0", "x86_64"), entries: withParents(entries) });
  }
  return out;
}

async function assembleBench(work: string, runs: number, mb: number): Promise<void> {
  const key = await testKey("bench-vs-apko.rsa");
  const bulk = bulkPackages(mb);
  const pub = await writeRepo(
    path.join(work, "repo"),
    "x86_64",
    [...conformancePackages("x86_64"), ...bulk],
    key,
  );
  const packages = [
    "conf-baselayout",
    "conf-modes",
    "conf-links",
    "conf-app",
    "conf-multi",
    ...bulk.map((b) => b.info.pkgname),
  ];
  const config = path.join(work, "apko.yaml");
  writeFileSync(
    config,
    `contents:\n  keyring: [${pub}]\n  repositories: [${path.join(work, "repo")}]\n  packages: [${packages.join(", ")}]\n` +
      "archs: [x86_64]\nentrypoint:\n  command: /usr/bin/conf-app\n",
  );
  const r = sideBySide(
    runs,
    () =>
      timed(
        APKO,
        [
          "build",
          "--offline",
          "--vcs=false",
          "--sbom=false",
          "--cache-dir",
          path.join(work, "apko-cache"),
          config,
          "bench:latest",
          path.join(work, "apko.tar"),
        ],
        work,
      ),
    () =>
      timed(
        ...cliCommand([
          "build",
          config,
          "--offline",
          "--cache-dir",
          path.join(work, "cache"),
          "--output",
          path.join(work, "oci"),
        ]),
        work,
      ),
  );
  report(`(a) assemble (${bulk.length + 5} pkgs, ~${mb} MB)`, r);
}

/** 150,000 index records: the world's closure as real apks, the rest generated records. */
async function lockBench(work: string, runs: number): Promise<void> {
  const key = await testKey("bench-150k.rsa");
  const archDir = path.join(work, "big", "x86_64");
  await fsp.mkdir(archDir, { recursive: true });
  const entries: IndexEntry[] = [];
  const world: string[] = [];
  for (let i = 0; i < 40; i++) {
    const name = `real${i}`;
    const depends = i > 0 ? [`so:libreal${Math.floor(i / 2)}.so.1`] : [];
    if (i > 2) depends.push(`real${i - 3}`);
    const info = pkgInfo(name, "1.0-r0", "x86_64", { depends, provides: [`so:libreal${i}.so.1=1`] });
    const out = path.join(archDir, `${name}-1.0-r0.apk`);
    await writeApk({
      pkginfo: info,
      entries: withParents([file(`usr/lib/libreal${i}.so.1`, name)]),
      output: out,
      signingKey: key,
    });
    entries.push(indexEntryFromApk(await readApkHead(out)));
    world.push(name);
  }
  const rand = rng(42);
  for (let i = 0; entries.length < 150_000; i++) {
    const e = syntheticIndexEntry(i, rand);
    for (let d = 0; d < 3; d++) e.depends.push(`so:libpkg${Math.floor(rand() * Math.max(1, i / 3))}.so.1`);
    entries.push(e);
  }
  await fsp.writeFile(path.join(archDir, "APKINDEX.tar.gz"), writeIndexArchive(entries, { signingKey: key }));
  const pub = path.join(work, key.keyName);
  await fsp.writeFile(pub, key.publicKeyPem);
  const config = path.join(work, "big.yaml");
  writeFileSync(
    config,
    `contents:\n  keyring: [${pub}]\n  repositories: [${path.join(work, "big")}]\n  packages: [${world.join(", ")}]\narchs: [x86_64]\n`,
  );
  const apkoLock = () =>
    timed(
      APKO,
      [
        "lock",
        "--cache-dir",
        path.join(work, "apko-cache"),
        config,
        "--output",
        path.join(work, "apko.lock.json"),
      ],
      work,
    );
  const cache = path.join(work, "cache-big");
  const oursLock = () => timed(...cliCommand(["lock", config, "--offline", "--cache-dir", cache]), work);
  // Fresh: our parsed-index cache removed before each run (the index is verified, parsed and cached,
  // as on a first run); warm: it is kept (apko keeps no parsed index, so its runs are the same).
  report(
    "(b) index load + resolve (150,000), fresh",
    sideBySide(runs, apkoLock, () => {
      rmSync(cache, { recursive: true, force: true });
      return oursLock();
    }),
  );
  report("(b) index load + resolve (150,000), warm", sideBySide(runs, apkoLock, oursLock));
}

async function main(): Promise<void> {
  const runs = argValue("--runs", 5);
  const mb = argValue("--mb", 40);
  const haveApko = spawnSync(APKO, ["version"]).status === 0;
  if (!haveApko) {
    console.log(`skipped: ${APKO} is not built (scripts/tools.sh apko)`);
    return;
  }
  const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
  const keep = process.argv.includes("--keep") ? process.argv[process.argv.indexOf("--keep") + 1] : undefined;
  const work = keep ? path.resolve(keep) : mkdtempSync(path.join(os.tmpdir(), "pd-bench-vs-apko-"));
  if (keep) mkdirSync(work, { recursive: true });
  try {
    console.log(`vs apko: medians of ${runs} alternated runs each (processes, offline, warm caches)`);
    if (only !== "lock") await assembleBench(work, runs, mb);
    if (only !== "assemble") await lockBench(work, runs);
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
