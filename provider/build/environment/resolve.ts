/**
 * Resolves a build environment (`environment.contents` of a compiled recipe, plus repositories and
 * keys the caller adds) to exact packages with the project's solver, and fetches them verified.
 */
import type { ApkoConfig } from "../../image/config/types";
import { RepositoryClient } from "../../repository/client";
import type { KeySource } from "../../repository/keys";
import type { FetchedPackage } from "../../repository/package-fetcher";
import { parseRepositorySource, type RepositorySource } from "../../repository/source";
import { packageRefFor, resolvePackages } from "../../resolve/resolve";
import { DistrolessError } from "../../util/errors";
import type { Progress } from "../../util/log";
import type { EnvironmentLock, EnvironmentPackage } from "./lock";

export interface EnvironmentSources {
  /** Repositories added to the recipe's own (paths or URLs, `@tag` allowed). */
  repositories?: string[];
  /** Public key files (or URLs) trusted for those repositories' indexes. */
  keyring?: string[];
  /** Base for relative paths in `repositories`/`keyring` (default: the working directory). */
  baseDir?: string;
  cacheDir?: string;
  offline?: boolean;
  /** Accept unsigned or untrusted indexes (a warning is still reported). */
  allowUntrusted?: boolean;
  progress?: Progress;
}

export interface ResolvedEnvironment {
  lock: EnvironmentLock;
  /** Returns a verified local copy of a locked package. */
  fetch(pkg: EnvironmentPackage): Promise<FetchedPackage>;
}

function keySource(text: string, baseDir: string): KeySource {
  if (/^https?:\/\//i.test(text)) return { kind: "url", location: text };
  return { kind: "local", location: parseRepositorySource(text, baseDir).location };
}

export async function resolveEnvironment(
  env: ApkoConfig,
  arch: string,
  sources: EnvironmentSources = {},
): Promise<ResolvedEnvironment> {
  const baseDir = sources.baseDir ?? process.cwd();
  const repos: RepositorySource[] = [
    ...env.contents.repositories,
    ...env.contents.buildRepositories,
    ...(sources.repositories ?? []).map((r) => parseRepositorySource(r, baseDir)),
  ];
  const world = env.contents.packages;
  if (world.length > 0 && repos.length === 0) {
    throw new DistrolessError(
      "E_CONFIG",
      `the build environment needs ${world.join(", ")} but names no repositories (add environment.contents.repositories, or pass repositories to the build)`,
      { subject: env.source },
    );
  }
  const client = new RepositoryClient({
    ...(sources.cacheDir ? { cacheDir: sources.cacheDir } : {}),
    ...(sources.offline ? { offline: true } : {}),
    ...(sources.allowUntrusted ? { allowUntrusted: true } : {}),
    ...(sources.progress ? { progress: sources.progress } : {}),
  });
  const keys: KeySource[] = [
    ...env.contents.keyring.map((k) => ({ kind: k.kind, location: k.location, name: k.name })),
    ...(sources.keyring ?? []).map((k) => keySource(k, baseDir)),
  ];
  if (keys.length > 0) await client.addKeys(keys);

  // The same resolution as images (provider/resolve): verified, cached indexes, apko's choices.
  const packages: EnvironmentPackage[] = [];
  if (world.length > 0) {
    const res = await resolvePackages({ repositories: repos, packages: world, archs: [arch] }, { client });
    for (const n of res.notices) sources.progress?.info(`build environment: ${n}`);
    for (const l of res.lock.archs[arch] ?? []) {
      const ref = packageRefFor(l, arch, repos);
      const p: EnvironmentPackage = {
        name: l.name,
        version: l.version,
        arch,
        checksum: l.checksum,
        source: ref.source,
      };
      if (l.size > 0) p.size = l.size;
      packages.push(p);
    }
  }
  return {
    lock: { arch, kind: "resolved", packages, constraints: [...world] },
    // verifyData false: the installer verifies every file while it reads the data segment.
    fetch: (pkg) => {
      if (!pkg.source)
        throw new DistrolessError("E_INTERNAL", `no repository recorded for ${pkg.name}-${pkg.version}`);
      const ref = { name: pkg.name, version: pkg.version, arch, checksum: pkg.checksum, source: pkg.source };
      return client.fetchPackage(pkg.size ? { ...ref, size: pkg.size } : ref, { verifyData: false });
    },
  };
}
