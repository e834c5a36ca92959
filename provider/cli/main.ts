#!/usr/bin/env node
import { DistrolessError, errorMessage } from "../util/errors";
import type { CliContext, Verb } from "./command";

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
  publish: () => require("./verbs/publish").verb,
  sign: () => require("./verbs/sign").verb,
  demo: () => require("./verbs/demo").verb,
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

function help(ctx: CliContext, name?: string): number {
  if (name) {
    const verb = loadVerb(name);
    if (!verb) {
      ctx.stderr(`pulumi-distroless: unknown command "${name}"\n`);
      return 2;
    }
    ctx.stdout(`${verb.summary}\n\nusage: ${verb.usage}\n`);
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
  const full: CliContext = {
    argv: argv.slice(1),
    stdout: ctx?.stdout ?? ((t: string) => void process.stdout.write(t)),
    stderr,
    progress: ctx?.progress ?? {
      info: (m) => stderr(`${m}\n`),
      warn: (m) => stderr(`warning: ${m}\n`),
    },
    cwd: ctx?.cwd ?? process.cwd(),
    env: ctx?.env ?? process.env,
  };
  const name = argv[0];
  if (!name || name === "help" || name === "--help" || name === "-h") return help(full, argv[1]);
  const verb = loadVerb(name);
  if (!verb) {
    full.stderr(`pulumi-distroless: unknown command "${name}" (try \`pulumi-distroless help\`)\n`);
    return 2;
  }
  if (full.argv.includes("--help") || full.argv.includes("-h")) return help(full, name);
  try {
    return await verb.run(full);
  } catch (err) {
    const code = err instanceof DistrolessError ? err.code : "E_INTERNAL";
    full.stderr(
      `pulumi-distroless ${name}: ${errorMessage(err)}${code === "E_INTERNAL" && err instanceof Error && err.stack && process.env.PD_DEBUG ? `\n${err.stack}` : ""}\n`,
    );
    return 1;
  }
}

if (require.main === module) {
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
