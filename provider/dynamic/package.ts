import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { SigningKey } from "../apk/keys";
import { type BuildInputs, buildPackage, prepareBuild } from "../build";
import { chooseRunner } from "../build/prepare";
import { loadRecipe, validateRecipe } from "../build/recipe";
import { chooseArchs, recipeTargets, skippedNotice } from "../build/target-archs";
import { requireArch } from "../image/config/arch";
import { defaultCacheDir } from "../repository/cache";
import { digestOf } from "../util/canonical";
import { pathExists, writeFileAtomic } from "../util/fs";
import { sha256Hex } from "../util/hash";
import {
  configSourceFailures,
  defineProvider,
  type OperationContext,
  type Props,
  type ResourceImplementation,
} from "./define";
import { parseKeyInputs } from "./keys";
import { signingKeyOf } from "./signing";
import { containsUnknown, UNKNOWN } from "./unknowns";

type RunnerInput = "auto" | "bubblewrap" | "host" | "melange";

/**
 * `archs` as given (each must be buildable here), or else every arch the recipe targets that can
 * run here (target-archs.ts), as the package verb and melange choose them.
 */
async function archsOf(
  inputs: Props,
  settings: Omit<BuildInputs, "arch">,
  ctx?: OperationContext,
): Promise<string[]> {
  const requested = Array.isArray(inputs.archs)
    ? inputs.archs.map((a) => requireArch(String(a), "archs"))
    : [];
  const recipe = settings.recipe ?? (settings.recipeFile ? await loadRecipe(settings.recipeFile) : undefined);
  const chosen = chooseArchs({
    targets: recipeTargets(recipe?.package.targetArchitecture),
    requested,
    runner: await chooseRunner(settings.runner),
  });
  const notice = skippedNotice(chosen);
  if (notice) ctx?.progress.warn(notice);
  return [...chosen.archs].sort();
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.map(String) : undefined;
}

/**
 * Build-environment keys given inline (`{ name, pem }`, e.g. an ApkRepository's) are written into
 * the cache so the builder can read them like any key file.
 */
async function keyFiles(inputs: Props, cacheDir: string | undefined): Promise<string[] | undefined> {
  const keys = parseKeyInputs(inputs.keyring, "keyring");
  if (!keys.length) return undefined;
  const out: string[] = [];
  for (const k of keys) {
    if (typeof k === "string") out.push(k);
    else {
      const file = path.join(cacheDir ?? defaultCacheDir(), "keys", sha256Hex(k.pem).slice(0, 16), k.name);
      if (!(await pathExists(file))) await writeFileAtomic(file, k.pem);
      out.push(file);
    }
  }
  return out;
}

/** Everything a build takes from the inputs but the arch: worked out once per operation. */
async function buildSettings(
  inputs: Props,
  key: SigningKey,
  ctx?: OperationContext,
): Promise<Omit<BuildInputs, "arch">> {
  const cacheDir = typeof inputs.cacheDir === "string" ? inputs.cacheDir : undefined;
  const configFile = typeof inputs.configFile === "string" ? path.resolve(inputs.configFile) : undefined;
  const recipe = configFile
    ? undefined
    : validateRecipe(inputs.config, `${String(inputs.resourceName)}.config`);
  const keyring = await keyFiles(inputs, cacheDir);
  const vars =
    inputs.vars && typeof inputs.vars === "object" ? (inputs.vars as Record<string, string>) : undefined;
  return {
    ...(configFile ? { recipeFile: configFile } : { recipe: recipe! }),
    ...(typeof inputs.sourceDir === "string" ? { sourceDir: path.resolve(inputs.sourceDir) } : {}),
    signingKey: key,
    runner: (typeof inputs.runner === "string" ? inputs.runner : "auto") as RunnerInput,
    sourceDateEpoch: typeof inputs.sourceDateEpoch === "number" ? inputs.sourceDateEpoch : 0,
    ...(vars ? { vars } : {}),
    ...(strings(inputs.buildOptions) ? { buildOptions: strings(inputs.buildOptions)! } : {}),
    ...(strings(inputs.repositories) ? { repositories: strings(inputs.repositories)! } : {}),
    ...(keyring ? { keyring } : {}),
    ...(cacheDir ? { cacheDir } : {}),
    ...(ctx ? { progress: ctx.progress } : {}),
  };
}

function outDirOf(inputs: Props): string {
  return path.resolve(
    typeof inputs.outDir === "string"
      ? inputs.outDir
      : path.join(".distroless", "packages", String(inputs.resourceName)),
  );
}

interface Resolved {
  inputDigest: string;
  name: string;
  version: string;
  archs: string[];
  /** Per arch: the build environment (`name=version`), so preview shows its changes. */
  environment: Record<string, Record<string, string>>;
}

