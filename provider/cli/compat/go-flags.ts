import { DistrolessError } from "../../util/errors";

/*
 * apko and melange parse their command lines with Go's cobra/pflag, whose rules differ from node's
 * parseArgs: `--flag=value` and `--flag value`, booleans only take a value after `=`
 * (`--sbom=false`), string slices split on commas and repeat, short flags take `-k value`, `-kvalue`
 * or `-k=value`, and flags may come after positionals. Scripts written for those tools rely on all of
 * these, so the compat commands parse the same way.
 */

export type GoFlagKind = "bool" | "string" | "strings";

export interface GoFlag {
  name: string;
  short?: string;
  kind: GoFlagKind;
  /** One line for --help. */
  help: string;
  /**
   * Why we refuse this flag (it would change what gets built in a way we do not reproduce); its
   * use is an error naming the flag and this reason.
   */
  unsupported?: string;
}

export interface GoFlagValues {
  bools: Map<string, boolean>;
  strings: Map<string, string>;
  lists: Map<string, string[]>;
  positionals: string[];
}

/** A command of a compat tool: its flags, positionals and one example, which also drive --help. */
export interface GoCommand {
  name: string;
  summary: string;
  usage: string;
  example: string;
  flags: GoFlag[];
}

/** What every cobra command of these tools accepts besides its own flags. */
export const GLOBAL_FLAGS: GoFlag[] = [
  {
    name: "log-level",
    kind: "string",
    help: "accepted for compatibility; our progress goes to stderr regardless",
  },
];

/** Parses argv the way pflag would; unknown and unsupported flags are errors naming the flag. */
export function parseGoFlags(tool: string, command: GoCommand, argv: readonly string[]): GoFlagValues {
  const flags = [...command.flags, ...GLOBAL_FLAGS];
  const values: GoFlagValues = { bools: new Map(), strings: new Map(), lists: new Map(), positionals: [] };
  const where = `${tool} ${command.name}`;
  const fail = (message: string, subject: string): never => {
    throw new DistrolessError(
      "E_CONFIG",
      `${message} (pulumi-distroless ${where} --help lists what is supported)`,
      { subject },
    );
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      values.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      values.positionals.push(arg);
      continue;
    }
    const long = arg.startsWith("--");
    const body = long ? arg.slice(2) : arg.slice(1);
    let name: string;
    let inline: string | undefined;
    const eq = body.indexOf("=");
    if (long) {
      name = eq >= 0 ? body.slice(0, eq) : body;
      inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    } else {
      // -kVALUE and -k=VALUE are both pflag spellings of -k VALUE.
      name = body.slice(0, 1);
      const rest = body.slice(1);
      inline = rest === "" ? undefined : rest.startsWith("=") ? rest.slice(1) : rest;
    }
    const flag = flags.find((f) => (long ? f.name === name : f.short === name));
    const shown = long ? `--${name}` : `-${name}`;
    if (!flag) fail(`unknown flag ${shown} for ${where}`, shown);
    if (flag!.unsupported) fail(`${shown} is not supported: ${flag!.unsupported}`, shown);
    const f = flag!;
    if (f.kind === "bool") {
      if (inline === undefined) values.bools.set(f.name, true);
      else if (/^(true|1|t|T|TRUE|True)$/.test(inline)) values.bools.set(f.name, true);
      else if (/^(false|0|f|F|FALSE|False)$/.test(inline)) values.bools.set(f.name, false);
      else fail(`${shown} takes true or false, got ${JSON.stringify(inline)}`, shown);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) fail(`${shown} needs a value`, shown);
      value = argv[++i]!;
    }
    if (f.kind === "string") values.strings.set(f.name, value);
    else {
      const list = values.lists.get(f.name) ?? [];
      // pflag's string slices are CSV: `--arch amd64,arm64` is two values.
      list.push(...value.split(",").filter((v) => v !== ""));
      values.lists.set(f.name, list);
    }
  }
  return values;
}

/** `--help` text of a compat command, from the same table that parses it. */
export function goCommandHelp(tool: string, command: GoCommand): string {
  const rows = command.flags.map((f) => {
    const names = `${f.short ? `-${f.short}, ` : "    "}--${f.name}${f.kind === "bool" ? "" : f.kind === "strings" ? " LIST" : " VALUE"}`;
    const text = f.unsupported ? `not supported: ${f.unsupported}` : f.help;
    return `  ${names.padEnd(34)} ${text}`;
  });
  return [
    `pulumi-distroless ${tool} ${command.name}: ${command.summary}`,
    "",
    `usage: pulumi-distroless ${tool} ${command.usage}`,
    "",
    "flags (spelled as the real tool spells them):",
    ...rows,
    "",
    "example:",
    `  pulumi-distroless ${tool} ${command.example}`,
    "",
  ].join("\n");
}

/** The command table's summary lines for `pulumi-distroless TOOL --help`. */
export function goToolHelp(tool: string, description: string, commands: GoCommand[]): string {
  return [
    `pulumi-distroless ${tool}: ${description}`,
    "",
    `usage: pulumi-distroless ${tool} <command> [flags]`,
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(17)} ${c.summary}`),
    "",
  ].join("\n");
}

/** `--help` for the tool or for one of its commands (`apko build --help`). */
export function compatHelp(tool: string, description: string, commands: GoCommand[], argv: string[]): string {
  const command = commands.find((c) => c.name === argv[0]);
  return command ? goCommandHelp(tool, command) : goToolHelp(tool, description, commands);
}

/** Accessors that keep the adapters short. */
export function goString(values: GoFlagValues, name: string): string | undefined {
  return values.strings.get(name);
}

export function goList(values: GoFlagValues, name: string): string[] {
  return values.lists.get(name) ?? [];
}

/** A boolean flag's value, or its default when it was not given. */
export function goBool(values: GoFlagValues, name: string, fallback: boolean): boolean {
  return values.bools.get(name) ?? fallback;
}

/**
 * `--build-date` (RFC 3339, as apko and melange take it) as SOURCE_DATE_EPOCH seconds; undefined
 * when not given.
 */
export function buildDateEpoch(values: GoFlagValues): string | undefined {
  const text = goString(values, "build-date");
  if (text === undefined || text === "") return undefined;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    throw new DistrolessError(
      "E_CONFIG",
      `--build-date must be an RFC 3339 date, got ${JSON.stringify(text)}`,
      {
        subject: "--build-date",
      },
    );
  }
  return String(Math.floor(ms / 1000));
}
