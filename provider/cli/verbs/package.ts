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
    "pulumi-distroless package MELANGE_YAML [--arch A]... [--signing-key KEY] [--passphrase-env VAR] [--out DIR] [--runner auto|bubblewrap|host|melange] [--source-dir DIR] [--source-date-epoch N] [--repository R]... [--keyring KEY]... [--build-option O]... [--var K=V]... [--pipeline-dir D]... [--namespace NS] [--cache-dir DIR] [--no-network] [--keep-workspace] [--no-generate-index] [--generate-provenance] [--json]",
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
      "pipeline-dir": { type: "string", multiple: true },
      namespace: { type: "string" },
      "cache-dir": { type: "string" },
      "no-network": { type: "boolean" },
      "keep-workspace": { type: "boolean" },
      "no-generate-index": { type: "boolean" },
      "generate-provenance": { type: "boolean" },
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
    const vars: Record<string, string> = {};
    for (const kv of stringsFlag(args, "var")) {
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new DistrolessError("E_CONFIG", `--var needs KEY=VALUE (got "${kv}")`);
      vars[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const keyFile = stringFlag(args, "signing-key");
    const signingKey = keyFile
      ? await loadPrivateKey(abs(keyFile), passphraseFlag(args, ctx.env))
      : undefined;
    // melange builds every arch the recipe targets unless --arch narrows it; only the ones that
    // can run here are built (target-archs.ts).
    const recipe = await loadRecipe(recipeFile);
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

    const results = [];
    for (const arch of chosen.archs) {
      const r = await buildPackage({
        recipeFile,
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
