/**
 * The build environment as resolved: the exact packages (by control checksum) a guest root is made
 * of. Its digest names the cached guest root and is part of each package's inputDigest.
 */
import type { ApkoConfig } from "../../image/config/types";
import type { RepositorySource } from "../../repository/source";
import { ociDigest } from "../../util/hash";

export interface EnvironmentPackage {
  name: string;
  /** `<version>-r<epoch>` */
  version: string;
  arch: string;
  /** `C:` of the package: Q1 + base64 SHA-1 of its control segment. */
  checksum: string;
  /** apk file size from the index, when known. */
  size?: number;
  /** Where the package comes from (not part of the digest: the checksum is its identity). */
  source?: RepositorySource;
}

export interface EnvironmentLock {
  arch: string;
  /**
   * "resolved": packages are exact, in install order (dependencies first).
   * "unresolved": the host runner installs nothing; `constraints` are the environment as written.
   */
  kind: "resolved" | "unresolved";
  packages: EnvironmentPackage[];
  constraints: string[];
}

/**
 * What of the build environment, besides its packages, changes the guest root the image installer
 * makes: accounts, path mutations, certificates, the repositories written into etc/apk.
 */
export function guestShape(env: ApkoConfig): unknown {
  return {
    users: env.accounts.users.map((u) => [u.username, u.uid, u.gid, u.shell, u.homedir]),
    groups: env.accounts.groups.map((g) => [g.groupname, g.gid, [...g.members]]),
    runAs: env.accounts.runAs ?? "",
    paths: env.paths,
    certificates: env.certificates,
    repositories: [...env.contents.repositories.map((r) => r.raw), ...env.contents.runtimeRepositories],
  };
}

/** `sha256:<hex>` over the lock's identity (names, versions, checksums; or the constraints). */
export function environmentLockDigest(lock: EnvironmentLock): string {
  const identity = {
    v: 1,
    arch: lock.arch,
    kind: lock.kind,
    packages: lock.packages.map((p) => [p.name, p.version, p.checksum]),
    constraints: lock.kind === "unresolved" ? lock.constraints : [],
  };
  return ociDigest(JSON.stringify(identity));
}

/** `name=version` pins, as melange records its resolved environment in `.melange.yaml`. */
export function lockPins(lock: EnvironmentLock): string[] {
  if (lock.kind === "unresolved") return [...lock.constraints];
  return lock.packages.map((p) => `${p.name}=${p.version}`).sort();
}
