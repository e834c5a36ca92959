import * as path from "node:path";
import type { RepositoryClient } from "../repository/client";
import { displayLocation, parseRepositorySource } from "../repository/source";
import type { PinnedPackage } from "../resolve/apko-lock";
import type { Lock } from "../resolve/lock";
import { packageRefFor, resolvePackages } from "../resolve/resolve";
import type { Solution } from "../resolve/solver";
import { DistrolessError } from "../util/errors";
import { formatBytes, type Progress, silentProgress } from "../util/log";
import { readBaseInstalled } from "./base/base-installed";
import { type ApkArch, requireArch } from "./config/arch";
import type { ApkoConfig, KeyRef } from "./config/types";
import { apkoInstallOrder } from "./install-order";
import type { InstallPlan, KeyContent } from "./install-plan";

/**
 * The image pipeline up to the assembler, shared by the `build` verb and DistrolessImage:
 * config (+ overrides) -> resolved lock -> verified local apks (install plans) + the keys to install.
 */

/** What a DistrolessImage adds to its apko config. */
export interface ImageOverrides {
  /** `[@tag ]url-or-path` entries appended to contents.repositories. */
  repositories?: string[];
  /** Like `repositories`, appended to contents.build_repositories (resolved from, not written in). */
  buildRepositories?: string[];
  /** Key files or URLs appended to contents.keyring. */
  keyring?: string[];
  /** Keys given inline (`{ name, pem }`, e.g. an ApkRepository's): trusted and installed. */
  inlineKeys?: { name: string; pem: string }[];
  /** Constraints appended to contents.packages. */
  packages?: string[];
  /** Replaces the config's archs. */
  archs?: string[];
  /** Merged over the config's annotations. */
  annotations?: Record<string, string>;
  /** Replaces the config's contents.baseimage (build on this OCI layout; `apkindex` lists its packages). */
  baseImage?: { image: string; apkindex: string };
  /** Base for relative paths in the overrides. */
  baseDir?: string;
}

/** The config with the overrides applied (a new object; the input is not changed). */
export function applyOverrides(config: ApkoConfig, o: ImageOverrides): ApkoConfig {
  const baseDir = o.baseDir ?? process.cwd();
  const repositories = [...config.contents.repositories];
  for (const r of o.repositories ?? []) {
    const src = parseRepositorySource(r, baseDir);
    if (!repositories.some((x) => x.location === src.location && x.tag === src.tag)) repositories.push(src);
  }
  const buildRepositories = [...config.contents.buildRepositories];
  for (const r of o.buildRepositories ?? []) {
    const src = parseRepositorySource(r, baseDir);
    if (!buildRepositories.some((x) => x.location === src.location)) buildRepositories.push(src);
  }
  const keyring: KeyRef[] = [...config.contents.keyring];
  for (const k of o.keyring ?? []) {
    const isUrl = /^https?:\/\//i.test(k);
    const location = isUrl ? k : path.resolve(baseDir, k);
    const name = isUrl ? path.posix.basename(new URL(k).pathname) : path.basename(location);
    if (!keyring.some((x) => x.location === location))
      keyring.push({ raw: k, kind: isUrl ? "url" : "local", location, name });
  }
  const packages = [...config.contents.packages];
  for (const p of o.packages ?? []) if (!packages.includes(p)) packages.push(p);
  const archs: ApkArch[] = o.archs?.length
    ? [...new Set(o.archs.map((a) => requireArch(a, "archs")))]
    : config.archs;
  const baseImage = o.baseImage
    ? {
        image: path.resolve(baseDir, o.baseImage.image),
        apkindex: path.resolve(baseDir, o.baseImage.apkindex),
        written: { ...o.baseImage },
      }
    : config.contents.baseImage;
  return {
    ...config,
    contents: {
      ...config.contents,
      repositories,
      buildRepositories,
      keyring,
      packages,
      ...(baseImage ? { baseImage } : {}),
    },
    archs,
    archsExplicit: o.archs?.length ? true : config.archsExplicit,
    annotations: { ...config.annotations, ...(o.annotations ?? {}) },
  };
}

