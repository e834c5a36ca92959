import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

/*
 * `pulumi preview` of a program with the outputs the engine plans for each resource, the way
 * `pulumi preview --json` shows them (its steps' new state): the engine's own event stream, read
 * through the automation API's onEvent (the inline-program runner reports change counts only).
 * Runs as its own process, like the runner, because the program's @pulumi/pulumi keeps its runtime
 * settings in module state:
 *
 *   node preview-outputs.js --dir DIR --program FILE.js --stack NAME
 *
 * prints `planned: {"<resource name>": {op, outputs}}` as its last line.
 */

type Automation = typeof import("@pulumi/pulumi/automation");

export interface PlannedResource {
  op: string;
  type: string;
  /** The outputs the engine planned; an unknown one is absent (or the engine's unknown marker). */
  outputs: Record<string, unknown>;
}

async function main(argv: string[]): Promise<void> {
  const arg = (flag: string): string => {
    const i = argv.indexOf(flag);
    const v = i >= 0 ? argv[i + 1] : undefined;
    if (!v)
      throw new Error(`usage: preview-outputs.js --dir DIR --program FILE.js --stack NAME (${flag} missing)`);
    return v;
  };
  const dir = path.resolve(arg("--dir"));
  const programFile = path.resolve(arg("--program"));
  const doc = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as { name: string };
  const auto = require(require.resolve("@pulumi/pulumi/automation", { paths: [dir] })) as Automation;
  const program = async (): Promise<Record<string, unknown>> => {
    const exported = require(programFile) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(exported).filter(([k]) => k !== "__esModule"));
  };
  const pulumiCommand = await auto.PulumiCommand.get({ skipVersionCheck: true });
  const stack = await auto.LocalWorkspace.createOrSelectStack(
    { stackName: arg("--stack"), projectName: doc.name, program },
    { workDir: dir, pulumiCommand, envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" } },
  );
  const planned: Record<string, PlannedResource> = {};
  await stack.preview({
    onOutput: (s) => process.stdout.write(s),
    onEvent: (event) => {
      const m = event.resOutputsEvent?.metadata;
      if (!m?.new) return;
      const name = m.urn.slice(m.urn.lastIndexOf("::") + 2);
      planned[name] = { op: m.op, type: m.type, outputs: m.new.outputs ?? {} };
    },
  });
  process.stdout.write(`planned: ${JSON.stringify(planned)}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
