import type { IndexEntry } from "../apk/index-text";
import { RepositoryClient } from "../repository/client";
import type { RepositoryOptions } from "../repository/context";
import type { LoadedIndex } from "../repository/index-loader";
import type { KeySource } from "../repository/keys";
import type { PackageRef } from "../repository/package-fetcher";
import { displayLocation, type RepositorySource } from "../repository/source";
import { DistrolessError } from "../util/errors";
import type { PinnedPackage } from "./apko-lock";
import { type Lock, type LockedPackage, lockFromSolutions } from "./lock";
import { newerThanLocked, solveLocked } from "./locked";
import { solveAllArchs } from "./multi-arch";
import { type IndexSource, type PackageIndex, packageIndexFor, type RepoInfo } from "./package-index";
import type { Solution } from "./solver";

export interface ResolveInput {
  /** Repositories in configuration order (an apko config's `RepositoryRef`s fit as they are). */
  repositories: readonly RepositorySource[];
  /** Keys to trust, added to `options.keyring` (an apko config's `KeyRef`s fit). */
  keys?: readonly KeySource[];
  /** World constraints (`contents.packages`). */
  packages: readonly string[];
  /** apk arch names. */
  archs: readonly string[];
  /** Pins by arch from an existing lock (apko.lock.json): resolve to exactly these. */
  lock?: ReadonlyMap<string, readonly PinnedPackage[]>;
  /**
   * Per arch, the packages already installed (a base image's, apko's `contents.baseimage`). As
   * apko does, each is pinned in the world at its installed version and available as itself, so
   * what needs it is satisfied by it (and a constraint it cannot meet fails); the lock leaves them
   * out, since they are not installed again.
   */
  installed?: ReadonlyMap<string, IndexEntry[]>;
}

/** The repository the installed packages of a base image appear from (messages, `why`). */
export const BASE_IMAGE_REPOSITORY = "(base image)";

export interface ResolveOutput {
  lock: Lock;
  /** Newer versions than a lock pins, version skew between archs, skipped install_if packages. */
  notices: string[];
  /** The indexes used, per arch in repository order. */
  indexes: Map<string, LoadedIndex[]>;
  solutions: Map<string, Solution>;
}

export interface ResolveOptions extends RepositoryOptions {
  /** Reuse a client (its cache and keyring); otherwise one is made from these options. */
  client?: RepositoryClient;
}

/**
 * config -> lock: loads (verified, cached) the index of every repository for every arch, then solves
 * the world per arch with multi-arch consistency, or honours a lock. The indexes are loaded in
 * parallel; the per-arch package maps are reused across calls over the same index contents.
 */
export async function resolvePackages(
  input: ResolveInput,
  options: ResolveOptions = {},
): Promise<ResolveOutput> {
  if (input.archs.length === 0)
    throw new DistrolessError("E_CONFIG", "no architectures to resolve for", { subject: "archs" });
  if (input.repositories.length === 0) {
    throw new DistrolessError("E_CONFIG", "no repositories to resolve from", {
      subject: "contents.repositories",
    });
  }
  const client = options.client ?? new RepositoryClient(options);
  if (input.keys && input.keys.length > 0) await client.addKeys([...input.keys]);

  const loaded = await Promise.all(
    input.archs.flatMap((arch) => input.repositories.map((source) => client.loadIndex(source, arch))),
  );
  const indexes = new Map<string, LoadedIndex[]>();
  const packageIndexes = new Map<string, PackageIndex>();
  const extraWorld = new Map<string, string[]>();
  for (const arch of input.archs) {
    const forArch = loaded.filter((l) => l.arch === arch);
    indexes.set(arch, forArch);
    const sources: IndexSource[] = forArch.map((l, order) => ({
      repo: repoInfo(l.source, order),
      index: l.index,
    }));
    const installed = input.installed?.get(arch);
    if (installed) {
      sources.push({ repo: { location: BASE_IMAGE_REPOSITORY, order: sources.length }, entries: installed });
      extraWorld.set(
        arch,
        installed.map((e) => `${e.name}=${e.version}`),
      );
    }
    packageIndexes.set(arch, packageIndexFor(arch, sources));
  }

  const notices: string[] = [];
  let solutions: Map<string, Solution>;
  if (input.lock) {
    solutions = new Map();
    for (const [arch, index] of packageIndexes) {
      const pins = input.lock.get(arch);
      if (!pins) {
        throw new DistrolessError(
          "E_RESOLVE",
          `the lock has no packages for ${arch} (re-run lock with this arch)`,
          {
            subject: arch,
          },
        );
      }
      const installed = input.installed?.get(arch) ?? [];
      const basePins = installed.map((e) => ({ name: e.name, version: e.version, checksum: e.checksum }));
      solutions.set(
        arch,
        solveLocked(index, [...input.packages, ...(extraWorld.get(arch) ?? [])], [...pins, ...basePins]),
      );
    }
    try {
      const fresh = solveAllArchs(input.packages, packageIndexes, { extraWorld });
      for (const [arch, s] of solutions) notices.push(...newerThanLocked(s, fresh.get(arch)!));
    } catch {
      // The unlocked world does not resolve today; the lock still does, which is what counts here.
    }
  } else {
    solutions = solveAllArchs(input.packages, packageIndexes, { extraWorld });
  }
  for (const [arch, s] of solutions) {
    const installed = new Set((input.installed?.get(arch) ?? []).map((e) => e.name));
    // apko leaves every package of the base's name out, whichever repository the solver took it from.
    if (installed.size > 0) s.packages = s.packages.filter((c) => !installed.has(c.name));
  }
  for (const s of solutions.values()) notices.push(...s.notices);
  return { lock: lockFromSolutions(solutions), notices, indexes, solutions };
}

function repoInfo(source: RepositorySource, order: number): RepoInfo {
  const info: RepoInfo = { location: displayLocation(source), order };
  if (source.tag) info.tag = source.tag;
  return info;
}

/**
 * How to fetch a locked package: its repository among the configured ones (matched by location
 * and tag, so credentials in a configured URL are used again).
 */
export function packageRefFor(
  p: LockedPackage,
  lockArch: string,
  repositories: readonly RepositorySource[],
): PackageRef {
  const source =
    repositories.find((r) => displayLocation(r) === p.repository && r.tag === p.tag) ??
    repositories.find((r) => displayLocation(r) === p.repository);
  if (!source) {
    throw new DistrolessError(
      "E_CONFIG",
      `${p.name}-${p.version} is locked to repository ${p.repository}, which the configuration no longer lists`,
      { subject: "contents.repositories" },
    );
  }
  return { name: p.name, version: p.version, arch: lockArch, checksum: p.checksum, size: p.size, source };
}
