import { DistrolessError } from "../util/errors";
import type { IndexEntry } from "./index-text";

/*
 * Records share one frozen empty array for absent lists: most records have no install_if, many no
 * provides, and at 60,000 records allocations dominate parse time. (`emptyIndexEntry` still gives
 * fresh arrays to code that builds entries.)
 */
const NO_WORDS: string[] = Object.freeze([]) as unknown as string[];
const NO_EXTRA: [string, string][] = Object.freeze([]) as unknown as [string, string][];

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

/** One literal shape for every entry: fast property access, less memory. */
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
 * APKINDEX text parsed as it arrives (chunks of any size, lines split anywhere), so a large index
 * never has to sit in memory as one buffer and one string besides its entries.
 */
export class IndexTextParser {
  private readonly entries: IndexEntry[] = [];
  /** name -> version(s) seen: duplicate detection without building a key string per record. */
  private readonly seen = new Map<string, string | Map<string, number>>();
  private readonly seenLine = new Map<string, number>();
  private cur: IndexEntry | undefined;
  private recordLine = 0;
  private lineNo = 0;
  private rest = "";

  constructor(private readonly subject = "APKINDEX") {}

  feed(chunk: string): void {
    const text = this.rest === "" ? chunk : this.rest + chunk;
    let pos = 0;
    for (;;) {
      const nl = text.indexOf("\n", pos);
      if (nl < 0) break;
      this.line(text, pos, nl);
      pos = nl + 1;
    }
    this.rest = pos === 0 ? text : text.slice(pos);
  }

  end(): IndexEntry[] {
    if (this.rest !== "") this.line(this.rest, 0, this.rest.length);
    this.rest = "";
    this.finishRecord();
    return this.entries;
  }

  private fail(message: string): never {
    throw new DistrolessError("E_FORMAT", message, { subject: this.subject });
  }

  private uint(value: string, field: string): number {
    let n = 0;
    const len = value.length;
    for (let i = 0; i < len; i++) {
      const d = value.charCodeAt(i) - 48;
      if (d < 0 || d > 9) n = Number.NaN;
      else n = n * 10 + d;
    }
    if (len === 0 || Number.isNaN(n) || n > Number.MAX_SAFE_INTEGER) {
      this.fail(`APKINDEX line ${this.lineNo}: ${field} is not a number: "${value.slice(0, 40)}"`);
    }
    return n;
  }

  private finishRecord(): void {
    const cur = this.cur;
    if (!cur) return;
    if (!cur.name || !cur.version || !cur.checksum) {
      const missing = [!cur.checksum && "C", !cur.name && "P", !cur.version && "V"]
        .filter(Boolean)
        .join(", ");
      this.fail(`APKINDEX record at line ${this.recordLine} lacks ${missing}`);
    }
    const prev = this.seen.get(cur.name);
    if (prev === undefined) {
      this.seen.set(cur.name, cur.version);
      this.seenLine.set(cur.name, this.recordLine);
    } else {
      const versions = typeof prev === "string" ? new Map([[prev, this.seenLine.get(cur.name)!]]) : prev;
      const dup = versions.get(cur.version);
      if (dup !== undefined) {
        this.fail(
          `APKINDEX lists ${cur.name}-${cur.version} twice (records at lines ${dup} and ${this.recordLine})`,
        );
      }
      versions.set(cur.version, this.recordLine);
      this.seen.set(cur.name, versions);
    }
    this.entries.push(cur);
    this.cur = undefined;
  }

  /** One line: text[pos, nl), without its newline. */
  private line(text: string, pos: number, nl: number): void {
    this.lineNo++;
    const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    if (end === pos) {
      this.finishRecord();
      return;
    }
    if (end - pos < 2 || text.charCodeAt(pos + 1) !== 58 /* : */) {
      this.fail(
        `APKINDEX line ${this.lineNo} is not "X:value": "${text.slice(pos, Math.min(end, pos + 40))}"`,
      );
    }
    if (!this.cur) {
      this.cur = parsedEntry();
      this.recordLine = this.lineNo;
    }
    const cur = this.cur;
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
        cur.size = this.uint(value, "S");
        break;
      case 73 /* I */:
        cur.installedSize = this.uint(value, "I");
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
        cur.buildTime = this.uint(value, "t");
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
        cur.providerPriority = this.uint(value, "k");
        break;
      default:
        if (cur.extra === NO_EXTRA) cur.extra = [];
        cur.extra.push([text[pos]!, value]);
    }
  }
}
