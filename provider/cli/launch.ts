#!/usr/bin/env node
/**
 * The `pulumi-distroless` bin. It runs the bundled command line (bundle/cli.js, made by
 * scripts/build-cli.mjs from main.js) with a V8 code cache kept per command (code-cache.ts): one
 * file to read instead of ~150 modules to resolve, read and compile. A build without the bundle
 * (tsc alone) runs main.js, the same CLI from its own files.
 *
 * The built file starts as a shell script (scripts/build-cli.mjs writes its first two lines): sh
 * moves NODE_EXTRA_CA_CERTS aside, so node starts without building its CA store, and execs node on
 * this same file. Here the variable is put back for the processes a command starts, and the CLI
 * loads the file at its first TLS connection (util/extra-ca-certs.ts).
 */
// First: V8 flags must be those the code cache was made under, or V8 rejects it (wasm-tiering.ts).
import "./wasm-tiering";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { loadWithCodeCache } from "./code-cache";

type Cli = typeof import("./main");

const DEFERRED_CA = "PD_DEFERRED_EXTRA_CA_CERTS";
const deferredCaFile = process.env[DEFERRED_CA];
if (deferredCaFile !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = deferredCaFile;
  delete process.env[DEFERRED_CA];
}

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
if (deferredCaFile) cli.deferExtraCaCertificates(deferredCaFile);
cli.runFromCommandLine();
