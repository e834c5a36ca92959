import * as path from "node:path";

/**
 * Whether this process was started as the command line: by the bin (launch.js, which runs the
 * bundled CLI) or by main.js run directly. Process-wide settings (V8 flags, Node's compile cache)
 * are made only then, never for a program that imports the CLI's functions (tests, the SDK).
 *
 * In the bundle, `__dirname` is still this file's compiled folder (scripts/build-cli.mjs keeps it).
 */
export function isCommandLineEntry(): boolean {
  const entry = require.main?.filename;
  return entry === path.join(__dirname, "main.js") || entry === path.join(__dirname, "launch.js");
}