async function resolve(news: Props): Promise<Resolved> {
  const key = signingKeyOf(news);
  const perArch: Record<string, string> = {};
  const environment: Record<string, Record<string, string>> = {};
  let name = "";
  let version = "";
  const settings = await buildSettings(news, key);
  for (const arch of await archsOf(news, settings)) {
    const prepared = await prepareBuild({ ...settings, arch });
    perArch[arch] = prepared.inputDigest;
    environment[arch] = Object.fromEntries(prepared.environment.packages.map((p) => [p.name, p.version]));
    name = prepared.plan.package.name;
    version = prepared.plan.package.fullVersion;
  }
  // Skipping tests changes what a build vouches for: turning them back on builds (and tests) again.
  const skipTests = news.skipTests === true ? { skipTests: true } : {};
  return {
    inputDigest: digestOf({ perArch, outDir: outDirOf(news), ...skipTests }),
    name,
    version,
    archs: Object.keys(perArch),
    environment,
  };
}

async function build(inputs: Props, ctx: OperationContext): Promise<Props> {
  const key = signingKeyOf(inputs);
  const outDir = outDirOf(inputs);
  const packages: Props[] = [];
  const provenance: Props[] = [];
  let name = "";
  let version = "";
  const settings = await buildSettings(inputs, key, ctx);
  const archs = await archsOf(inputs, settings, ctx);
  for (const arch of archs) {
    ctx.progress.info(`building for ${arch}`);
    // Provenance always: it sits beside the apk (never in it) and DistrolessImage attests it.
    const result = await buildPackage({
      ...settings,
      arch,
      outDir,
      generateProvenance: true,
      ...(inputs.skipTests === true ? { skipTests: true } : {}),
    });
    for (const p of result.packages) {
      if (p.provenance) {
        provenance.push({
          arch: p.arch,
          name: p.name,
          version: p.version,
          checksum: p.controlChecksum,
          file: p.provenance.file,
          digest: p.provenance.digest,
        });
      }
      packages.push({
        arch: p.arch,
        name: p.name,
        version: p.version,
        file: p.file,
        size: p.size,
        checksum: p.controlChecksum,
        datahash: p.datahash,
      });
    }
    const main = result.packages[0]!;
    name = main.name;
    version = main.version;
    ctx.progress.info(`${arch}: ${result.packages.length} package(s) built (${result.runner} runner)`);
  }
  const resolved = inputs.resolved as Resolved;
  return {
    resourceName: inputs.resourceName,
    name,
    version,
    ref: `${name}=${version}`,
    packages,
    provenance,
    archs,
    inputDigest: resolved.inputDigest,
    keyName: key.keyName,
    outDir,
  };
}

/** The apks and their provenance files a build wrote. */
function builtFiles(props: Props): string[] {
  const files = (list: unknown) =>
    (Array.isArray(list) ? list : []).map((p) => String((p as { file: unknown }).file));
  return [...files(props.packages), ...files(props.provenance)];
}

/** Built files are part of the desired state: missing or changed apks mean "build again". */
async function builtFilesIntact(props: Props): Promise<boolean> {
  for (const p of (props.packages ?? []) as { file: string; size: number }[]) {
    const st = await fsp.stat(p.file).catch(() => undefined);
    if (!st || st.size !== p.size) return false;
  }
  return true;
}

const implementation: ResourceImplementation = {
  type: "ApkPackage",
  secretInputs: ["signingKey", "signingKeyPassphrase"],

  async check(_olds, news) {
    const failures = configSourceFailures(news);
    if (news.signingKey === undefined || news.signingKey === null) {
      failures.push({ property: "signingKey", reason: "packages are signed: signingKey (PEM) is required" });
    }
    if (failures.length) return { inputs: news, failures };
    if (containsUnknown(news)) return { inputs: { ...news, resolved: UNKNOWN } };
    return { inputs: { ...news, resolved: await resolve(news) } };
  },

  async diff(_id, olds, news) {
    const resolved = news.resolved as Resolved | string | undefined;
    if (typeof resolved !== "object" || !resolved) return { changes: true };
    if (olds.inputDigest !== resolved.inputDigest) return { changes: true };
    return { changes: !(await builtFilesIntact(olds)) };
  },

  async create(inputs, ctx) {
    const outs = await build(inputs, ctx);
    return { id: `${outs.name}-${outs.version}`, outs };
  },

  async update(_id, olds, news, ctx) {
    const outs = await build(news, ctx);
    const kept = new Set(builtFiles(outs));
    for (const f of builtFiles(olds)) if (!kept.has(f)) await fsp.rm(f, { force: true });
    return { outs };
  },

  async read(id, props) {
    // Missing or altered apks: clearing inputDigest makes the next `up` build them again.
    return { id, props: (await builtFilesIntact(props)) ? props : { ...props, inputDigest: "" } };
  },

  async delete(_id, props) {
    for (const f of builtFiles(props)) await fsp.rm(f, { force: true });
  },
};

export const provider = defineProvider(implementation);
