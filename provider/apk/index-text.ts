import { IndexTextParser } from "./index-parser";

/** One package record of an APKINDEX. */
export interface IndexEntry {
  /** `C:` — `Q1` + base64 SHA-1 of the package's compressed control segment. */
  checksum: string;
  name: string;
  version: string;
  arch: string;
  /** `S:` apk file size. */
  size: number;
  /** `I:` installed size. */
  installedSize: number;
  description: string;
  url: string;
  license: string;
  origin: string;
  maintainer: string;
  /** `t:` unix seconds. */
  buildTime: number;
  commit: string;
  depends: string[];
  installIf: string[];
  provides: string[];
  providerPriority?: number;
  /** Fields we do not model, in record order. */
  extra: [string, string][];
}

/** A blank record; `lists` gives each list field its (fresh or shared) array. */
export function blankIndexEntry(lists: () => string[] = () => []): IndexEntry {
  return {
    checksum: "",
    name: "",
    version: "",
    arch: "",
    size: 0,
    installedSize: 0,
    description: "",
    url: "",
    license: "",
    origin: "",
    maintainer: "",
    buildTime: 0,
    commit: "",
    depends: lists(),
    installIf: lists(),
    provides: lists(),
    extra: [],
  };
}

export function emptyIndexEntry(): IndexEntry {
  return blankIndexEntry();
}

/**
 * Parses APKINDEX text: records separated by blank lines, `X:value` lines in any order, unknown
 * fields kept. A record must have C, P and V; a package (name + version) listed twice is an error.
 */
export function parseIndexText(text: string, subject = "APKINDEX"): IndexEntry[] {
  const parser = new IndexTextParser(subject);
  parser.feed(text);
  return parser.end();
}

/**
 * Writes APKINDEX text in melange's field order (C P V A S I T U L o m t c D i p k), each record
 * followed by a blank line. Empty optional fields are left out; `T:` and `t:` are always written,
 * as melange does.
 */
export function formatIndexText(entries: IndexEntry[]): string {
  const out: string[] = [];
  for (const e of entries) {
    out.push(`C:${e.checksum}`, `P:${e.name}`, `V:${e.version}`);
    if (e.arch) out.push(`A:${e.arch}`);
    if (e.size) out.push(`S:${e.size}`);
    if (e.installedSize) out.push(`I:${e.installedSize}`);
    out.push(`T:${e.description}`);
    if (e.url) out.push(`U:${e.url}`);
    if (e.license) out.push(`L:${e.license}`);
    if (e.origin) out.push(`o:${e.origin}`);
    if (e.maintainer) out.push(`m:${e.maintainer}`);
    out.push(`t:${e.buildTime}`);
    if (e.commit) out.push(`c:${e.commit}`);
    if (e.depends.length) out.push(`D:${e.depends.join(" ")}`);
    if (e.installIf.length) out.push(`i:${e.installIf.join(" ")}`);
    if (e.provides.length) out.push(`p:${e.provides.join(" ")}`);
    if (e.providerPriority) out.push(`k:${e.providerPriority}`);
    for (const [k, v] of e.extra) out.push(`${k}:${v}`);
    out.push("");
  }
  return out.length ? `${out.join("\n")}\n` : "";
}

/** Sorts entries the way we publish them: by name, then version (apk order), then arch. */
export function sortIndexEntries(
  entries: IndexEntry[],
  compare: (a: string, b: string) => number,
): IndexEntry[] {
  return [...entries].sort(
    (a, b) =>
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
      compare(a.version, b.version) ||
      (a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0),
  );
}
