import { DistrolessError } from "../util/errors";
import {
  type CompactIndex,
  NO_STRING,
  R_ARCH,
  R_CHECKSUM,
  R_COMMIT,
  R_DESCRIPTION,
  R_LICENSE,
  R_MAINTAINER,
  R_NAME,
  R_ORIGIN,
  R_URL,
  R_VERSION,
  STRING_FIELDS,
} from "./index-compact";
import { CompactIndexBuilder, U32Column } from "./index-compact-builder";
import { NameTable, rememberNameTable } from "./index-names";
import type { IndexEntry } from "./index-text";
import {
  checkArch,
  checkPackageName,
  checkPackageVersion,
  KNOWN_ARCHES,
  MAX_NAME_LENGTH,
  MAX_VERSION_LENGTH,
} from "./names";

const LF = 10;
const CR = 13;
const COLON = 58;

/** [A-Za-z0-9]: the first character of a name or version. */
function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function sameBytes(t: Uint8Array, a: number, b: number, c: number, d: number): boolean {
  if (b - a !== d - c) return false;
  for (let i = 0; i < b - a; i++) if (t[a + i] !== t[c + i]) return false;
  return true;
}

/** names.ts's package-name grammar, on bytes (no string is made for a valid name). */
function isNameBytes(t: Uint8Array, start: number, end: number): boolean {
  if (end - start > MAX_NAME_LENGTH || end === start || !isAlnum(t[start]!)) return false;
  for (let i = start + 1; i < end; i++) {
    const c = t[i]!;
    if (!isAlnum(c) && c !== 43 /* + */ && c !== 95 /* _ */ && c !== 46 /* . */ && c !== 45 /* - */)
      return false;
  }
  return true;
}

/** names.ts's readable-version rule, on bytes: apk's version characters, no `..`. */
function isVersionBytes(t: Uint8Array, start: number, end: number): boolean {
  if (end - start > MAX_VERSION_LENGTH || end === start || !isAlnum(t[start]!)) return false;
  for (let i = start + 1; i < end; i++) {
    const c = t[i]!;
    if (c === 46 /* . */) {
      if (t[i - 1] === 46) return false;
    } else if (!isAlnum(c) && c !== 95 /* _ */ && c !== 43 /* + */ && c !== 126 /* ~ */ && c !== 45 /* - */)
      return false;
  }
  return true;
}

/**
 * APKINDEX text parsed into the compact form (index-compact.ts) as its bytes arrive: the text is
 * kept as it is, in one buffer, and a record is the offsets of its lines' values. Only what must
 * be checked now is read (C, P, V present; P, V and A within apk's grammar, since they become
 * paths; the numbers); everything else is decoded when asked for.
 */
export class IndexTextParser {
  private readonly builder: CompactIndexBuilder;
  private readonly names: NameTable;
  /** Where each record starts (for messages). */
  private readonly starts = new U32Column();
  private readonly arches = new Map<string, number>();
  private text: Buffer;
  private length = 0;
  /** The start of the first line not read yet. */
  private pos = 0;
  /** Where the search for the next line end resumes (no line end before it since `pos`). */
  private searched = 0;
  private ended = false;
  // The record being read.
  private readonly fields = new Uint32Array(STRING_FIELDS).fill(NO_STRING);
  private readonly lists: number[][] = [[], [], [], []];
  /** How many of each list's entries belong to this record (the arrays are reused, never shrunk). */
  private readonly counts = [0, 0, 0, 0];
  /** Where the record's `p:` lines end. */
  private readonly providesEnds: number[] = [];
  private open = false;
  private recordStart = 0;
  private nameEnd = 0;
  private versionEnd = 0;
  private archEnd = 0;
  private size = 0;
  private installedSize = 0;
  private buildTime = 0;
  private priority = -1;
  /** The last arch value that was checked (records of one index nearly always share it), and its count. */
  private knownArch = "";
  private knownArchStart = 0;
  private knownArchEnd = 0;
  private knownArchCount = 0;

  /** `capacity`: the text's size when known (an archive's tar header says it), so it is not regrown. */
  constructor(
    private readonly subject = "APKINDEX",
    capacity = 64 << 10,
  ) {
    this.text = Buffer.allocUnsafe(Math.max(capacity, 1));
    // Sized for records of ~300 bytes, a typical index's (columns grow if more come).
    const records = Math.ceil(capacity / 300);
    this.builder = new CompactIndexBuilder(records);
    this.names = new NameTable(records, true);
  }

