#!/usr/bin/env node
/**
 * The `pulumi-distroless` bin. It runs the bundled command line (bundle/cli.js, made by
 * scripts/build-cli.mjs from main.js) with a V8 code cache kept per command (code-cache.ts): one
 * file to read instead of ~150 modules to resolve, read and compile. A build without the bundle
 * (tsc alone) runs main.js, the same CLI from its own files.
 */
// First: V8 flags must be those the code cache was made under, or V8 rejects it (wasm-tiering.ts).
import "./wasm-tiering";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { loadWithCodeCache } from "./code-cache";

type Cli = typeof import("./main");

const bundle = path.join(__dirname, "bundle", "cli.js");
/**
 * Under `--enable-source-maps` or a debugger the bundle loads through require(), where Node maps
 * stack traces and breakpoints to the TypeScript sources (bundle/cli.js.map); no code cache then.
 */
const debugging =
  process.sourceMapsEnabled === true || process.execArgv.some((a) => a.startsWith("--inspect"));
let cli: Cli;
if (!existsSync(bundle)) {
  cli = require("./main") as Cli;
} else if (debugging) {
  cli = require(bundle) as Cli;
} else {
  const loaded = loadWithCodeCache<Cli>(bundle, process.argv[2] ?? "", process.env);
  // At exit, once the command ran: the cache then holds the functions it called.
  process.once("exit", () => loaded.save());
  cli = loaded.exports;
}
cli.runFromCommandLine();
