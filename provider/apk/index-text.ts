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

const NO_WORDS: string[] = Object.freeze([]) as unknown as string[];
const NO_EXTRA: [string, string][] = Object.freeze([]) as unknown as [string, string][];

/**
 * Parsed records share one frozen empty array for absent lists: most records have no install_if,
 * many no provides, and at 60,000 records the allocations dominate parse time. (`emptyIndexEntry`
 * still gives fresh arrays to code that builds entries.)
 */
function words(value: string): string[] {
  if (value === "") return NO_WORDS;
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const sp = value.indexOf(" ", start);
    const end = sp < 0 ? value.length : sp;
    if (end > start) out.push(value.slice(start, end));
    if (sp < 0) return out;
    start = sp + 1;
  }
}

function uint(value: string, field: string, line: number, subject: string): number {
  let n = 0;
  const len = value.length;
  for (let i = 0; i < len; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) n = Number.NaN;
    else n = n * 10 + d;
  }
  if (len === 0 || Number.isNaN(n) || n > Number.MAX_SAFE_INTEGER) {
    throw new DistrolessError(
      "E_FORMAT",
      `APKINDEX line ${line}: ${field} is not a number: "${value.slice(0, 40)}"`,
      {
        subject,
      },
    );
  }
  return n;
}

/** A parsed record: one literal shape for every entry (fast property access, less memory). */
function parsedEntry(): IndexEntry {
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
    depends: NO_WORDS,
    installIf: NO_WORDS,
    provides: NO_WORDS,
    extra: NO_EXTRA,
  };
}

/**
 * Parses APKINDEX text: records separated by blank lines, `X:value` lines in any order, unknown
 * fields kept. A record must have C, P and V; a package (name + version) listed twice is an error.
 */
export function parseIndexText(text: string, subject = "APKINDEX"): IndexEntry[] {
  const entries: IndexEntry[] = [];
  // name -> version(s) seen: duplicate detection without building a key string per record.
  const seen = new Map<string, string | Map<string, number>>();
  const seenLine = new Map<string, number>();
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
    const prev = seen.get(cur.name);
    if (prev === undefined) {
      seen.set(cur.name, cur.version);
      seenLine.set(cur.name, recordLine);
    } else {
      const versions = typeof prev === "string" ? new Map([[prev, seenLine.get(cur.name)!]]) : prev;
      const dup = versions.get(cur.version);
      if (dup !== undefined) {
        throw new DistrolessError(
          "E_FORMAT",
          `APKINDEX lists ${cur.name}-${cur.version} twice (records at lines ${dup} and ${recordLine})`,
          { subject },
        );
      }
      versions.set(cur.version, recordLine);
      seen.set(cur.name, versions);
    }
    entries.push(cur);
    cur = undefined;
  };
  let pos = 0;
  const len = text.length;
  while (pos <= len) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = len;
    lineNo++;
    const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    if (end === pos) {
      pos = nl + 1;
      finish();
      continue;
    }
    if (end - pos < 2 || text.charCodeAt(pos + 1) !== 58 /* : */) {
      throw new DistrolessError(
        "E_FORMAT",
        `APKINDEX line ${lineNo} is not "X:value": "${text.slice(pos, Math.min(end, pos + 40))}"`,
        { subject },
      );
    }
    if (!cur) {
      cur = parsedEntry();
      recordLine = lineNo;
    }
    const value = text.slice(pos + 2, end);
    switch (text.charCodeAt(pos)) {
      case 67 /* C */:
        cur.checksum = value;
        break;
      case 80 /* P */:
        cur.name = value;
        break;
      case 86 /* V */:
        cur.version = value;
        break;
      case 65 /* A */:
        cur.arch = value;
        break;
      case 83 /* S */:
        cur.size = uint(value, "S", lineNo, subject);
        break;
      case 73 /* I */:
        cur.installedSize = uint(value, "I", lineNo, subject);
        break;
      case 84 /* T */:
        cur.description = value;
        break;
      case 85 /* U */:
        cur.url = value;
        break;
      case 76 /* L */:
        cur.license = value;
        break;
      case 111 /* o */:
        cur.origin = value;
        break;
      case 109 /* m */:
        cur.maintainer = value;
        break;
      case 116 /* t */:
        cur.buildTime = uint(value, "t", lineNo, subject);
        break;
      case 99 /* c */:
        cur.commit = value;
        break;
      case 68 /* D */:
        cur.depends = words(value);
        break;
      case 105 /* i */:
        cur.installIf = words(value);
        break;
      case 112 /* p */:
        cur.provides = words(value);
        break;
      case 107 /* k */:
        cur.providerPriority = uint(value, "k", lineNo, subject);
        break;
      default:
        if (cur.extra === NO_EXTRA) cur.extra = [];
        cur.extra.push([text[pos]!, value]);
    }
    pos = nl + 1;
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
