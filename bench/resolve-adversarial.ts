/**
 * The complete solver on indexes built to force backtracking, 10,000 packages each. Target: each
 * resolves, or reports that the search gave up, in under a second (DEFAULT_SEARCH_STEPS bounds it).
 *
 *   npm run build && node dist/bench/resolve-adversarial.js
 */
import { emptyIndexEntry, type IndexEntry } from "../provider/apk/index-text";
import { ResolveError } from "../provider/resolve/explain";
import { PackageIndex } from "../provider/resolve/package-index";
import { solve } from "../provider/resolve/solver";
import { q1Encode, sha1 } from "../provider/util/hash";

const TARGET_MS = 1000;

function pkg(name: string, version: string, depends: string[] = []): IndexEntry {
  const e = emptyIndexEntry();
  e.name = name;
  e.version = version;
  e.arch = "x86_64";
  e.checksum = q1Encode(sha1(`${name}-${version}`));
  e.size = 1;
  e.installedSize = 1;
  e.origin = name;
  e.depends = depends;
  return e;
}

/** A chain p1 -> p2 -> ... -> p1000, 10 versions each; only the oldest version of the last one installs. */
function deepChain(): { entries: IndexEntry[]; world: string[] } {
  const entries: IndexEntry[] = [];
  const levels = 1000;
  for (let i = 1; i <= levels; i++) {
    for (let v = 1; v <= 10; v++) {
      const deps = i < levels ? [`p${i + 1}`] : v === 1 ? [] : ["absent>=1"];
      entries.push(pkg(`p${i}`, `${v}.0-r0`, deps));
    }
  }
  return { entries, world: ["p1"] };
}

/**
 * 1,000 names with 10 versions each, every version needing `base` at its own version, and a last
 * name that needs a base no other name allows: no solution among 10^1000 combinations.
 */
function noSolution(): { entries: IndexEntry[]; world: string[] } {
  const entries: IndexEntry[] = [];
  const names = 999;
  for (let i = 1; i <= names; i++) {
    for (let v = 1; v <= 10; v++) entries.push(pkg(`c${i}`, `${v}.0-r0`, [`base=${v}.0-r0`]));
  }
  for (let v = 1; v <= 10; v++) entries.push(pkg("base", `${v}.0-r0`));
  entries.push(pkg("last", "1.0-r0", ["base=11.0-r0"]));
  return { entries, world: [...Array.from({ length: names }, (_, i) => `c${i + 1}`), "last"] };
}

/** Versions that pair up only one way: a-v needs b-v, the world asks for a and b<=3 (a falls to 3). */
function pairing(): { entries: IndexEntry[]; world: string[] } {
  const entries: IndexEntry[] = [];
  for (let i = 1; i <= 500; i++) {
    for (let v = 1; v <= 10; v++) {
      entries.push(pkg(`a${i}`, `${v}.0-r0`, [`b${i}=${v}.0-r0`]));
      entries.push(pkg(`b${i}`, `${v}.0-r0`));
    }
  }
  const world: string[] = [];
  for (let i = 1; i <= 500; i++) world.push(`a${i}`, `b${i}<=3`);
  return { entries, world };
}

function measure(name: string, make: () => { entries: IndexEntry[]; world: string[] }): void {
  const { entries, world } = make();
  const index = new PackageIndex("x86_64", [{ repo: { location: "generated", order: 0 }, entries }]);
  const t = process.hrtime.bigint();
  let outcome: string;
  try {
    outcome = `resolved, ${solve(index, world).packages.length} installed`;
  } catch (err) {
    if (!(err instanceof ResolveError)) throw err;
    outcome = err.kind === "exhausted" ? "search gave up (as expected)" : `no solution (${err.kind})`;
  }
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(
    `  ${name.padEnd(40)} ${entries.length} pkgs  ${ms.toFixed(0).padStart(6)} ms  ${outcome}; target < ${TARGET_MS} ms: ${ms < TARGET_MS ? "ok" : "OVER"}`,
  );
}

measure("deep chain, last level backtracks", deepChain);
measure("no solution, 10^1000 combinations", noSolution);
measure("pairing through pruning", pairing);
