/**
 * Solver speed: a 60-package world against the Alpine 3.16 main index, already loaded (the index
 * and its per-arch package maps are built once and reused, as the provider reuses them). Prints the
 * median of warm resolves beside the target, plus the one-time map build and the first resolve.
 *
 *   npm run build && node dist/bench/resolve.js [--runs N]
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { readIndexArchive } from "../provider/apk/index-archive";
import { Keyring } from "../provider/apk/keys";
import { packageIndexFor } from "../provider/resolve/package-index";
import { solve } from "../provider/resolve/solver";
import { median } from "./_common";

const FIXTURES = path.resolve(__dirname, "..", "..", "..", "shared", "fixtures");
const TARGET_MS = 5;

/** 60 names from Alpine 3.16 main: servers, runtimes, libraries and tools, with their deep trees. */
const WORLD = [
  "alpine-base", "busybox", "openssl", "curl", "python3", "git", "bash", "openssh", "nginx", "postgresql14",
  "redis", "nodejs", "ca-certificates", "tzdata", "sqlite", "make", "gcc", "musl-dev", "perl", "vim",
  "jq", "tar", "gzip", "xz", "zstd", "lz4", "rsync", "socat", "su-exec", "coreutils",
  "findutils", "grep", "sed", "gawk", "diffutils", "less", "procps", "util-linux", "iproute2", "iptables",
  "bind-tools", "wget", "libffi", "zlib", "libxml2", "libxslt", "icu-libs", "lua5.3", "ruby", "py3-setuptools",
  "apk-tools", "libcurl", "pcre2", "expat", "gettext", "libgcc", "libstdc++", "file", "patch", "ncurses",
]; // biome-ignore format: a table reads better

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function ms(t: bigint): number {
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function run(): Promise<void> {
  const runs = argValue("--runs", 200);
  const data = await fsp.readFile(path.join(FIXTURES, "alpine-v3.16-main-aarch64", "APKINDEX.tar.gz"));
  const keyring = await Keyring.fromPaths([path.join(FIXTURES, "alpine-keys")]);
  const index = await readIndexArchive(data, { keyring });
  const sources = [{ repo: { location: "alpine-v3.16-main", order: 0 }, entries: index.entries }];

  let t = process.hrtime.bigint();
  const packages = packageIndexFor("x86_64", sources);
  const buildMs = ms(t);
  t = process.hrtime.bigint();
  let solution = solve(packages, WORLD);
  const firstMs = ms(t);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    t = process.hrtime.bigint();
    solution = solve(packageIndexFor("x86_64", sources), WORLD);
    times.push(ms(t));
  }
  times.sort((a, b) => a - b);
  const mid = median(times);
  const p95 = times[Math.floor(times.length * 0.95)]!;
  const row = (name: string, value: string, note = "") =>
    console.log(`  ${name.padEnd(46)} ${value.padStart(10)}  ${note}`);
  console.log(
    `world of ${WORLD.length} packages -> ${solution.packages.length} installed (x86_64, ${index.entries.length}-package index)`,
  );
  row(
    "resolve, median of warm runs",
    `${mid.toFixed(2)} ms`,
    `target < ${TARGET_MS} ms: ${mid < TARGET_MS ? "ok" : "OVER"}`,
  );
  row("resolve, p95 / fastest", `${p95.toFixed(2)} / ${times[0]!.toFixed(2)} ms`);
  row("first resolve (lazy dependency parsing)", `${firstMs.toFixed(2)} ms`);
  row("package maps, built once per index set", `${buildMs.toFixed(1)} ms`);
}

run().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
