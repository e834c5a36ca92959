import * as path from "node:path";
import { loadPrivateKey } from "../../apk/keys";
import { buildPackage } from "../../build/build";
import { writeArchIndex } from "../../build/emit/arch-index";
import { chooseRunner } from "../../build/prepare";
import { loadRecipe } from "../../build/recipe";
import type { RunnerName } from "../../build/runners/runner";
import { chooseArchs, recipeTargets, skippedNotice } from "../../build/target-archs";
import { requireArch } from "../../image/config/arch";
import { DistrolessError } from "../../util/errors";
import {
  boolFlag,
  type CliContext,
  type FlagTable,
  keyValueFlag,
  output,
  parseVerbArgs,
  passphraseFlag,
  sourceDateEpochFlag,
  stringFlag,
  stringsFlag,
  type Verb,
} from "../command";

const RUNNERS = ["auto", "bubblewrap", "host", "melange"];

const FLAGS = {
  arch: {
    type: "string",
    multiple: true,
    value: "ARCH",
    help: "architecture to build (default: the host's)",
  },
  "signing-key": { type: "string", value: "KEY", help: "RSA private key that signs the apks" },
  "passphrase-env": {
    type: "string",
    value: "VAR",
    help: "environment variable holding the key's passphrase",
  },
  out: { type: "string", value: "DIR", help: "apks go to DIR/ARCH/ (default packages)" },
  runner: {
    type: "string",
    value: "auto|bubblewrap|host|melange",
    help: "where steps run (default auto: bubblewrap where it works)",
  },
  "source-dir": {
    type: "string",
    value: "DIR",
    help: "copied into the workspace (default: the recipe's directory)",
  },
  "source-date-epoch": { type: "string", value: "SECONDS", help: "file times in the apks (default 0)" },
  repository: {
    type: "string",
    multiple: true,
    value: "URL|DIR",
    help: "extra repository for the build environment",
  },
  keyring: {
    type: "string",
    multiple: true,
    value: "KEY",
    help: "extra trusted key for the build environment",
  },
  "build-option": { type: "string", multiple: true, value: "NAME", help: "enable a recipe build option" },
  var: { type: "string", multiple: true, value: "KEY=VALUE", help: "set a recipe var" },
  env: {
    type: "string",
    multiple: true,
    value: "KEY=VALUE",
    help: "set a build environment variable (the recipe's environment wins)",
  },
  "pipeline-dir": {
    type: "string",
    multiple: true,
    value: "DIR",
    help: "directory of extra `uses:` pipelines",
  },
  namespace: { type: "string", value: "NS", help: "packager namespace for SBOM purls" },
  "cache-dir": { type: "string", value: "DIR", help: "cache for indexes, apks and build guests" },
  "no-network": { type: "boolean", help: "no network inside the sandbox" },
  "keep-workspace": { type: "boolean", help: "keep the build workspace and print where it is" },
  "workspace-dir": {
    type: "string",
    value: "DIR",
    help: "make build workspaces under DIR (default: the temp dir); a tmpfs such as /dev/shm makes the recipe's file writes cheap but holds them in memory",
  },
  "skip-tests": { type: "boolean", help: "don't run the recipe's test: sections after the build" },
  "lint-require": {
    type: "string",
    multiple: true,
    value: "L,...",
    help: "linters whose findings fail the build (default: melange's required set)",
  },
  "lint-warn": {
    type: "string",
    multiple: true,
    value: "L,...",
    help: "linters whose findings are printed as warnings (default: melange's warn set)",
  },
  "no-generate-index": {
    type: "boolean",
    help: "don't write APKINDEX.tar.gz beside the apks (melange's --generate-index=false)",
  },
  "generate-provenance": {
    type: "boolean",
    help: "write SLSA provenance (NAME-VER.attest.tar.gz) beside each apk",
  },
  json: { type: "boolean", help: "print the result as JSON" },
} satisfies FlagTable;

