import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import YAML from "yaml";

/*
 * Runs a Pulumi program through the real `pulumi` CLI and engine as an automation-API inline
 * program: the CLI's `--client` path, where this process serves the language runtime. Why: the
 * Node.js language host (pulumi-language-nodejs) is not served by the Go module proxy, the only
 * place we can get Pulumi from here, so `pulumi up` cannot start a Node program by itself. All
 * the rest is the real thing: the CLI, the engine, the state backend and its secrets manager, the
 * dynamic-provider plugin (scripts/pulumi-resource-pulumi-nodejs).
 *
 *   node inline-program.js up|preview|refresh|destroy --dir DIR --program FILE.js --stack NAME
 *        [--diff] [--expect-no-changes]
 *
 * DIR holds Pulumi.yaml (its `name` is the project) and node_modules with @pulumi/pulumi; FILE.js
 * is the compiled program, whose exports become the stack outputs. The CLI's own output goes to
 * stdout as it comes; the last line is `result: {...}` (JSON: the change counts and the outputs,
 * secret ones as "[secret]").
 */

type Automation = typeof import("@pulumi/pulumi/automation");
type OutputMap = Record<string, { value: unknown; secret: boolean }>;

export interface InlineResult {
  op: string;
  changes: Record<string, number>;
  outputs: Record<string, unknown>;
}

const OPS = ["up", "preview", "refresh", "destroy"] as const;
type Op = (typeof OPS)[number];

function projectName(dir: string): string {
  const file = path.join(dir, "Pulumi.yaml");
  const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { name?: unknown } | null;
  if (typeof doc?.name !== "string") throw new Error(`${file}: no project name`);
  return doc.name;
}

function plainOutputs(outputs: OutputMap | undefined): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(outputs ?? {}).map(([k, o]) => [k, o.secret ? "[secret]" : o.value]),
  );
}

export async function runInline(options: {
  op: Op;
  dir: string;
  program: string;
  stack: string;
  diff?: boolean;
  expectNoChanges?: boolean;
  /** The CLI, `<root>/bin/pulumi` (default: `pulumi` on PATH); its directory also goes first on PATH. */
  pulumi?: string;
  /** For the CLI: PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, ... */
  env?: Record<string, string>;
  onOutput?: (text: string) => void;
}): Promise<InlineResult> {
  // The program's own @pulumi/pulumi: runtime settings are module state, so the copy that serves
  // the language runtime must be the one the program's resources register through.
  const auto = require(require.resolve("@pulumi/pulumi/automation", { paths: [options.dir] })) as Automation;
  const programFile = path.resolve(options.program);
  const program = async (): Promise<Record<string, unknown>> => {
    const exported = require(programFile) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(exported).filter(([k]) => k !== "__esModule"));
  };
  // The CLI scripts/tools.sh builds into .cache/tools/bin, with the dynamic-provider plugin beside
  // it (the engine finds plugins on PATH). The version check is the SDK's own minimum, which a newer
  // CLI passes.
  const envVars: Record<string, string> = { PULUMI_SKIP_UPDATE_CHECK: "true", ...options.env };
  let root: string | undefined;
  if (options.pulumi) {
    const binDir = path.dirname(path.resolve(options.pulumi));
    if (path.basename(binDir) !== "bin")
      throw new Error(`${options.pulumi}: the CLI must be in a bin directory`);
    root = path.dirname(binDir);
    envVars.PATH = `${binDir}:${envVars.PATH ?? process.env.PATH ?? ""}`;
  }
  const pulumiCommand = await auto.PulumiCommand.get({ root, skipVersionCheck: true });
  const stack = await auto.LocalWorkspace.createOrSelectStack(
    { stackName: options.stack, projectName: projectName(options.dir), program },
    { workDir: options.dir, pulumiCommand, envVars },
  );
  const onOutput = options.onOutput ?? ((s: string) => process.stdout.write(s));
  switch (options.op) {
    case "up": {
      const r = await stack.up({ onOutput, diff: options.diff });
      return { op: "up", changes: { ...r.summary.resourceChanges }, outputs: plainOutputs(r.outputs) };
    }
    case "preview": {
      const r = await stack.preview({
        onOutput,
        diff: options.diff,
        expectNoChanges: options.expectNoChanges,
      });
      return { op: "preview", changes: { ...r.changeSummary }, outputs: {} };
    }
    case "refresh": {
      const r = await stack.refresh({ onOutput, expectNoChanges: options.expectNoChanges });
      return { op: "refresh", changes: { ...r.summary.resourceChanges }, outputs: {} };
    }
    case "destroy": {
      const r = await stack.destroy({ onOutput });
      return { op: "destroy", changes: { ...r.summary.resourceChanges }, outputs: {} };
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      program: { type: "string" },
      stack: { type: "string" },
      diff: { type: "boolean" },
      "expect-no-changes": { type: "boolean" },
    },
  });
  const op = positionals[0] as Op;
  if (!OPS.includes(op) || !values.dir || !values.program || !values.stack) {
    process.stderr.write(
      `usage: inline-program.js ${OPS.join("|")} --dir DIR --program FILE.js --stack NAME [--diff] [--expect-no-changes]\n`,
    );
    return 2;
  }
  const result = await runInline({
    op,
    dir: path.resolve(values.dir),
    program: values.program,
    stack: values.stack,
    diff: values.diff,
    expectNoChanges: values["expect-no-changes"],
  });
  process.stdout.write(`result: ${JSON.stringify(result)}\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      // The automation API's CommandError carries the CLI's stdout and stderr (the CLI masks secrets).
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
