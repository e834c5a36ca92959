import { DistrolessError } from "../util/errors";

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

export function emptyIndexEntry(): IndexEntry {
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
    depends: [],
    installIf: [],
    provides: [],
    extra: [],
  };
}

function words(value: string): string[] {
  return value === "" ? [] : value.split(" ").filter(Boolean);
}

function uint(value: string, field: string, line: number, subject: string): number {
  if (!/^\d+$/.test(value)) {
    throw new DistrolessError(
      "E_FORMAT",
      `APKINDEX line ${line}: ${field} is not a number: "${value.slice(0, 40)}"`,
      {
        subject,
      },
    );
  }
  return Number(value);
}

/**
 * Parses APKINDEX text: records separated by blank lines, `X:value` lines in any order, unknown
 * fields kept. A record must have C, P and V; a package (name + version) listed twice is an error.
 */
export function parseIndexText(text: string, subject = "APKINDEX"): IndexEntry[] {
  const entries: IndexEntry[] = [];
  const seen = new Map<string, number>();
  let cur: IndexEntry | undefined;
  let recordLine = 0;
  let lineNo = 0;
  const finish = () => {
    if (!cur) return;
    if (!cur.name || !cur.version || !cur.checksum) {
      const missing = [!cur.checksum && "C", !cur.name && "P", !cur.version && "V"]
        .filter(Boolean)
        .join(", ");
      throw new DistrolessError("E_FORMAT", `APKINDEX record at line ${recordLine} lacks ${missing}`, {
        subject,
      });
    }
    const key = `${cur.name}-${cur.version}`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      throw new DistrolessError(
        "E_FORMAT",
        `APKINDEX lists ${key} twice (records at lines ${prev} and ${recordLine})`,
        { subject },
      );
    }
    seen.set(key, recordLine);
    entries.push(cur);
    cur = undefined;
  };
  let pos = 0;
  const len = text.length;
  while (pos <= len) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = len;
    lineNo++;
    const line = text.charCodeAt(nl - 1) === 13 ? text.slice(pos, nl - 1) : text.slice(pos, nl);
    pos = nl + 1;
    if (line.length === 0) {
      finish();
      continue;
    }
    if (line.length < 2 || line.charCodeAt(1) !== 58 /* : */) {
      throw new DistrolessError(
        "E_FORMAT",
        `APKINDEX line ${lineNo} is not "X:value": "${line.slice(0, 40)}"`,
        {
          subject,
        },
      );
    }
    if (!cur) {
      cur = emptyIndexEntry();
      recordLine = lineNo;
    }
    const value = line.slice(2);
    switch (line[0]) {
      case "C":
        cur.checksum = value;
        break;
      case "P":
        cur.name = value;
        break;
      case "V":
        cur.version = value;
        break;
      case "A":
        cur.arch = value;
        break;
      case "S":
        cur.size = uint(value, "S", lineNo, subject);
        break;
      case "I":
        cur.installedSize = uint(value, "I", lineNo, subject);
        break;
      case "T":
        cur.description = value;
        break;
      case "U":
        cur.url = value;
        break;
      case "L":
        cur.license = value;
        break;
      case "o":
        cur.origin = value;
        break;
      case "m":
        cur.maintainer = value;
        break;
      case "t":
        cur.buildTime = uint(value, "t", lineNo, subject);
        break;
      case "c":
        cur.commit = value;
        break;
      case "D":
        cur.depends = words(value);
        break;
      case "i":
        cur.installIf = words(value);
        break;
      case "p":
        cur.provides = words(value);
        break;
      case "k":
        cur.providerPriority = uint(value, "k", lineNo, subject);
        break;
      default:
        cur.extra.push([line[0]!, value]);
    }
  }
  finish();
  return entries;
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
