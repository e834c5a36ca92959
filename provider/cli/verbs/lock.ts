import * as path from "node:path";
import { loadApkoConfig, requireArch } from "../../image/config";
import { applyOverrides } from "../../image/pipeline";
import { RepositoryClient } from "../../repository/client";
import { lockSummary } from "../../resolve/lock";
import { resolvePackages } from "../../resolve/resolve";

/*
 * Loaded only when a flag asks for them (--lock/--output, --why, --security-db): a plain `lock`
 * starts without them.
 */
const apkoLock = () => require("../../resolve/apko-lock") as typeof import("../../resolve/apko-lock");
const why = () => require("../../resolve/why") as typeof import("../../resolve/why");
const security = () => ({
  ...(require("../../security/drift") as typeof import("../../security/drift")),
  ...(require("../../security/load") as typeof import("../../security/load")),
  ...(require("../../security/secdb") as typeof import("../../security/secdb")),
});

/** One package of the printed lock; `belowFix` with --security-db. */
type LockSummaryEntry = ReturnType<typeof lockSummary>[string][number] & {
  belowFix?: { fixedIn: string; ids: string[] }[];
};

import { DistrolessError } from "../../util/errors";
import {
  boolFlag,
  type CliContext,
  type FlagTable,
  output,
  parseVerbArgs,
  stringFlag,
  stringsFlag,
  type Verb,
} from "../command";
import { imageOverrideFlagOptions, imageOverridesFromArgs } from "../image-flags";
import { portableApkoLock } from "../portable-lock";

const FLAGS = {
  arch: {
    type: "string",
    multiple: true,
    value: "ARCH",
    help: "architecture to resolve (apk or OCI name); default: the config's",
  },
  "allow-untrusted": { type: "boolean", help: "accept indexes that are unsigned or signed by unknown keys" },
  offline: { type: "boolean", help: "use only the cache" },
  "cache-dir": { type: "string", value: "DIR", help: "cache for indexes and apks" },
  lock: { type: "string", value: "APKO_LOCK_JSON", help: "resolve within an existing lock's pins" },
  output: {
    type: "string",
    value: "APKO_LOCK_JSON",
    help: "write an apko lock file (paths relative to the config's directory: portable)",
  },
  why: { type: "string", value: "NAME", help: "print the dependency chain that pulled NAME in" },
  json: { type: "boolean", help: "print the result as JSON (the lock is JSON either way)" },
  "security-db": {
    type: "string",
    multiple: true,
    value: "FILE|URL",
    help: "a secdb: warn about packages below a known fix",
  },
  ...imageOverrideFlagOptions,
} satisfies FlagTable;

export const verb: Verb = {
  summary: "resolve an apko config's packages per arch and print the lock (install order)",
  usage:
    "pulumi-distroless lock APKO_YAML [--arch A]... [--allow-untrusted] [--offline] [--cache-dir D] " +
    "[--repository R]... [--build-repository R]... [--keyring KEY]... [--package P]... " +
    "[--lock APKO_LOCK_JSON] [--output APKO_LOCK_JSON] [--why NAME] [--security-db FILE|URL]... [--json]",
  flags: FLAGS,
  example: "pulumi-distroless lock apko.yaml --arch x86_64 --output apko.lock.json",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("lock", ctx.argv, FLAGS);
    if (args.positionals.length !== 1) {
      throw new DistrolessError("E_CONFIG", `expected one apko config file (usage: ${verb.usage})`);
    }
    const configFile = path.resolve(ctx.cwd, args.positionals[0]!);
    const config = applyOverrides(await loadApkoConfig(configFile), imageOverridesFromArgs(args, ctx));
    const archFlags = stringsFlag(args, "arch").flatMap((a) => a.split(","));
    const archs =
      archFlags.length > 0 ? [...new Set(archFlags.map((a) => requireArch(a, "--arch")))] : config.archs;
    const lockFile = stringFlag(args, "lock");
    const cacheDir = stringFlag(args, "cache-dir");
    const client = new RepositoryClient({
      allowUntrusted: boolFlag(args, "allow-untrusted"),
      offline: boolFlag(args, "offline"),
      env: ctx.env,
      progress: ctx.progress,
      ...(cacheDir ? { cacheDir: path.resolve(ctx.cwd, cacheDir) } : {}),
    });
    const result = await resolvePackages(
      {
        // apko resolves from both; build repositories just are not written into the image.
        repositories: [...config.contents.repositories, ...config.contents.buildRepositories],
        keys: config.contents.keyring,
        packages: config.contents.packages,
        archs,
        ...(lockFile ? { lock: await apkoLock().readApkoLockFile(path.resolve(ctx.cwd, lockFile)) } : {}),
      },
      { client },
    );
    for (const n of result.notices) ctx.progress.warn(n);
    const out = stringFlag(args, "output");
    if (out) {
      const lockOut = path.resolve(ctx.cwd, out);
      await apkoLock().writeApkoLockFile(lockOut, portableApkoLock(result.lock, config, configFile, lockOut));
    }
    const whyName = stringFlag(args, "why");
    if (whyName !== undefined) {
      const lines = why().explainWhy(whyName, result.solutions);
      output(ctx, boolFlag(args, "json"), lines, () => lines.join("\n"));
      return 0;
    }
    // The lock is JSON either way; --json is accepted so every verb takes it.
    const summary: Record<string, LockSummaryEntry[]> = lockSummary(result.lock);
    const dbs = stringsFlag(args, "security-db");
    if (dbs.length > 0) {
      const { loadSecurityDbs, missingFixes, securityNotes } = security();
      const db = await loadSecurityDbs(dbs, client, ctx.cwd);
      for (const pkgs of Object.values(summary)) {
        for (const p of pkgs) {
          const missing = missingFixes(db, p.name, p.version);
          if (missing.length > 0) p.belowFix = missing.map((f) => ({ fixedIn: f.version, ids: f.ids }));
        }
      }
      const locked = Object.fromEntries(
        Object.entries(summary).map(([arch, pkgs]) => [
          arch,
          Object.fromEntries(pkgs.map((p) => [p.name, p.version])),
        ]),
      );
      for (const n of securityNotes(db, locked).notices) ctx.progress.warn(n);
    }
    ctx.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  },
};
