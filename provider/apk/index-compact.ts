import { DistrolessError } from "../util/errors";
import type { IndexEntry } from "./index-text";
import type { SignatureAlgorithm } from "./signature";

/*
 * A parsed APKINDEX: fixed-width tables of offsets into the APKINDEX text itself, which is also
 * its cache file (format "PDIX" v2, little-endian): the tables, then the text.
 *
 *   header   20 u32: magic, version, count, list items, text bytes, aux bytes, flags, reserved x 5,
 *            then (words 12..19) the archive's SHA-256
 *   records  u32 x RECORD x count  (per string field: the offset of its value in the text, or
 *                                   NO_STRING; the record's list start and line counts)
 *   items    u32 x items           (offsets of list lines' values: each record's D: lines, i: lines,
 *                                   p: lines, then its unknown fields' lines, key first)
 *   numbers  f64 x 4 x count       (size, installed size, build time, provider priority or -1)
 *   aux      JSON {description, signatures, arches (records per A: value)} (a few bytes)
 *   text     the APKINDEX text as read
 *
 * Why this shape: parsing is finding line starts (no string is made for a field nobody reads), the
 * text is not copied, and a value runs from its offset to the end of its line. At 150,000 packages
 * the heap holds a few typed arrays; names and dependencies are decoded when the resolver asks for
 * them, descriptions and commits practically never. Loading the cache back is one bounds check per
 * offset, no parse.
 */

export const COMPACT_MAGIC = 0x58494450; // "PDIX"
export const COMPACT_VERSION = 2;
export const HEADER_WORDS = 20;
export const HEADER_BYTES = HEADER_WORDS * 4;
/** Header word 12 on: the archive digest (32 bytes). */
export const DIGEST_WORD = 12;
export const FLAG_ASCII = 1;
export const NO_STRING = 0xffffffff;

export const R_CHECKSUM = 0;
export const R_NAME = 1;
export const R_VERSION = 2;
export const R_ARCH = 3;
export const R_DESCRIPTION = 4;
export const R_URL = 5;
export const R_LICENSE = 6;
export const R_ORIGIN = 7;
export const R_MAINTAINER = 8;
export const R_COMMIT = 9;
export const R_LIST_START = 10;
export const R_N_DEPENDS = 11;
export const R_N_INSTALL_IF = 12;
export const R_N_PROVIDES = 13;
export const R_N_EXTRA = 14;
export const RECORD = 15;
export const STRING_FIELDS = 10;

export const N_SIZE = 0;
export const N_INSTALLED_SIZE = 1;
export const N_BUILD_TIME = 2;
export const N_PRIORITY = 3;
export const NUMBERS = 4;

