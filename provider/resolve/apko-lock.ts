import { checkArch, checkPackageName, checkPackageVersion } from "../apk/names";
import { redactUrl } from "../repository/source";
import { DistrolessError } from "../util/errors";
import { readFileCapped, writeFileAtomic } from "../util/fs";
import { q1Decode } from "../util/hash";
import type { Lock, LockedPackage } from "./lock";

/**
 * apko's lock file (`apko lock` writes `apko.lock.json`): version "v1", the keyring and
 * repositories, and every arch's packages in install order, each with its `C:` checksum and, when
 * known, the byte ranges and digests of its signature, control and data segments.
 */
export interface ApkoLockFile {
  version: string;
  config?: { name?: string; checksum?: string };
  contents: {
    keyring: { name: string; url: string }[];
    build_repositories: ApkoLockRepo[];
    repositories: ApkoLockRepo[];
    packages: ApkoLockPackage[];
  };
}

export interface ApkoLockRepo {
  name: string;
  url: string;
  architecture: string;
}

export interface ApkoLockRange {
  range: string;
  checksum: string;
}

export interface ApkoLockPackage {
  name: string;
  url: string;
  version: string;
  architecture: string;
  signature: ApkoLockRange;
  control: ApkoLockRange;
  data: ApkoLockRange;
  checksum: string;
}

/** What a lock pins for one arch: exact versions, and the checksum when the lock has one. */
export interface PinnedPackage {
  name: string;
  version: string;
  checksum?: string;
  /** The apk URL the lock recorded. */
  url?: string;
}

const MAX_LOCK_BYTES = 64 << 20;

function stripScheme(s: string): string {
  return s.replace(/^https?:\/\//, "");
}

/**
 * Writes our lock in apko's shape, so apko (and tools that read its locks) can use it. Credentials in
 * the keyring and repository URLs given are removed: a lock file is shared, never secret.
 */
export function toApkoLock(
  lock: Lock,
  meta: { configName?: string; keyring?: string[]; repositories?: string[] } = {},
): ApkoLockFile {
  const file: ApkoLockFile = {
    version: "v1",
    contents: { keyring: [], build_repositories: [], repositories: [], packages: [] },
  };
  if (meta.configName) file.config = { name: meta.configName };
  for (const k of (meta.keyring ?? []).map(redactUrl)) {
    file.contents.keyring.push({ name: stripScheme(k), url: k });
  }
  const repositories = (meta.repositories ?? []).map(redactUrl);
  for (const arch of Object.keys(lock.archs)) {
    for (const repo of repositories) {
      file.contents.repositories.push({
        name: stripScheme(`${repo}/${arch}`),
        url: `${repo}/${arch}/APKINDEX.tar.gz`,
        architecture: arch,
      });
    }
    for (const p of lock.archs[arch]!) file.contents.packages.push(apkoPackage(p, arch));
  }
  return file;
}

function apkoPackage(p: LockedPackage, arch: string): ApkoLockPackage {
  const sha1 = q1Decode(p.checksum);
  return {
    name: p.name,
    url: `${p.repository}/${arch}/${p.name}-${p.version}.apk`,
    version: p.version,
    architecture: arch,
    signature: { range: "", checksum: "" },
    // The control digest is the `C:` checksum in apko's notation; ranges and the data digest need
    // the apk itself and are left empty in a lock made from indexes alone.
    control: { range: "", checksum: sha1 ? `sha1-${sha1.toString("base64")}` : "" },
    data: { range: "", checksum: "" },
    checksum: p.checksum,
  };
}

/** Reads an apko lock's pins by arch; a malformed file is an error naming the field. */
export function parseApkoLock(text: string, subject: string): Map<string, PinnedPackage[]> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DistrolessError("E_FORMAT", `not JSON: ${(err as Error).message}`, { subject });
  }
  const contents = (json as { contents?: { packages?: unknown } } | null)?.contents;
  if (!contents || !Array.isArray(contents.packages)) {
    throw new DistrolessError("E_FORMAT", "no contents.packages list (not an apko lock file?)", { subject });
  }
  const byArch = new Map<string, PinnedPackage[]>();
  contents.packages.forEach((raw: unknown, i: number) => {
    const p = raw as Partial<ApkoLockPackage> | null;
    const where = `contents.packages[${i}]`;
    for (const field of ["name", "version", "architecture"] as const) {
      if (typeof p?.[field] !== "string" || p[field] === "") {
        throw new DistrolessError("E_FORMAT", `${where}.${field} is missing or not a string`, { subject });
      }
    }
    // A lock file is shared and edited by hand: what becomes a path must be apk's grammar.
    checkPackageName(p!.name!, subject, `${where}.name`);
    checkPackageVersion(p!.version!, subject, `${where}.version`);
    checkArch(p!.architecture!, subject, `${where}.architecture`);
    const pin: PinnedPackage = { name: p!.name!, version: p!.version! };
    const checksum = typeof p!.checksum === "string" && p!.checksum ? p!.checksum : controlToQ1(p!.control);
    if (checksum) {
      if (!q1Decode(checksum)) {
        throw new DistrolessError(
          "E_FORMAT",
          `${where}.checksum ${JSON.stringify(checksum.slice(0, 60))} is not a Q1 checksum`,
          { subject },
        );
      }
      pin.checksum = checksum;
    }
    if (typeof p!.url === "string" && p!.url) pin.url = p!.url;
    const list = byArch.get(p!.architecture!) ?? [];
    list.push(pin);
    byArch.set(p!.architecture!, list);
  });
  return byArch;
}

/** Locks older than apko 0.13 carry only `control.checksum` (`sha1-<base64>`), the same digest as `C:`. */
function controlToQ1(control: Partial<ApkoLockRange> | undefined): string | undefined {
  const m = /^sha1-(.+)$/.exec(control?.checksum ?? "");
  return m ? `Q1${m[1]}` : undefined;
}

export async function readApkoLockFile(file: string): Promise<Map<string, PinnedPackage[]>> {
  const data = await readFileCapped(file, MAX_LOCK_BYTES);
  return parseApkoLock(data.toString("utf8"), file);
}

export async function writeApkoLockFile(file: string, lock: ApkoLockFile): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(lock, null, 2)}\n`);
}