export const verb: Verb = {
  summary: "build apk packages from a melange recipe",
  usage:
    "pulumi-distroless package MELANGE_YAML [--arch A]... [--signing-key KEY] [--passphrase-env VAR] [--out DIR] [--runner auto|bubblewrap|host|melange] [--source-dir DIR] [--source-date-epoch N] [--repository R]... [--keyring KEY]... [--build-option O]... [--var K=V]... [--env K=V]... [--pipeline-dir D]... [--namespace NS] [--cache-dir DIR] [--no-network] [--keep-workspace] [--workspace-dir DIR] [--skip-tests] [--lint-require L,...] [--lint-warn L,...] [--no-generate-index] [--generate-provenance] [--json]",
  flags: FLAGS,
  example: "pulumi-distroless package melange.yaml --arch x86_64 --signing-key melange.rsa --out packages",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("package", ctx.argv, FLAGS);
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
    const vars = keyValueFlag(args, "var");
    const env = keyValueFlag(args, "env");
    const keyFile = stringFlag(args, "signing-key");
    const signingKey = keyFile
      ? await loadPrivateKey(abs(keyFile), passphraseFlag(args, ctx.env))
      : undefined;
    // melange builds every arch the recipe targets unless --arch narrows it; only the ones that
    // can run here are built (target-archs.ts).
    const recipe = await loadRecipe(recipeFile);
    // --env sets build environment variables under the recipe's own (melange's --env-file order).
    const withEnv = Object.keys(env).length
      ? {
          ...recipe,
          environment: { ...recipe.environment, environment: { ...env, ...recipe.environment?.environment } },
        }
      : undefined;
    const chosen = chooseArchs({
      targets: recipeTargets(recipe.package.targetArchitecture),
      requested: stringsFlag(args, "arch").map((a) => requireArch(a, "--arch")),
      runner: await chooseRunner(runner as RunnerName | "auto"),
    });
    const notice = skippedNotice(chosen);
    if (notice) ctx.progress.warn(notice);
    const outDir = abs(stringFlag(args, "out") ?? "packages");
    const sourceDir = stringFlag(args, "source-dir");
    const cacheDir = stringFlag(args, "cache-dir");
    const namespace = stringFlag(args, "namespace");
    const workspaceDir = stringFlag(args, "workspace-dir");

    // melange's --lint-require / --lint-warn: comma-separated, repeatable; given, they replace the defaults.
    const lintList = (name: string) =>
      args.values[name] === undefined
        ? undefined
        : stringsFlag(args, name).flatMap((v) => v.split(",").filter((x) => x !== ""));
    const lintRequire = lintList("lint-require");
    const lintWarn = lintList("lint-warn");
    const results = [];
    for (const arch of chosen.archs) {
      const r = await buildPackage({
        recipeFile,
        ...(withEnv ? { recipe: withEnv } : {}),
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
        ...(workspaceDir ? { workspaceDir: abs(workspaceDir) } : {}),
        ...(boolFlag(args, "skip-tests") ? { skipTests: true } : {}),
        lint: { ...(lintRequire ? { require: lintRequire } : {}), ...(lintWarn ? { warn: lintWarn } : {}) },
        ...(boolFlag(args, "generate-provenance") ? { generateProvenance: true } : {}),
      });
      results.push(r);
    }
    const packages = results.flatMap((r) => r.packages);
    const indexes = [];
    if (!boolFlag(args, "no-generate-index")) {
      for (const arch of chosen.archs) {
        const files = packages.filter((p) => p.arch === arch).map((p) => p.file);
        const dir = path.join(outDir, arch);
        const written = await writeArchIndex(dir, files, {
          progress: ctx.progress,
          ...(signingKey ? { signingKey } : {}),
        });
        indexes.push({
          arch,
          file: path.relative(ctx.cwd, written.file) || written.file,
          digest: written.digest,
        });
      }
    }
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
          ...(p.provenance
            ? {
                provenance: path.relative(ctx.cwd, p.provenance.file) || p.provenance.file,
                provenanceDigest: p.provenance.digest,
              }
            : {}),
        })),
        inputDigests: Object.fromEntries(results.map((r) => [r.environment.arch, r.inputDigest])),
        indexes,
        runner: results[0]?.runner ?? null,
      },
      () =>
        packages.map((p) => `${path.relative(ctx.cwd, p.file) || p.file} ${p.controlChecksum}`).join("\n"),
    );
    return 0;
  },
};