/** Byte offsets of the sections for these counts (plain numbers: no 32-bit overflow). */
export function compactLayout(count: number, items: number, auxBytes: number) {
  const records = HEADER_BYTES;
  const list = records + count * RECORD * 4;
  const numbers = align8(list + items * 4);
  const aux = numbers + count * NUMBERS * 8;
  return { records, list, numbers, aux, tables: aux + auxBytes };
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

const NO_WORDS: readonly string[] = Object.freeze([]);
const LF = 10;
const CR = 13;
const SPACE = 32;

/** The end of the line value starting at `o`, without a carriage return (a byte loop: values are short). */
export function lineEnd(t: Uint8Array, o: number): number {
  let end = o;
  while (end < t.length && t[end] !== LF) end++;
  return end > o && t[end - 1] === CR ? end - 1 : end;
}

export interface CompactParts {
  /** Header, records, items, numbers and aux (8-byte aligned: typed views are made on it). */
  tables: Buffer;
  /** The APKINDEX text the offsets point into. */
  text: Buffer;
}

/** The read side: values decoded on demand, whole entries built only when asked for. */
export class CompactIndex {
  readonly count: number;
  /** SHA-256 (hex) of the archive this was parsed from. */
  readonly sourceSha256: string;
  readonly description: string;
  readonly signatures: { algorithm: SignatureAlgorithm; keyName: string }[];
  /** How many records name each arch (`A:`), counted by the parse. */
  readonly arches: ReadonlyMap<string, number>;
  readonly tables: Buffer;
  readonly text: Buffer;
  private readonly records: Uint32Array;
  private readonly items: Uint32Array;
  private readonly numbers: Float64Array;
  private readonly encoding: "latin1" | "utf8";
  private readonly names: (string | undefined)[];
  private readonly versions: (string | undefined)[];
  private entryCache: IndexEntry[] | undefined;

  /**
   * Takes the parts as they are (the caller keeps them unchanged); refuses, before allocating
   * anything sized by them, tables whose header, counts or offsets do not add up.
   */
  /**
   * `built`: the builder laid these tables out just now (their offsets are in bounds by
   * construction), so the pass over every offset is skipped.
   */
  constructor(parts: CompactParts, subject: string, built = false) {
    const { tables, text } = parts;
    const bad = (why: string): never => {
      throw new DistrolessError("E_FORMAT", `not a usable parsed index: ${why}`, { subject });
    };
    if (tables.length < HEADER_BYTES) bad(`${tables.length} bytes is shorter than its header`);
    if (tables.byteOffset % 8 !== 0) bad("the buffer is not 8-byte aligned");
    const word = (i: number) => tables.readUInt32LE(i * 4);
    if (word(0) !== COMPACT_MAGIC) bad("wrong magic");
    if (word(1) !== COMPACT_VERSION) bad(`format version ${word(1)}, expected ${COMPACT_VERSION}`);
    const count = word(2);
    const items = word(3);
    const textBytes = word(4);
    const layout = compactLayout(count, items, word(5));
    // Every count is checked against the real length first: a huge count or length cannot make us
    // allocate (or loop) beyond what the file actually holds.
    if (layout.tables !== tables.length || textBytes !== text.length)
      bad(`its counts describe ${layout.tables + textBytes} bytes, it has ${tables.length + text.length}`);
    const ab = tables.buffer;
    const at = tables.byteOffset;
    this.count = count;
    this.tables = tables;
    this.text = text;
    this.records = new Uint32Array(ab, at + layout.records, count * RECORD);
    this.items = new Uint32Array(ab, at + layout.list, items);
    this.numbers = new Float64Array(ab, at + layout.numbers, count * NUMBERS);
    this.encoding = word(6) & FLAG_ASCII ? "latin1" : "utf8";
    this.sourceSha256 = tables.toString("hex", DIGEST_WORD * 4, DIGEST_WORD * 4 + 32);

    // Tables the builder laid out just now are in bounds by construction; read ones are checked.
    if (!built) this.checkBounds(textBytes, items, bad);
    const aux = readAux(tables.subarray(layout.aux, layout.tables)) ?? bad("its description is not readable");
    const sigs = Array.isArray(aux.signatures) ? (aux.signatures as unknown[]) : bad("no signature list");
    this.description = typeof aux.description === "string" ? aux.description : bad("no description");
    this.signatures = sigs.map((s) => {
      const { algorithm, keyName } = (s ?? {}) as { algorithm?: unknown; keyName?: unknown };
      if (typeof algorithm !== "string" || typeof keyName !== "string") return bad("a malformed signature");
      return { algorithm: algorithm as SignatureAlgorithm, keyName };
    });
    const arches = aux.arches;
    if (typeof arches !== "object" || arches === null) bad("no arch counts");
    this.arches = new Map(
      Object.entries(arches as object).map(([a, n]) => [a, typeof n === "number" ? n : bad("an arch count")]),
    );
    this.names = new Array<string | undefined>(count);
    this.versions = new Array<string | undefined>(count);
  }

  /** Every offset within the text and every list within the items: one pass, no allocation. */
  private checkBounds(textBytes: number, items: number, bad: (why: string) => never): void {
    const r = this.records;
    const count = this.count;
    let listAt = 0;
    for (let p = 0; p < count; p++) {
      const base = p * RECORD;
      for (let f = 0; f < STRING_FIELDS; f++) {
        const o = r[base + f]!;
        if (o >= textBytes && o !== NO_STRING) bad(`record ${p} names offset ${o} of ${textBytes}`);
      }
      const len =
        r[base + R_N_DEPENDS]! + r[base + R_N_INSTALL_IF]! + r[base + R_N_PROVIDES]! + r[base + R_N_EXTRA]!;
      if (r[base + R_LIST_START] !== listAt || listAt + len > items)
        bad(`record ${p} has a list out of bounds`);
      listAt += len;
    }
    if (listAt !== items) bad("the list items do not add up");
    // An extra's key is the line's first byte and its value starts two bytes on: both in the text.
    for (let i = 0; i < items; i++) if (this.items[i]! >= textBytes) bad(`list item ${i} is out of bounds`);
  }

  /** The cache file's content: the tables, then the text (written as they are, no copy). */
  parts(): Buffer[] {
    return [this.tables, this.text];
  }

  /** Reads the cache file's content back: tables and text are located by the header. */
  static fromCacheBytes(data: Buffer, subject: string): CompactIndex {
    if (data.length < HEADER_BYTES) {
      throw new DistrolessError("E_FORMAT", "not a usable parsed index: shorter than its header", {
        subject,
      });
    }
    const word = (i: number) => data.readUInt32LE(i * 4);
    const tablesBytes = compactLayout(word(2), word(3), word(5)).tables;
    const split = Math.min(tablesBytes, data.length);
    return new CompactIndex({ tables: data.subarray(0, split), text: data.subarray(split) }, subject);
  }

  /** The end of the value starting at `o`: its line's end, without a carriage return. */
  valueEnd(o: number): number {
    return lineEnd(this.text, o);
  }

  /** The value at text offset `o` ("" for none). */
  valueAt(o: number): string {
    if (o === NO_STRING) return "";
    return this.text.toString(this.encoding, o, this.valueEnd(o));
  }

  /** Decodes text[start, end). */
  slice(start: number, end: number): string {
    return this.text.toString(this.encoding, start, end);
  }

  /** The text offset of record `p`'s field `f` (NO_STRING when absent). */
  offset(p: number, f: number): number {
    return this.records[p * RECORD + f]!;
  }

  private field(p: number, f: number): string {
    return this.valueAt(this.records[p * RECORD + f]!);
  }

  name(p: number): string {
    const known = this.names[p];
    if (known !== undefined) return known;
    const s = this.field(p, R_NAME);
    this.names[p] = s;
    return s;
  }

  version(p: number): string {
    const known = this.versions[p];
    if (known !== undefined) return known;
    const s = this.field(p, R_VERSION);
    this.versions[p] = s;
    return s;
  }

  checksum(p: number): string {
    return this.field(p, R_CHECKSUM);
  }

  origin(p: number): string {
    return this.field(p, R_ORIGIN);
  }

  arch(p: number): string {
    return this.field(p, R_ARCH);
  }

  /** `k:`, or undefined when the record has none. */
  providerPriority(p: number): number | undefined {
    const k = this.numbers[p * NUMBERS + N_PRIORITY]!;
    return k < 0 ? undefined : k;
  }

  /** The value offsets of record `p`'s lines of one list (0 depends, 1 install_if, 2 provides, 3 extra). */
  lineOffsets(p: number, list: number): Uint32Array {
    const base = p * RECORD;
    let at = this.records[base + R_LIST_START]!;
    for (let f = R_N_DEPENDS; f < R_N_DEPENDS + list; f++) at += this.records[base + f]!;
    return this.items.subarray(at, at + this.records[base + R_N_DEPENDS + list]!);
  }

  /** How many lines record `p` has of one list (0 depends, 1 install_if, 2 provides, 3 extra). */
  listLength(p: number, list: number): number {
    return this.records[p * RECORD + R_N_DEPENDS + list]!;
  }

  /** Calls `fn` with the [start, end) of each space-separated word of record `p`'s list. */
  forEachWord(p: number, list: number, fn: (start: number, end: number) => void): void {
    const t = this.text;
    for (const o of this.lineOffsets(p, list)) {
      const end = this.valueEnd(o);
      let at = o;
      while (at < end) {
        let sp = at;
        while (sp < end && t[sp] !== SPACE) sp++;
        if (sp > at) fn(at, sp);
        at = sp + 1;
      }
    }
  }

  private list(p: number, list: number): readonly string[] {
    if (this.records[p * RECORD + R_N_DEPENDS + list] === 0) return NO_WORDS;
    const out: string[] = [];
    this.forEachWord(p, list, (s, e) => out.push(this.slice(s, e)));
    return out;
  }

  depends(p: number): readonly string[] {
    return this.list(p, 0);
  }

  installIf(p: number): readonly string[] {
    return this.list(p, 1);
  }

  provides(p: number): readonly string[] {
    return this.list(p, 2);
  }

  /** Record `p` as a whole entry (fresh arrays the caller may keep). */
  entry(p: number): IndexEntry {
    const n = this.numbers;
    const extra: [string, string][] = [];
    for (const o of this.lineOffsets(p, 3)) extra.push([this.slice(o, o + 1), this.valueAt(o + 2)]);
    const e: IndexEntry = {
      checksum: this.field(p, R_CHECKSUM),
      name: this.name(p),
      version: this.version(p),
      arch: this.field(p, R_ARCH),
      size: n[p * NUMBERS + N_SIZE]!,
      installedSize: n[p * NUMBERS + N_INSTALLED_SIZE]!,
      description: this.field(p, R_DESCRIPTION),
      url: this.field(p, R_URL),
      license: this.field(p, R_LICENSE),
      origin: this.field(p, R_ORIGIN),
      maintainer: this.field(p, R_MAINTAINER),
      buildTime: n[p * NUMBERS + N_BUILD_TIME]!,
      commit: this.field(p, R_COMMIT),
      depends: [...this.depends(p)],
      installIf: [...this.installIf(p)],
      provides: [...this.provides(p)],
      extra,
    };
    const k = this.providerPriority(p);
    if (k !== undefined) e.providerPriority = k;
    return e;
  }

  /** Every record as an entry, built once (for callers that want plain objects; costs the heap). */
  entries(): IndexEntry[] {
    if (!this.entryCache) {
      const out = new Array<IndexEntry>(this.count);
      for (let p = 0; p < this.count; p++) out[p] = this.entry(p);
      this.entryCache = out;
    }
    return this.entryCache;
  }
}

function readAux(
  bytes: Buffer,
): { description?: unknown; signatures?: unknown; arches?: unknown } | undefined {
  try {
    const v: unknown = JSON.parse(bytes.toString("utf8"));
    return typeof v === "object" && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}
