#!/usr/bin/env node
// Runs the compiled test files (dist/test/**/*.test.js) with node:test.
// Usage: node scripts/run-tests.mjs [--node PATH] [substring ...]
// Node 20's `--test` takes no globs, so the files are listed here.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const args = process.argv.slice(2);
let nodeBin = process.execPath;
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--node") nodeBin = args[++i];
  else filters.push(args[i]);
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const files = walk(join(root, "dist", "test")).filter(
  (f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)),
);
if (files.length === 0) {
  console.error("run-tests: no test files matched");
  process.exit(1);
}
const version = spawnSync(nodeBin, ["--version"], { encoding: "utf8" }).stdout.trim();
console.error(`run-tests: ${files.length} files on node ${version}`);
const res = spawnSync(
  nodeBin,
  ["--test", "--test-concurrency=2", "--test-reporter=spec", "--test-timeout=900000", ...files],
  { stdio: "inherit", cwd: root, env: { ...process.env, NODE_ENV: "test" } },
);
process.exit(res.status ?? 1);
