#!/usr/bin/env node
// First, so the modules below load from the compile cache (see compile-cache.ts).
import "./compile-cache";
import { statSync } from "node:fs";
import * as path from "node:path";
import { DistrolessError, errorMessage } from "../util/errors";
import { beforeHttpClientLoads } from "../util/undici-lean";
import { cliProgress } from "./byte-progress";
import { type CliContext, type Verb, verbHelp } from "./command";
import { isCommandLineEntry } from "./entry";
// Before undici can compile its HTTP parser (see wasm-tiering.ts).
import { keepWasmOnLiftoff, tiersUpEarly } from "./wasm-tiering";

// V8 >= 12: Liftoff only from the first HTTP client on, in commands that make requests.
if (isCommandLineEntry() && !tiersUpEarly()) beforeHttpClientLoads(() => keepWasmOnLiftoff());

// For the bin (launch.ts), which reaches this module inside the bundle only through its exports.
export { deferExtraCaCertificates } from "../util/extra-ca-certs";

/*
 * Verbs load lazily so `pulumi-distroless verify` does not pay for the registry client or the
 * builder. Each verb lives in verbs/<name>.ts and exports `verb`.
 */
const verbs: Record<string, () => Verb> = {
  keygen: () => require("./verbs/keygen").verb,
  verify: () => require("./verbs/verify").verb,
  index: () => require("./verbs/index-verb").verb,
  inspect: () => require("./verbs/inspect").verb,
  lock: () => require("./verbs/lock").verb,
  build: () => require("./verbs/build").verb,
  push: () => require("./verbs/push").verb,
  package: () => require("./verbs/package").verb,
  compile: () => require("./verbs/compile").verb,
  test: () => require("./verbs/test").verb,
  publish: () => require("./verbs/publish").verb,
  sign: () => require("./verbs/sign").verb,
  demo: () => require("./verbs/demo").verb,
  apko: () => require("./compat/apko").verb,
  melange: () => require("./compat/melange").verb,
};

function loadVerb(name: string): Verb | undefined {
  const load = verbs[name];
  if (!load) return undefined;
  try {
    return load();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") return undefined;
    throw err;
  }
}

function help(ctx: CliContext, name?: string, argv: string[] = []): number {
  if (name) {
    const verb = loadVerb(name);
    if (!verb) {
      ctx.stderr(`pulumi-distroless: unknown command "${name}"\n`);
      return 2;
    }
    ctx.stdout(verb.help ? verb.help(argv) : verbHelp(verb));
    return 0;
  }
  const lines = ["usage: pulumi-distroless <command> [options]", "", "commands:"];
  for (const n of Object.keys(verbs)) {
    const verb = loadVerb(n);
    if (verb) lines.push(`  ${n.padEnd(9)} ${verb.summary}`);
  }
  ctx.stdout(`${lines.join("\n")}\n`);
  return 0;
}

export async function main(argv: string[], ctx?: Partial<CliContext>): Promise<number> {
  const stderr = ctx?.stderr ?? ((t: string) => void process.stderr.write(t));
  const env = ctx?.env ?? process.env;
  // Progress on stderr: a live bar on a terminal, plain lines in a pipe or a log.
  const bar = ctx?.progress
    ? undefined
    : cliProgress(stderr, {
        tty: ctx?.stderr === undefined && process.stderr.isTTY === true && env.TERM !== "dumb",
        // A pseudo-terminal without a window size says 0 columns.
        columns: process.stderr.columns || Number(env.COLUMNS) || 80,
      });
  const full: CliContext = {
    argv: argv.slice(1),
    // Output on stdout erases the bar first, for when both go to the same terminal.
    stdout:
      ctx?.stdout ??
      ((t: string) => {
        bar?.erase();
        process.stdout.write(t);
      }),
    stderr,
    progress: ctx?.progress ?? bar!,
    cwd: ctx?.cwd ?? process.cwd(),
    env,
  };
  const name = argv[0];
  if (name === "--version" || name === "-V" || name === "version") {
    full.stdout(`pulumi-distroless ${packageVersion()}\n`);
    return 0;
  }
  if (!name) {
    // No command is a usage error: the help goes to stderr and the exit code says it failed.
    help({ ...full, stdout: full.stderr });
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") return help(full, argv[1], argv.slice(2));
  const verb = loadVerb(name);
  if (!verb) {
    full.stderr(`pulumi-distroless: unknown command "${name}" (try \`pulumi-distroless help\`)\n`);
    return 2;
  }
  if (full.argv.includes("--help") || full.argv.includes("-h")) return help(full, name, full.argv);
  try {
    const code = await verb.run(full);
    bar?.finish();
    return code;
  } catch (err) {
    bar?.finish();
    const code = err instanceof DistrolessError ? err.code : "E_INTERNAL";
    const message = describeError(err, full);
    if (full.argv.includes("--json")) {
      // Under --json the failure is JSON too, on stdout where the result would have been.
      full.stdout(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    }
    full.stderr(
      `pulumi-distroless ${name}: ${message}${code === "E_INTERNAL" && err instanceof Error && err.stack && process.env.PD_DEBUG ? `\n${err.stack}` : ""}\n`,
    );
    return 1;
  }
}

/** The package's own version (package.json sits two levels above dist/provider/cli). */
function packageVersion(): string {
  try {
    return (require("../../../package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  EISDIR: "is a directory, not a file",
  ENOTDIR: "a part of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on the device",
  EEXIST: "already exists",
};

/** An error as a user reads it: a file system error names its path and what is wrong, no stack. */
function describeError(err: unknown, ctx: CliContext): string {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof DistrolessError || typeof e?.code !== "string") return errorMessage(err);
  const what = ERRNO_TEXT[e.code] ?? e.code.toLowerCase();
  if (typeof e.path === "string") return `${e.path}: ${what}`;
  // Node leaves the path out of some errors (a read of a directory): name the argument it must be.
  if (e.code === "EISDIR") {
    const dir = ctx.argv.find((a) => !a.startsWith("-") && isDirectory(path.resolve(ctx.cwd, a)));
    if (dir) return `${dir}: ${what}`;
  }
  return `${what} (${e.code})`;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A reader that went away (`… | head`) is not an error: stop quietly. */
function exitQuietlyOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

/**
 * The process's command line, run as a command: the exit code is set when it is done. Called when
 * this file is the entry point and by launch.ts, the bin, which runs the bundled copy of this file.
 */
export function runFromCommandLine(): void {
  exitQuietlyOnEpipe(process.stdout);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`pulumi-distroless: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) runFromCommandLine();
