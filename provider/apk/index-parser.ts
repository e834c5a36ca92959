import { DistrolessError } from "../util/errors";
import type { CompactIndex } from "./index-compact";
import { CompactIndexBuilder, type RecordFields } from "./index-compact-builder";
import type { IndexEntry } from "./index-text";
import { checkArch, checkPackageName, checkPackageVersion } from "./names";

/** The space-separated words of text[start, end) pushed onto `out`, without slicing the whole value first. */
function pushWords(out: string[], text: string, start: number, end: number): void {
  let at = start;
  while (at < end) {
    let sp = text.indexOf(" ", at);
    if (sp < 0 || sp > end) sp = end;
    if (sp > at) out.push(text.slice(at, sp));
    at = sp + 1;
  }
}

/** The record being read: one object reused for every record (the builder copies what it keeps). */
interface Staging extends RecordFields {
  depends: string[];
  installIf: string[];
  provides: string[];
  extra: [string, string][];
  /** Whether any line of the record was seen. */
  open: boolean;
}

function resetStaging(s: Staging): void {
  s.checksum = s.name = s.version = s.arch = s.description = s.url = "";
  s.license = s.origin = s.maintainer = s.commit = "";
  s.size = s.installedSize = s.buildTime = 0;
  s.providerPriority = -1;
  s.depends.length = s.installIf.length = s.provides.length = s.extra.length = 0;
  s.open = false;
}

function newStaging(): Staging {
  const s = { depends: [], installIf: [], provides: [], extra: [] } as unknown as Staging;
  resetStaging(s);
  return s;
}

/**
 * APKINDEX text parsed as it arrives (chunks of any size, lines split anywhere) into the compact
 * form (index-compact.ts), so a large index never sits in memory as one string or as one object
 * per package.
 */
export class IndexTextParser {
  private readonly builder = new CompactIndexBuilder();
  /** name id -> the first record's position; more only when a name repeats. */
  private readonly seen = new Map<number, number | number[]>();
  /** The line each record starts on, by record position (for messages). */
  private readonly lines: number[] = [];
  private readonly cur = newStaging();
  private recordLine = 0;
  private lineNo = 0;
  private rest = "";
  private ended = false;

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

  /** The end of the text: the last line and record are read and checked. */
  close(): void {
    if (this.ended) return;
    if (this.rest !== "") this.line(this.rest, 0, this.rest.length);
    this.rest = "";
    this.finishRecord();
    this.ended = true;
  }

  /** The parsed index (`sourceSha256`: the digest of the archive it came from, if any). Once. */
  finish(
    sourceSha256 = "",
    description = "",
    signatures: readonly { algorithm: string; keyName: string }[] = [],
  ): CompactIndex {
    this.close();
    return this.builder.finish(sourceSha256, description, signatures);
  }

  /** The records as plain entries (small indexes, tools that edit them). */
  end(): IndexEntry[] {
    return this.finish().entries();
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
    if (!cur.open) return;
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
    const b = this.builder;
    // A repeated name is rare (apk-tools and melange indexes list one version per name), so one
    // small number per record in the common case.
    const nameId = b.intern(cur.name);
    const prev = this.seen.get(nameId);
    if (prev !== undefined) {
      const versionId = b.internedId(cur.version);
      for (const p of typeof prev === "number" ? [prev] : prev) {
        if (versionId !== undefined && b.versionId(p) === versionId) {
          this.fail(
            `APKINDEX lists ${cur.name}-${cur.version} twice (records at lines ${this.lines[p]} and ${this.recordLine})`,
          );
        }
      }
    }
    const position = b.add(cur, nameId);
    if (prev === undefined) this.seen.set(nameId, position);
    else if (typeof prev === "number") this.seen.set(nameId, [prev, position]);
    else prev.push(position);
    this.lines.push(this.recordLine);
    resetStaging(cur);
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
    const cur = this.cur;
    if (!cur.open) {
      cur.open = true;
      this.recordLine = this.lineNo;
    }
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
        pushWords(cur.depends, text, v, end);
        break;
      case 105 /* i */:
        pushWords(cur.installIf, text, v, end);
        break;
      case 112 /* p */:
        pushWords(cur.provides, text, v, end);
        break;
      case 107 /* k */:
        cur.providerPriority = this.uint(text, v, end, "k");
        break;
      default:
        cur.extra.push([text[pos]!, text.slice(v, end)]);
    }
  }
}