export interface ResolvedImage {
  config: ApkoConfig;
  lock: Lock;
  notices: string[];
  /** Per arch, what the solver chose and why (for explanations). */
  solutions: ReadonlyMap<string, Solution>;
  /** Every key to install under etc/apk/keys (keyring, inline and runtime keys). */
  keys: KeyContent[];
}

/** Resolves every arch's packages (indexes verified and cached by the client). */
export async function resolveImage(
  config: ApkoConfig,
  client: RepositoryClient,
  options: {
    inlineKeys?: { name: string; pem: string }[];
    pins?: ReadonlyMap<string, readonly PinnedPackage[]>;
  } = {},
): Promise<ResolvedImage> {
  if (config.contents.keyring.length) await client.addKeys(config.contents.keyring);
  if (options.inlineKeys?.length) {
    const ring = client.keyring ?? (await client.addKeys([]));
    for (const k of options.inlineKeys) ring.add(k.name, k.pem);
  }
  const repositories = [...config.contents.repositories, ...config.contents.buildRepositories];
  const base = config.contents.baseImage;
  const installed = base
    ? new Map(
        await Promise.all(
          config.archs.map(async (arch) => [arch, (await readBaseInstalled(base, arch)).entries] as const),
        ),
      )
    : undefined;
  const resolved = await resolvePackages(
    {
      repositories,
      packages: config.contents.packages,
      archs: config.archs,
      ...(options.pins ? { lock: options.pins } : {}),
      ...(installed ? { installed } : {}),
    },
    { client },
  );
  const keys: KeyContent[] = [];
  const seen = new Set<string>();
  for (const name of [
    ...config.contents.keyring.map((k) => k.name),
    ...(options.inlineKeys ?? []).map((k) => k.name),
  ]) {
    if (seen.has(name)) continue;
    const pem = client.keyring?.pem(name);
    if (!pem)
      throw new DistrolessError("E_MISSING", `key ${name} was not loaded`, { subject: config.source });
    keys.push({ name, content: pem });
    seen.add(name);
  }
  for (const k of config.contents.runtimeKeyring) if (!seen.has(k.name)) keys.push(k);
  return { config, lock: resolved.lock, notices: resolved.notices, solutions: resolved.solutions, keys };
}

/** Fetches (verified, cached) every locked package; returns one install plan per arch. */
export async function fetchInstallPlans(
  resolved: ResolvedImage,
  client: RepositoryClient,
  progress: Progress = silentProgress,
): Promise<InstallPlan[]> {
  const repositories = [
    ...resolved.config.contents.repositories,
    ...resolved.config.contents.buildRepositories,
  ];
  const plans: InstallPlan[] = [];
  for (const arch of resolved.config.archs) {
    const lockedForArch = resolved.lock.archs[arch] ?? [];
    // On a base image apko installs straight from its lock (it builds a base only from one): the
    // lock's order, with no second resolution (which could not see the base's packages anyway).
    const locked = resolved.config.contents.baseImage
      ? lockedForArch
      : await apkoInstallOrder(resolved.config, arch, lockedForArch, client);
    const bytes = locked.reduce((n, p) => n + p.size, 0);
    progress.info(`${arch}: fetching ${locked.length} packages (${formatBytes(bytes)})`);
    const fetched = await Promise.all(
      // The installer verifies each data segment while it reads it, so fetching checks C: only.
      locked.map((p) => client.fetchPackage(packageRefFor(p, arch, repositories), { verifyData: false })),
    );
    plans.push({
      arch,
      packages: locked.map((p, i) => ({
        name: p.name,
        version: p.version,
        checksum: p.checksum,
        apkPath: fetched[i]!.path,
        repository: displayLocation(fetched[i]!.ref.source),
        head: fetched[i]!.head,
      })),
    });
  }
  return plans;
}
