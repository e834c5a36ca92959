import { DistrolessError } from "../util/errors";
import { blankIndexEntry, type IndexEntry } from "./index-text";
import { checkArch, checkPackageName, checkPackageVersion } from "./names";

/*
 * Records share one frozen empty array for absent lists: most records have no install_if, many no
 * provides, and at 60,000 records allocations dominate parse time. (`emptyIndexEntry` still gives
 * fresh arrays to code that builds entries.)
 */
const NO_WORDS: string[] = Object.freeze([]) as unknown as string[];
const NO_EXTRA: [string, string][] = Object.freeze([]) as unknown as [string, string][];

/** The space-separated words of text[start, end), without slicing the whole value first. */
function words(text: string, start: number, end: number): string[] {
  if (start >= end) return NO_WORDS;
  const out: string[] = [];
  let at = start;
  while (at < end) {
    let sp = text.indexOf(" ", at);
    if (sp < 0 || sp > end) sp = end;
    if (sp > at) out.push(text.slice(at, sp));
    at = sp + 1;
  }
  return out.length ? out : NO_WORDS;
}

/** `list` with the words of text[start, end) after it; the first line of a field costs no copy. */
function appendWords(list: string[], text: string, start: number, end: number): string[] {
  const more = words(text, start, end);
  if (list.length === 0) return more;
  if (more.length === 0) return list;
  return list.concat(more);
}

/** One literal shape for every entry, absent lists shared (see NO_WORDS). */
function parsedEntry(): IndexEntry {
  const e = blankIndexEntry(() => NO_WORDS);
  e.extra = NO_EXTRA;
  return e;
}

/**
 * APKINDEX text parsed as it arrives (chunks of any size, lines split anywhere), so a large index
 * never has to sit in memory as one buffer and one string besides its entries.
 */
export class IndexTextParser {
  private readonly entries: IndexEntry[] = [];
  private readonly seen = new Map<string, number | number[]>();
  /** The line each record starts on, by record position (for messages). */
  private readonly lines: number[] = [];
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

  /** A decimal field read in place (no substring is made for it). */
  private uint(text: string, start: number, end: number, field: string): number {
    let n = 0;
    for (let i = start; i < end; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) n = Number.NaN;
      else n = n * 10 + d;
    }
    if (end === start || Number.isNaN(n) || n > Number.MAX_SAFE_INTEGER) {
      this.fail(
        `APKINDEX line ${this.lineNo}: ${field} is not a number: "${text.slice(start, Math.min(end, start + 40))}"`,
      );
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
    // P:, V: and A: become paths (`<arch>/<name>-<version>.apk`): a record outside apk's grammar
    // is refused here, so no later path can be built from it.
    const at = `${this.subject}: APKINDEX record at line ${this.recordLine}`;
    checkPackageName(cur.name, at, "P:");
    checkPackageVersion(cur.version, at, "V:");
    if (cur.arch) checkArch(cur.arch, at, "A:");
    // name -> the first record's position; more only when a name repeats (rare: apk-tools and
    // melange indexes list one version per name), so one small number per record in the common case.
    const prev = this.seen.get(cur.name);
    if (prev === undefined) this.seen.set(cur.name, this.entries.length);
    else {
      const positions = typeof prev === "number" ? [prev] : prev;
      for (const at of positions) {
        if (this.entries[at]!.version === cur.version) {
          this.fail(
            `APKINDEX lists ${cur.name}-${cur.version} twice (records at lines ${this.lines[at]} and ${this.recordLine})`,
          );
        }
      }
      positions.push(this.entries.length);
      this.seen.set(cur.name, positions);
    }
    this.lines.push(this.recordLine);
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
    const v = pos + 2;
    switch (text.charCodeAt(pos)) {
      case 67 /* C */:
        cur.checksum = text.slice(v, end);
        break;
      case 80 /* P */:
        cur.name = text.slice(v, end);
        break;
      case 86 /* V */:
        cur.version = text.slice(v, end);
        break;
      case 65 /* A */:
        cur.arch = text.slice(v, end);
        break;
      case 83 /* S */:
        cur.size = this.uint(text, v, end, "S");
        break;
      case 73 /* I */:
        cur.installedSize = this.uint(text, v, end, "I");
        break;
      case 84 /* T */:
        cur.description = text.slice(v, end);
        break;
      case 85 /* U */:
        cur.url = text.slice(v, end);
        break;
      case 76 /* L */:
        cur.license = text.slice(v, end);
        break;
      case 111 /* o */:
        cur.origin = text.slice(v, end);
        break;
      case 109 /* m */:
        cur.maintainer = text.slice(v, end);
        break;
      case 116 /* t */:
        cur.buildTime = this.uint(text, v, end, "t");
        break;
      case 99 /* c */:
        cur.commit = text.slice(v, end);
        break;
      // apk-tools appends repeated list lines of one record (older index writers emit them).
      case 68 /* D */:
        cur.depends = appendWords(cur.depends, text, v, end);
        break;
      case 105 /* i */:
        cur.installIf = appendWords(cur.installIf, text, v, end);
        break;
      case 112 /* p */:
        cur.provides = appendWords(cur.provides, text, v, end);
        break;
      case 107 /* k */:
        cur.providerPriority = this.uint(text, v, end, "k");
        break;
      default:
        if (cur.extra === NO_EXTRA) cur.extra = [];
        cur.extra.push([text[pos]!, text.slice(v, end)]);
    }
  }
}