  /** More of the text: copied after what came before, and every complete line read. */
  push(chunk: Uint8Array): void {
    const need = this.length + chunk.length;
    if (need > this.text.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.text.length * 2));
      this.text.copy(next, 0, 0, this.length);
      this.text = next;
    }
    this.text.set(chunk, this.length); // a memcpy
    this.length = need;
    this.scan();
  }

  /** The text read so far (a view: valid until more is pushed). */
  textSoFar(): Buffer {
    return this.text.subarray(0, this.length);
  }

  /** Text given as a string (small indexes, tests). */
  feed(chunk: string): void {
    this.push(Buffer.from(chunk, "utf8"));
  }

  /** The end of the text: the last line and record are read and checked. */
  close(): void {
    if (this.ended) return;
    this.scan();
    if (this.pos < this.length) this.line(this.pos, this.length);
    this.pos = this.length;
    this.finishRecord();
    this.countArch();
    this.ended = true;
  }

  /** Adds the run of records of the last arch seen to its count. */
  private countArch(): void {
    if (this.knownArchCount === 0) return;
    this.arches.set(this.knownArch, (this.arches.get(this.knownArch) ?? 0) + this.knownArchCount);
    this.knownArchCount = 0;
  }

  /**
   * The parsed index (`sourceSha256`: the digest of the archive it came from, if any). Once. A
   * package (name and version) listed twice is refused here.
   */
  finish(
    sourceSha256 = "",
    description = "",
    signatures: readonly { algorithm: string; keyName: string }[] = [],
  ): CompactIndex {
    this.close();
    const text = this.text.subarray(0, this.length);
    const index = this.builder.finish(text, sourceSha256, { description, signatures, arches: this.arches });
    rememberNameTable(index, this.names);
    return index;
  }

  /** The records as plain entries (small indexes, tools that edit them). */
  end(): IndexEntry[] {
    return this.finish().entries();
  }

  private fail(message: string): never {
    throw new DistrolessError("E_FORMAT", message, { subject: this.subject });
  }

  /** The line number of text offset `o` (for messages only: counted when needed). */
  private lineAt(o: number): number {
    let n = 1;
    for (let at = this.text.indexOf(LF, 0); at >= 0 && at < o; at = this.text.indexOf(LF, at + 1)) n++;
    return n;
  }

  /**
   * Every complete line not read yet (memchr through Buffer.indexOf: twice a byte loop's speed).
   * The search resumes where the last one stopped, so a line longer than many chunks is not
   * searched again from its start on every chunk.
   */
  private scan(): void {
    const t = this.text.subarray(0, this.length); // indexOf must not look past the text
    let pos = this.pos;
    let from = Math.max(pos, this.searched);
    for (;;) {
      const nl = t.indexOf(LF, from);
      if (nl < 0) break;
      this.line(pos, nl);
      pos = from = nl + 1;
    }
    this.pos = pos;
    this.searched = this.length;
  }

  /** A decimal field read in place. */
  private uint(start: number, end: number, field: string): number {
    const t = this.text;
    let n = 0;
    for (let i = start; i < end; i++) {
      const d = t[i]! - 48;
      if (d < 0 || d > 9) n = Number.NaN;
      else n = n * 10 + d;
    }
    if (end === start || Number.isNaN(n) || n > Number.MAX_SAFE_INTEGER) {
      const shown = t.toString("utf8", start, Math.min(end, start + 40));
      this.fail(`APKINDEX line ${this.lineAt(start)}: ${field} is not a number: "${shown}"`);
    }
    return n;
  }

  /** One line: text[pos, nl), without its newline. */
  private line(pos: number, nl: number): void {
    const t = this.text;
    const end = nl > pos && t[nl - 1] === CR ? nl - 1 : nl;
    if (end === pos) {
      this.finishRecord();
      return;
    }
    if (end - pos < 2 || t[pos + 1] !== COLON) {
      const shown = t.toString("utf8", pos, Math.min(end, pos + 40));
      this.fail(`APKINDEX line ${this.lineAt(pos)} is not "X:value": "${shown}"`);
    }
    if (!this.open) {
      this.open = true;
      this.recordStart = pos;
    }
    const v = pos + 2;
    const value = end > v ? v : NO_STRING;
    const f = this.fields;
    switch (t[pos]) {
      case 67 /* C */:
        f[R_CHECKSUM] = value;
        break;
      case 80 /* P */:
        f[R_NAME] = value;
        this.nameEnd = end;
        break;
      case 86 /* V */:
        f[R_VERSION] = value;
        this.versionEnd = end;
        break;
      case 65 /* A */:
        f[R_ARCH] = value;
        this.archEnd = end;
        break;
      case 83 /* S */:
        this.size = this.uint(v, end, "S");
        break;
      case 73 /* I */:
        this.installedSize = this.uint(v, end, "I");
        break;
      case 84 /* T */:
        f[R_DESCRIPTION] = value;
        break;
      case 85 /* U */:
        f[R_URL] = value;
        break;
      case 76 /* L */:
        f[R_LICENSE] = value;
        break;
      case 111 /* o */:
        f[R_ORIGIN] = value;
        break;
      case 109 /* m */:
        f[R_MAINTAINER] = value;
        break;
      case 116 /* t */:
        this.buildTime = this.uint(v, end, "t");
        break;
      case 99 /* c */:
        f[R_COMMIT] = value;
        break;
      // apk-tools appends repeated list lines of one record (older index writers emit them).
      case 68 /* D */:
        if (value !== NO_STRING) this.lists[0]![this.counts[0]!++] = v;
        break;
      case 105 /* i */:
        if (value !== NO_STRING) this.lists[1]![this.counts[1]!++] = v;
        break;
      case 112 /* p */:
        if (value !== NO_STRING) {
          this.providesEnds[this.counts[2]!] = end;
          this.lists[2]![this.counts[2]!++] = v;
        }
        break;
      case 107 /* k */:
        this.priority = this.uint(v, end, "k");
        break;
      default:
        this.lists[3]![this.counts[3]!++] = pos;
    }
  }

  private finishRecord(): void {
    if (!this.open) return;
    const f = this.fields;
    const t = this.text;
    const at = () => `${this.subject}: APKINDEX record at line ${this.lineAt(this.recordStart)}`;
    if (f[R_NAME] === NO_STRING || f[R_VERSION] === NO_STRING || f[R_CHECKSUM] === NO_STRING) {
      const missing = [f[R_CHECKSUM] === NO_STRING && "C", f[R_NAME] === NO_STRING && "P"]
        .concat(f[R_VERSION] === NO_STRING && "V")
        .filter(Boolean)
        .join(", ");
      this.fail(`APKINDEX record at line ${this.lineAt(this.recordStart)} lacks ${missing}`);
    }
    // P:, V: and A: become paths (`<arch>/<name>-<version>.apk`): a record outside apk's grammar
    // is refused here, so no later path can be built from it. Checked on the bytes; names.ts
    // words the refusal.
    const name = f[R_NAME]!;
    if (!isNameBytes(t, name, this.nameEnd))
      checkPackageName(t.toString("utf8", name, this.nameEnd), at(), "P:");
    const version = f[R_VERSION]!;
    if (!isVersionBytes(t, version, this.versionEnd))
      checkPackageVersion(t.toString("utf8", version, this.versionEnd), at(), "V:");
    const arch = f[R_ARCH]!;
    if (arch !== NO_STRING) {
      if (!sameBytes(t, arch, this.archEnd, this.knownArchStart, this.knownArchEnd)) {
        const a = t.toString("latin1", arch, this.archEnd);
        if (!KNOWN_ARCHES.has(a)) checkArch(t.toString("utf8", arch, this.archEnd), at(), "A:");
        this.countArch();
        this.knownArch = a;
        this.knownArchStart = arch;
        this.knownArchEnd = this.archEnd;
      }
      this.knownArchCount++;
    }
    const p = this.builder.add({
      fields: f,
      lists: this.lists,
      counts: this.counts,
      size: this.size,
      installedSize: this.installedSize,
      buildTime: this.buildTime,
      providerPriority: this.priority,
    });
    this.starts.push(this.recordStart);
    const twice = this.names.addOwn(t, p, name, this.nameEnd, version, this.versionEnd);
    if (twice >= 0) {
      const label = `${t.toString("utf8", name, this.nameEnd)}-${t.toString("utf8", version, this.versionEnd)}`;
      const lines = `${this.lineAt(this.starts.data[twice]!)} and ${this.lineAt(this.recordStart)}`;
      this.fail(`APKINDEX lists ${label} twice (records at lines ${lines})`);
    }
    const provides = this.lists[2]!;
    for (let i = 0; i < this.counts[2]!; i++)
      this.names.addProvides(t, p, provides[i]!, this.providesEnds[i]!, name, this.nameEnd);
    f.fill(NO_STRING);
    this.counts.fill(0);
    this.size = this.installedSize = this.buildTime = 0;
    this.priority = -1;
    this.open = false;
  }
}
