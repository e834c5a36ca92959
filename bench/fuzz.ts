/**
 * Fuzzes the apk and APKINDEX readers with many more mutants than the suite runs (see
 * test/hostile/fuzz-corpus.ts): `node dist/bench/fuzz.js [seed] [cases]`. Prints the count per
 * outcome; any `bug:*` outcome is listed with its mutation and makes the exit status 1.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeCorpus, runFuzz } from "../test/hostile/fuzz-corpus";
import { testKey } from "../test/image/image-helpers";

async function main(): Promise<number> {
  const seed = Number(process.argv[2] ?? Date.now() % 2 ** 31);
  const cases = Number(process.argv[3] ?? 2000);
  const dir = mkdtempSync(path.join(os.tmpdir(), "pd-fuzz-bench-"));
  try {
    const corpus = await makeCorpus(dir, await testKey("fuzz.rsa"));
    const started = performance.now();
    const results = await runFuzz(corpus, seed, cases);
    const seconds = (performance.now() - started) / 1000;
    const counts = new Map<string, number>();
    for (const r of results) {
      const key = r.outcome === "refused" ? `refused ${r.detail}` : r.outcome;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    console.log(
      `seed ${seed}: ${cases} apk + ${cases} index mutants, ${results.length} reads in ${seconds.toFixed(1)} s`,
    );
    for (const [k, n] of [...counts].sort()) console.log(`  ${k.padEnd(28)} ${n}`);
    const bugs = results.filter((r) => r.outcome.startsWith("bug:"));
    for (const b of bugs.slice(0, 20)) console.log(`BUG ${b.outcome} after ${b.mutation}\n  ${b.detail}`);
    return bugs.length === 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
