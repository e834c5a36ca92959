/**
 * `pulumi-distroless test`: runs a recipe's `test:` sections against apks built before, as
 * `melange test` does (the packages under test are the APK arguments; with none, or for
 * packages not given, they are resolved from --repository like any other package).
 */
import * as path from "node:path";
import { chooseRunner } from "../../build/prepare";
import { compileRecipe, loadRecipe } from "../../build/recipe";
import { recipeTargetsArch } from "../../build/recipe/compile";
import type { RunnerName } from "../../build/runners/runner";
import { listSourceTree } from "../../build/source/source-tree";
import { runPackageTests } from "../../build/test/run-tests";
import { hostArch } from "../../image/config/arch";
import { defaultCacheDir } from "../../repository/cache";
import { DistrolessError } from "../../util/errors";
import {
  boolFlag,
  type CliContext,
  type FlagTable,
  keyValueFlag,
  output,
  parseVerbArgs,
  stringFlag,
  stringsFlag,
  type Verb,
} from "../command";

const RUNNERS = ["auto", "bubblewrap", "host"];

const FLAGS = {
  arch: { type: "string", value: "ARCH", help: "architecture to test (default: the host's)" },
  runner: { type: "string", value: "auto|bubblewrap|host", help: "where test steps run (default auto)" },
  repository: {
    type: "string",
    multiple: true,
    value: "URL|DIR",
    help: "repository for the test environment (and the packages under test when no APK is given)",
  },
  keyring: { type: "string", multiple: true, value: "KEY", help: "trusted key for those repositories" },
  "source-dir": {
    type: "string",
    value: "DIR",
    help: "copied into the test workspace (default: the recipe's directory)",
  },
  "pipeline-dir": {
    type: "string",
    multiple: true,
    value: "DIR",
    help: "directory of extra `uses:` pipelines",
  },
  "test-option": { type: "string", multiple: true, value: "NAME", help: "enable a recipe test option" },
  var: { type: "string", multiple: true, value: "KEY=VALUE", help: "set a recipe var" },
  "cache-dir": { type: "string", value: "DIR", help: "cache for indexes, apks and test guests" },
  "allow-untrusted": { type: "boolean", help: "install APK arguments whose signer is not in the keyring" },
  "no-network": { type: "boolean", help: "no network inside the sandbox" },
  json: { type: "boolean", help: "print the result as JSON" },
} satisfies FlagTable;

export const verb: Verb = {
  summary: "run a melange recipe's tests against built apks",
  usage:
    "pulumi-distroless test MELANGE_YAML [APK...] [--arch A] [--runner auto|bubblewrap|host] [--repository R]... [--keyring KEY]... [--source-dir DIR] [--pipeline-dir D]... [--test-option O]... [--var K=V]... [--cache-dir DIR] [--allow-untrusted] [--no-network] [--json]",
  flags: FLAGS,
  example:
    "pulumi-distroless test melange.yaml packages/x86_64/hello-1.0-r0.apk --repository ./repo --keyring melange.rsa.pub",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("test", ctx.argv, FLAGS);
    if (args.positionals.length < 1) {
      throw new DistrolessError("E_CONFIG", "test needs a MELANGE_YAML (and optionally the APKs to test)");
    }
    const abs = (p: string) => path.resolve(ctx.cwd, p);
    const [recipeArg, ...apkArgs] = args.positionals as [string, ...string[]];
    const runnerFlag = stringFlag(args, "runner") ?? "auto";
    if (!RUNNERS.includes(runnerFlag)) {
      throw new DistrolessError(
        "E_CONFIG",
        `--runner must be one of ${RUNNERS.join(", ")} (got "${runnerFlag}")`,
      );
    }
    const runner = await chooseRunner(runnerFlag as RunnerName | "auto");
    if (runner === "melange") {
      throw new DistrolessError(
        "E_MISSING",
        "tests run in bubblewrap (not available here) or, for trusted recipes, with --runner host",
      );
    }
    const vars = keyValueFlag(args, "var");
    const arch = stringFlag(args, "arch") ?? hostArch();
    const recipe = await loadRecipe(abs(recipeArg));
    if (!recipeTargetsArch(recipe, arch)) {
      ctx.progress.warn(`${recipe.package.name} is not built for ${arch}; no tests to run`);
      output(ctx, boolFlag(args, "json"), { tested: [] }, () => "");
      return 0;
    }
    const plan = compileRecipe(recipe, {
      arch,
      vars,
      options: stringsFlag(args, "test-option"),
      pipelineDirs: stringsFlag(args, "pipeline-dir").map(abs),
    });
    const sourceDir = stringFlag(args, "source-dir");
    const cacheDir = stringFlag(args, "cache-dir");
    const report = await runPackageTests({
      plan,
      runner,
      apks: apkArgs.map(abs),
      sources: {
        repositories: stringsFlag(args, "repository"),
        keyring: stringsFlag(args, "keyring").map(abs),
        baseDir: ctx.cwd,
        ...(boolFlag(args, "allow-untrusted") ? { allowUntrusted: true } : {}),
      },
      cacheDir: cacheDir ? abs(cacheDir) : defaultCacheDir(),
      progress: ctx.progress,
      ...(sourceDir ? { source: await listSourceTree(abs(sourceDir)) } : {}),
      ...(boolFlag(args, "no-network") ? { network: false } : {}),
    });
    output(ctx, boolFlag(args, "json"), report, () =>
      report.tested.length === 0
        ? `${plan.package.name}: no tests`
        : report.tested.map((p) => `${p}: passed`).join("\n"),
    );
    return 0;
  },
};
