import type { IndexEntry } from "../apk/index-text";
import type { SignatureAlgorithm } from "../apk/signature";
import type { TrustRecord } from "./index-trust";

/** A parsed index as the loader keeps it in memory, by archive digest. */
export interface ParsedRecord {
  sha256: string;
  description: string;
  signatures: { algorithm: SignatureAlgorithm; keyName: string }[];
  entries: IndexEntry[];
  /** Keys that verified these exact bytes. */
  trust: TrustRecord[];
}

/**
 * The on-disk form: one array per field rather than one object per package. JSON.parse of a few
 * long arrays (and rebuilding the objects) measured about twice as fast as parsing thousands of
 * small objects with repeated keys, which is what makes the disk cache worth reading.
 */
interface StoredRecord {
  v: 2;
  sha256: string;
  description: string;
  signatures: ParsedRecord["signatures"];
  trust: TrustRecord[];
  columns: {
    checksum: string[];
    name: string[];
    version: string[];
    arch: string[];
    size: number[];
    installedSize: number[];
    description: string[];
    url: string[];
    license: string[];
    origin: string[];
    maintainer: string[];
    buildTime: number[];
    commit: string[];
    depends: string[][];
    installIf: string[][];
    provides: string[][];
    providerPriority: (number | null)[];
    extra: [string, string][][];
  };
}

export function encodeParsed(r: ParsedRecord): StoredRecord {
  const e = r.entries;
  return {
    v: 2,
    sha256: r.sha256,
    description: r.description,
    signatures: r.signatures,
    trust: r.trust,
    columns: {
      checksum: e.map((x) => x.checksum),
      name: e.map((x) => x.name),
      version: e.map((x) => x.version),
      arch: e.map((x) => x.arch),
      size: e.map((x) => x.size),
      installedSize: e.map((x) => x.installedSize),
      description: e.map((x) => x.description),
      url: e.map((x) => x.url),
      license: e.map((x) => x.license),
      origin: e.map((x) => x.origin),
      maintainer: e.map((x) => x.maintainer),
      buildTime: e.map((x) => x.buildTime),
      commit: e.map((x) => x.commit),
      depends: e.map((x) => x.depends),
      installIf: e.map((x) => x.installIf),
      provides: e.map((x) => x.provides),
      providerPriority: e.map((x) => x.providerPriority ?? null),
      extra: e.map((x) => x.extra),
    },
  };
}

/** Rebuilds the record; undefined when the stored form is not one this version wrote. */
export function decodeParsed(raw: unknown, sha256: string): ParsedRecord | undefined {
  const s = raw as Partial<StoredRecord> | null;
  if (s?.v !== 2 || s.sha256 !== sha256 || !s.columns || !Array.isArray(s.columns.name)) return undefined;
  const c = s.columns;
  const n = c.name.length;
  const entries: IndexEntry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const entry: IndexEntry = {
      checksum: c.checksum[i]!,
      name: c.name[i]!,
      version: c.version[i]!,
      arch: c.arch[i]!,
      size: c.size[i]!,
      installedSize: c.installedSize[i]!,
      description: c.description[i]!,
      url: c.url[i]!,
      license: c.license[i]!,
      origin: c.origin[i]!,
      maintainer: c.maintainer[i]!,
      buildTime: c.buildTime[i]!,
      commit: c.commit[i]!,
      depends: c.depends[i]!,
      installIf: c.installIf[i]!,
      provides: c.provides[i]!,
      extra: c.extra[i]!,
    };
    const priority = c.providerPriority[i];
    if (priority !== null && priority !== undefined) entry.providerPriority = priority;
    entries[i] = entry;
  }
  return {
    sha256,
    description: s.description ?? "",
    signatures: s.signatures ?? [],
    trust: s.trust ?? [],
    entries,
  };
}
