#!/usr/bin/env node
// Runs every compiled bench (dist/bench/*.js), one after another, printing their figures.
// Usage: node scripts/run-bench.mjs [substring ...]   (after `npm run build`)
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const filters = process.argv.slice(2);
const dir = join(root, "dist", "bench");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".js") && !f.startsWith("_"))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n=== bench/${f.replace(/\.js$/, ".ts")} ===`);
  const r = spawnSync(process.execPath, ["--expose-gc", join(dir, f)], { stdio: "inherit", cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
