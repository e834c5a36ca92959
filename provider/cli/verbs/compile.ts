import * as path from "node:path";
import { stringify } from "yaml";
import {
  type BuildPlan,
  type BuildStep,
  checkScriptSyntax,
  compileRecipe,
  loadRecipe,
} from "../../build/recipe";
import { hostArch } from "../../image/config/arch";
import { DistrolessError } from "../../util/errors";
import {
  boolFlag,
  type CliContext,
  type FlagTable,
  keyValueFlag,
  parseVerbArgs,
  sourceDateEpochFlag,
  stringsFlag,
  type Verb,
} from "../command";

const FLAGS = {
  arch: {
    type: "string",
    multiple: true,
    value: "ARCH",
    help: "architecture to compile for (default: the host's)",
  },
  "pipeline-dir": {
    type: "string",
    multiple: true,
    value: "DIR",
    help: "directory of extra `uses:` pipelines",
  },
  "build-option": { type: "string", multiple: true, value: "NAME", help: "enable a recipe build option" },
  var: { type: "string", multiple: true, value: "KEY=VALUE", help: "set a recipe var" },
  "source-date-epoch": {
    type: "string",
    value: "SECONDS",
    help: "the epoch substituted into the recipe (default 0)",
  },
  json: { type: "boolean", help: "print the compiled plans as JSON" },
} satisfies FlagTable;

/**
 * `compile`: what `melange compile` does for us — the recipe with its vars substituted, its
 * subpackage conditions decided and every `uses:` expanded into the steps that will run — without
 * building anything. Errors are the ones `package` would stop at, naming the file, line and field.
 */
export const verb: Verb = {
  summary: "print a melange recipe compiled for an arch (pipelines expanded), as YAML",
  usage:
    "pulumi-distroless compile MELANGE_YAML [--arch A]... [--pipeline-dir D]... [--build-option O]... [--var K=V]... [--source-date-epoch N] [--json]",
  flags: FLAGS,
  example: "pulumi-distroless compile melange.yaml --arch aarch64",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("compile", ctx.argv, FLAGS);
    if (args.positionals.length !== 1)
      throw new DistrolessError("E_CONFIG", "compile needs exactly one MELANGE_YAML");
    const abs = (p: string) => path.resolve(ctx.cwd, p);
    const recipe = await loadRecipe(abs(args.positionals[0]!));
    const vars = keyValueFlag(args, "var");
    const archs = stringsFlag(args, "arch");
    const plans = (archs.length ? archs : [hostArch()]).map((arch) =>
      compileRecipe(recipe, {
        arch,
        vars,
        options: stringsFlag(args, "build-option"),
        pipelineDirs: stringsFlag(args, "pipeline-dir").map(abs),
        sourceDateEpoch: sourceDateEpochFlag(args, ctx.env) ?? 0,
        checkVersion: false,
      }),
    );
    for (const plan of plans) checkScriptSyntax(plan);
    const docs = plans.map(compiledDocument);
    if (boolFlag(args, "json"))
      ctx.stdout(`${JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2)}\n`);
    else ctx.stdout(docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n"));
    return 0;
  },
};

/** A step the way melange prints compiled steps: what runs, where, and which `uses` it came from. */
function compiledStep(step: BuildStep, base: Record<string, string>): Record<string, unknown> {
  // Only what the step sets beyond the build environment, as a recipe would have written it.
  const own = Object.fromEntries(Object.entries(step.environment).filter(([k, v]) => base[k] !== v));
  return {
    name: step.name,
    ...(step.uses.length ? { uses: step.uses } : {}),
    "working-directory": step.workingDirectory,
    ...(Object.keys(own).length ? { environment: own } : {}),
    ...(step.needsPackages.length ? { needs: { packages: step.needsPackages } } : {}),
    runs: step.script,
  };
}

/** The compiled recipe with melange's field names. */
export function compiledDocument(plan: BuildPlan): Record<string, unknown> {
  const p = plan.package;
  const env = plan.environment;
  return {
    arch: plan.arch,
    package: {
      name: p.name,
      version: p.version,
      epoch: p.epoch,
      ...(p.description ? { description: p.description } : {}),
      ...(p.url ? { url: p.url } : {}),
      ...(p.commit ? { commit: p.commit } : {}),
      ...(p.license ? { license: p.license } : {}),
      "target-architecture": p.targetArchitectures,
      dependencies: p.dependencies,
    },
    environment: {
      contents: {
        repositories: env.contents.repositories,
        keyring: env.contents.keyring,
        packages: env.contents.packages,
      },
      accounts: {
        users: env.accounts.users,
        groups: env.accounts.groups,
        ...(env.accounts.runAs ? { "run-as": env.accounts.runAs } : {}),
      },
      environment: env.environment,
    },
    ...(plan.options.length ? { options: plan.options } : {}),
    ...(Object.keys(plan.vars).length ? { vars: plan.vars } : {}),
    pipeline: plan.steps.map((s) => compiledStep(s, env.environment)),
    subpackages: plan.subpackages.map((sp) => ({
      name: sp.name,
      ...(sp.description ? { description: sp.description } : {}),
      dependencies: sp.dependencies,
      pipeline: sp.steps.map((s) => compiledStep(s, env.environment)),
    })),
  };
}
