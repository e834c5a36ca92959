import { type ParseArgsConfig, parseArgs } from "node:util";
import { DistrolessError } from "../util/errors";
import type { Progress } from "../util/log";

/** What a verb gets: its arguments and where to write. Verbs return the process exit code. */
export interface CliContext {
  argv: string[];
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  progress: Progress;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * One flag of a verb: what node's parser needs, plus its one line of help. A verb's table is both
 * what parses its arguments and what `--help` prints, so the two cannot drift.
 */
export interface FlagSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  /** The value's placeholder in help (default: the flag's name in capitals). */
  value?: string;
  help: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

export interface Verb {
  /** One line shown by `pulumi-distroless help`. */
  summary: string;
  usage: string;
  /** The flags (the table parseVerbArgs parses with) and a command line to copy, for --help. */
  flags?: FlagTable;
  example?: string;
  /** Full `--help` text for these arguments, when the verb has more to say than its usage. */
  help?: (argv: string[]) => string;
  run(ctx: CliContext): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

function parserOptions(table: FlagTable): Options {
  const out: Options = {};
  for (const [name, f] of Object.entries(table)) {
    out[name] = {
      type: f.type,
      ...(f.multiple ? { multiple: true } : {}),
      ...(f.short ? { short: f.short } : {}),
    };
  }
  return out;
}

/** `--help` of a verb: summary, usage, one line per flag from its table, an example. */
export function verbHelp(verb: Verb): string {
  const lines = [verb.summary, "", `usage: ${verb.usage}`];
  if (verb.flags) {
    lines.push("", "flags:");
    for (const [name, f] of Object.entries(verb.flags)) {
      const value = f.type === "string" ? ` ${f.value ?? name.toUpperCase().replace(/-/g, "_")}` : "";
      const names = `${f.short ? `-${f.short}, ` : ""}--${name}${value}${f.multiple ? " (repeatable)" : ""}`;
      lines.push(`  ${names.padEnd(36)} ${f.help}`);
    }
  }
  if (verb.example) lines.push("", "example:", `  ${verb.example}`);
  return `${lines.join("\n")}\n`;
}

export interface ParsedVerbArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** Parses a verb's flags with node's own parser; unknown flags are a usage error naming the verb. */
export function parseVerbArgs(verb: string, argv: string[], table: FlagTable): ParsedVerbArgs {
  try {
    return parseArgs({
      args: argv,
      options: parserOptions(table),
      allowPositionals: true,
      strict: true,
    }) as ParsedVerbArgs;
  } catch (err) {
    throw new DistrolessError(
      "E_CONFIG",
      `${(err as Error).message} (see \`pulumi-distroless help ${verb}\`)`,
    );
  }
}

/** Prints `value` as JSON (with --json) or as the given human text. */
export function output(ctx: CliContext, json: boolean, value: unknown, human: () => string): void {
  if (json) ctx.stdout(`${JSON.stringify(value, null, 2)}\n`);
  else ctx.stdout(`${human()}\n`);
}

export function stringFlag(args: ParsedVerbArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}

export function stringsFlag(args: ParsedVerbArgs, name: string): string[] {
  const v = args.values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return typeof v === "string" ? [v] : [];
}

/** A repeatable `--flag KEY=VALUE` as a map (later ones win), refusing entries without a key. */
export function keyValueFlag(args: ParsedVerbArgs, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of stringsFlag(args, name)) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new DistrolessError("E_CONFIG", `--${name} needs KEY=VALUE (got "${kv}")`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export function boolFlag(args: ParsedVerbArgs, name: string): boolean {
  return args.values[name] === true;
}

/**
 * SOURCE_DATE_EPOCH from `--source-date-epoch` or the environment: whole seconds, or undefined when
 * neither says (the caller picks its default).
 */
export function sourceDateEpochFlag(args: ParsedVerbArgs, env: NodeJS.ProcessEnv): number | undefined {
  const text = stringFlag(args, "source-date-epoch") ?? env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === "") return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new DistrolessError(
      "E_CONFIG",
      `SOURCE_DATE_EPOCH must be whole seconds, got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

/**
 * The signing key's passphrase from the variable `--passphrase-env` names: `{}` when the flag is
 * absent. A variable that is not set is its own error, so it is not reported as a wrong passphrase;
 * the message names the variable, never its value.
 */
export function passphraseFlag(args: ParsedVerbArgs, env: NodeJS.ProcessEnv): { passphrase?: string } {
  const value = envNamedByFlag(args, "passphrase-env", env);
  return value === undefined ? {} : { passphrase: value };
}

/**
 * The value of the environment variable a flag names (`--sign-password-env VAR`); undefined when the
 * flag is absent, an error naming the variable (never a value) when it is not set.
 */
export function envNamedByFlag(
  args: ParsedVerbArgs,
  flag: string,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const name = stringFlag(args, flag);
  if (name === undefined) return undefined;
  const value = env[name];
  if (value === undefined) {
    throw new DistrolessError("E_CONFIG", `--${flag} ${name}: the environment variable ${name} is not set`, {
      subject: name,
    });
  }
  return value;
}
