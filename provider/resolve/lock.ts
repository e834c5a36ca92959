import { ociDigest } from "../util/hash";
import type { Solution } from "./solver";

/** One package of a lock: everything needed to fetch, verify and diff it. */
export interface LockedPackage {
  name: string;
  version: string;
  /** The package's `A:` (normally the arch it is locked for; `noarch` occurs). */
  arch: string;
  /** Repository root: URL (credentials removed) or absolute directory. */
  repository: string;
  /** `@tag` of a pinned repository. */
  tag?: string;
  /** `C:`: `Q1` + base64 SHA-1 of the control segment; what fetching verifies first. */
  checksum: string;
  /** `S:` apk file size. */
  size: number;
  /** `I:` installed size. */
  installedSize: number;
  origin: string;
}

/**
 * The resolved package set of an image: per apk arch, packages in install order. It is the input of
 * the build and of the Pulumi diff; `lockDigest` changes exactly when a locked identity changes.
 */
export interface Lock {
  archs: Record<string, LockedPackage[]>;
  /** `sha256:<hex>` over the locked identity of every package of every arch. */
  lockDigest: string;
}

export function lockFromSolutions(solutions: ReadonlyMap<string, Solution>): Lock {
  const archs: Record<string, LockedPackage[]> = {};
  for (const arch of [...solutions.keys()].sort()) {
    archs[arch] = solutions.get(arch)!.packages.map((cand) => {
      const e = cand.entry;
      const p: LockedPackage = {
        name: e.name,
        version: e.version,
        arch: e.arch || arch,
        repository: cand.repo.location,
        checksum: e.checksum,
        size: e.size,
        installedSize: e.installedSize,
        origin: e.origin,
      };
      if (cand.repo.tag) p.tag = cand.repo.tag;
      return p;
    });
  }
  return { archs, lockDigest: computeLockDigest(archs) };
}

/**
 * Digest of what identifies the locked packages (not sizes or origins, which follow from the
 * checksum): archs sorted, packages in install order, since order changes the image too.
 */
export function computeLockDigest(archs: Record<string, LockedPackage[]>): string {
  const canonical = Object.keys(archs)
    .sort()
    .map((arch) => [
      arch,
      archs[arch]!.map((p) => [p.name, p.version, p.arch, p.checksum, p.repository, p.tag ?? ""]),
    ]);
  return ociDigest(JSON.stringify(canonical));
}

/** `@tag location` or `location`: a package's repository as a config would write it. */
export function repositoryOf(p: Pick<LockedPackage, "repository" | "tag">): string {
  return p.tag ? `@${p.tag} ${p.repository}` : p.repository;
}

/** The short form the CLI prints and Pulumi shows: `{ arch: [{ name, version, checksum, repository }] }`. */
export function lockSummary(
  lock: Lock,
): Record<string, { name: string; version: string; checksum: string; repository: string }[]> {
  const out: Record<string, { name: string; version: string; checksum: string; repository: string }[]> = {};
  for (const [arch, pkgs] of Object.entries(lock.archs)) {
    out[arch] = pkgs.map((p) => ({
      name: p.name,
      version: p.version,
      checksum: p.checksum,
      repository: repositoryOf(p),
    }));
  }
  return out;
}
