import * as path from "node:path";
import { loadPrivateKey } from "../../apk/keys";
import { buildPackage } from "../../build/build";
import { loadRecipe } from "../../build/recipe";
import type { RunnerName } from "../../build/runners/runner";
import { hostArch } from "../../image/config/arch";
import { DistrolessError } from "../../util/errors";
import {
  boolFlag,
  type CliContext,
  output,
  parseVerbArgs,
  passphraseFlag,
  sourceDateEpochFlag,
  stringFlag,
  stringsFlag,
  type Verb,
} from "../command";

const RUNNERS = ["auto", "bubblewrap", "host", "melange"];

export const verb: Verb = {
  summary: "build apk packages from a melange recipe",
  usage:
    "pulumi-distroless package MELANGE_YAML [--arch A]... [--signing-key KEY] [--passphrase-env VAR] [--out DIR] [--runner auto|bubblewrap|host|melange] [--source-dir DIR] [--source-date-epoch N] [--repository R]... [--keyring KEY]... [--build-option O]... [--var K=V]... [--env K=V]... [--pipeline-dir D]... [--namespace NS] [--cache-dir DIR] [--no-network] [--keep-workspace] [--skip-tests] [--lint-require L,...] [--lint-warn L,...] [--json]",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("package", ctx.argv, {
      arch: { type: "string", multiple: true },
      "signing-key": { type: "string" },
      "passphrase-env": { type: "string" },
      out: { type: "string" },
      runner: { type: "string" },
      "source-dir": { type: "string" },
      "source-date-epoch": { type: "string" },
      repository: { type: "string", multiple: true },
      keyring: { type: "string", multiple: true },
      "build-option": { type: "string", multiple: true },
      var: { type: "string", multiple: true },
      env: { type: "string", multiple: true },
      "pipeline-dir": { type: "string", multiple: true },
      namespace: { type: "string" },
      "cache-dir": { type: "string" },
      "no-network": { type: "boolean" },
      "keep-workspace": { type: "boolean" },
      "skip-tests": { type: "boolean" },
      "lint-require": { type: "string", multiple: true },
      "lint-warn": { type: "string", multiple: true },
      json: { type: "boolean" },
    });
    if (args.positionals.length !== 1)
      throw new DistrolessError("E_CONFIG", "package needs exactly one MELANGE_YAML");
    const abs = (p: string) => path.resolve(ctx.cwd, p);
    const recipeFile = abs(args.positionals[0]!);
    const runner = stringFlag(args, "runner") ?? "auto";
    if (!RUNNERS.includes(runner)) {
      throw new DistrolessError(
        "E_CONFIG",
        `--runner must be one of ${RUNNERS.join(", ")} (got "${runner}")`,
      );
    }
    const sourceDateEpoch = sourceDateEpochFlag(args, ctx.env) ?? 0;
    const vars = keyValues(stringsFlag(args, "var"), "--var");
    const env = keyValues(stringsFlag(args, "env"), "--env");
    // --env sets build environment variables under the recipe's own (melange's --env-file order).
    const recipe = Object.keys(env).length ? await loadRecipe(recipeFile) : undefined;
    if (recipe) {
      recipe.environment = {
        ...recipe.environment,
        environment: { ...env, ...recipe.environment?.environment },
      };
    }
    const keyFile = stringFlag(args, "signing-key");
    const signingKey = keyFile
      ? await loadPrivateKey(abs(keyFile), passphraseFlag(args, ctx.env))
      : undefined;
    const archs = stringsFlag(args, "arch");
    const outDir = abs(stringFlag(args, "out") ?? "packages");
    const sourceDir = stringFlag(args, "source-dir");
    const cacheDir = stringFlag(args, "cache-dir");
    const namespace = stringFlag(args, "namespace");

    // melange's --lint-require / --lint-warn: comma-separated, repeatable; given, they replace the defaults.
    const lintList = (name: string) =>
      args.values[name] === undefined
        ? undefined
        : stringsFlag(args, name).flatMap((v) => v.split(",").filter((x) => x !== ""));
    const lintRequire = lintList("lint-require");
    const lintWarn = lintList("lint-warn");
    const results = [];
    for (const arch of archs.length ? archs : [hostArch()]) {
      const r = await buildPackage({
        recipeFile,
        ...(recipe ? { recipe } : {}),
        arch,
        outDir,
        runner: runner as RunnerName | "auto",
        sourceDateEpoch,
        progress: ctx.progress,
        repositories: stringsFlag(args, "repository"),
        keyring: stringsFlag(args, "keyring").map(abs),
        buildOptions: stringsFlag(args, "build-option"),
        pipelineDirs: stringsFlag(args, "pipeline-dir").map(abs),
        baseDir: ctx.cwd,
        ...(Object.keys(vars).length ? { vars } : {}),
        ...(signingKey ? { signingKey } : {}),
        ...(sourceDir ? { sourceDir: abs(sourceDir) } : {}),
        ...(cacheDir ? { cacheDir: abs(cacheDir) } : {}),
        ...(namespace ? { namespace } : {}),
        ...(boolFlag(args, "no-network") ? { network: false } : {}),
        ...(boolFlag(args, "keep-workspace") ? { keepWorkspace: true } : {}),
        ...(boolFlag(args, "skip-tests") ? { skipTests: true } : {}),
        lint: { ...(lintRequire ? { require: lintRequire } : {}), ...(lintWarn ? { warn: lintWarn } : {}) },
      });
      results.push(r);
    }
    const packages = results.flatMap((r) => r.packages);
    output(
      ctx,
      boolFlag(args, "json"),
      {
        packages: packages.map((p) => ({
          name: p.name,
          version: p.version,
          arch: p.arch,
          file: path.relative(ctx.cwd, p.file) || p.file,
          size: p.size,
          controlChecksum: p.controlChecksum,
          datahash: p.datahash,
        })),
        inputDigests: Object.fromEntries(results.map((r) => [r.environment.arch, r.inputDigest])),
        runner: results[0]?.runner ?? null,
      },
      () =>
        packages.map((p) => `${path.relative(ctx.cwd, p.file) || p.file} ${p.controlChecksum}`).join("\n"),
    );
    return 0;
  },
};

function keyValues(list: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new DistrolessError("E_CONFIG", `${flag} needs KEY=VALUE (got "${kv}")`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}
