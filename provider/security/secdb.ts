import { compareVersions, isValidVersion } from "../apk/version";
import { DistrolessError } from "../util/errors";

/**
 * Alpine's and Wolfi's security databases ("secdb"): JSON with `packages[].pkg.name` and
 * `packages[].pkg.secfixes: { "<version>": ["CVE-…", …] }`, the version being the first one that
 * fixes those CVEs. Version "0" lists CVEs the package was never affected by. Alpine publishes one
 * per release and repository (`https://secdb.alpinelinux.org/<release>/<repo>.json`), Wolfi one
 * for its repository (`https://packages.wolfi.dev/os/security.json`).
 */

export interface Fix {
  /** The first version that fixes `ids`. */
  version: string;
  ids: string[];
}

/** Package name -> its fixes, oldest fix version first. */
export type SecurityDb = ReadonlyMap<string, readonly Fix[]>;

const MAX_IDS_PER_VERSION = 10_000;

/** Parses a secdb document, naming `source` and the entry in any error; hostile shapes are refused. */
export function parseSecurityDb(text: string, source: string): SecurityDb {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new DistrolessError("E_FORMAT", `not JSON: ${(err as Error).message}`, { subject: source });
  }
  const packages = (doc as { packages?: unknown } | null)?.packages;
  if (!Array.isArray(packages)) {
    throw new DistrolessError("E_FORMAT", "a security database has a `packages` list", { subject: source });
  }
  const db = new Map<string, Fix[]>();
  for (const [i, entry] of packages.entries()) {
    const pkg = (entry as { pkg?: unknown } | null)?.pkg as
      | { name?: unknown; secfixes?: unknown }
      | undefined;
    const where = `packages[${i}]`;
    if (!pkg || typeof pkg.name !== "string" || pkg.name === "") {
      throw new DistrolessError("E_FORMAT", `${where}.pkg.name is missing`, { subject: source });
    }
    const secfixes = pkg.secfixes ?? {};
    if (typeof secfixes !== "object" || Array.isArray(secfixes) || secfixes === null) {
      throw new DistrolessError("E_FORMAT", `${where}.pkg.secfixes (${pkg.name}) is not a map`, {
        subject: source,
      });
    }
    const fixes = db.get(pkg.name) ?? [];
    for (const [version, ids] of Object.entries(secfixes)) {
      if (version === "0") continue; // never affected
      if (!isValidVersion(version)) {
        throw new DistrolessError(
          "E_FORMAT",
          `${where}.pkg.secfixes (${pkg.name}): "${version}" is not an apk version`,
          {
            subject: source,
          },
        );
      }
      if (
        !Array.isArray(ids) ||
        ids.length > MAX_IDS_PER_VERSION ||
        !ids.every((x) => typeof x === "string")
      ) {
        throw new DistrolessError(
          "E_FORMAT",
          `${where}.pkg.secfixes (${pkg.name}) ${version}: not a list of ids`,
          {
            subject: source,
          },
        );
      }
      // One id may name several (`CVE-2023-1 CVE-2023-2`, as Alpine writes some).
      fixes.push({ version, ids: ids.flatMap((x) => x.split(/\s+/).filter(Boolean)) });
    }
    fixes.sort((a, b) => compareVersions(a.version, b.version));
    db.set(pkg.name, fixes);
  }
  return db;
}

/** Several databases as one (an image may draw from Alpine main and community, say). */
export function mergeSecurityDbs(dbs: readonly SecurityDb[]): SecurityDb {
  if (dbs.length === 1) return dbs[0]!;
  const out = new Map<string, Fix[]>();
  for (const db of dbs) for (const [name, fixes] of db) out.set(name, [...(out.get(name) ?? []), ...fixes]);
  for (const fixes of out.values()) fixes.sort((a, b) => compareVersions(a.version, b.version));
  return out;
}

/** The ids fixed by moving `name` from `from` to `to` (from < fix version <= to), sorted. */
export function fixedBetween(db: SecurityDb, name: string, from: string | undefined, to: string): string[] {
  const ids = new Set<string>();
  for (const fix of db.get(name) ?? []) {
    if (from !== undefined && compareVersions(fix.version, from) <= 0) continue;
    if (compareVersions(fix.version, to) > 0) continue;
    for (const id of fix.ids) ids.add(id);
  }
  return [...ids].sort();
}

/** Fixes newer than `version`: what a package pinned at `version` still lacks. */
export function missingFixes(db: SecurityDb, name: string, version: string): Fix[] {
  return (db.get(name) ?? []).filter((f) => compareVersions(f.version, version) > 0);
}
