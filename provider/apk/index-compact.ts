import { DistrolessError } from "../util/errors";
import type { IndexEntry } from "./index-text";
import type { SignatureAlgorithm } from "./signature";

/*
 * A parsed APKINDEX as one buffer, which is also its cache file (format "PDIX" v1, little-endian):
 *
 *   header        20 u32: magic, version, count, strings, list items, string bytes, description id,
 *                 signatures, reserved, flags, reserved x 2, then (words 12..19) the archive's SHA-256
 *   string ends   u32 x strings     (string i is bytes[end[i-1], end[i]), end[-1] = 0)
 *   records       u32 x RECORD x count (string ids and list lengths, see the R_ constants)
 *   list items    u32 x items       (string ids: each record's depends, install_if, provides, extra
 *                                    key/value pairs; then the signatures' algorithm/key-name pairs)
 *   numbers       f64 x 4 x count   (size, installed size, build time, provider priority or -1)
 *   string bytes  UTF-8
 *
 * Why this shape: at 150,000 packages, one object per field per package is most of the heap and
 * most of the GC time; here the heap holds one buffer, and strings are decoded when first asked for
 * (names and dependencies by the resolver; descriptions, URLs and commits almost never). Recurring
 * record fields (names, versions, licences, maintainers, origins, URLs) are stored once. Loading it back is one
 * bounds check per id, no parse.
 */

export const COMPACT_MAGIC = 0x58494450; // "PDIX"
export const COMPACT_VERSION = 1;
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
const STRING_FIELDS = [
  R_CHECKSUM,
  R_NAME,
  R_VERSION,
  R_ARCH,
  R_DESCRIPTION,
  R_URL,
  R_LICENSE,
  R_ORIGIN,
  R_MAINTAINER,
  R_COMMIT,
];

export const N_SIZE = 0;
export const N_INSTALLED_SIZE = 1;
export const N_BUILD_TIME = 2;
export const N_PRIORITY = 3;
export const NUMBERS = 4;

/** Byte offsets of the sections for these counts (all in plain numbers: no 32-bit overflow). */
export function compactLayout(count: number, strings: number, items: number, stringBytes: number) {
  const ends = HEADER_BYTES;
  const records = ends + strings * 4;
  const list = records + count * RECORD * 4;
  const numbers = align8(list + items * 4);
  const bytes = numbers + count * NUMBERS * 8;
  return { ends, records, list, numbers, bytes, total: bytes + stringBytes };
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

const NO_WORDS: readonly string[] = Object.freeze([]);

/** The read side: strings decoded on first use, whole entries built only when asked for. */
export class CompactIndex {
  readonly count: number;
  /** SHA-256 (hex) of the archive this was parsed from. */
  readonly sourceSha256: string;
  readonly description: string;
  readonly signatures: { algorithm: SignatureAlgorithm; keyName: string }[];
  private readonly ends: Uint32Array;
  private readonly records: Uint32Array;
  private readonly items: Uint32Array;
  private readonly numbers: Float64Array;
  private readonly bytesStart: number;
  private readonly ascii: boolean;
  private readonly decoded: (string | undefined)[];
  private entryCache: IndexEntry[] | undefined;

  /**
   * Takes the buffer as it is (the caller keeps it unchanged); refuses, before allocating anything
   * sized by it, a buffer whose header, counts or ids do not add up. `subject` names it in errors.
   */
  constructor(
    readonly buffer: Buffer,
    subject: string,
  ) {
    const bad = (why: string): never => {
      throw new DistrolessError("E_FORMAT", `not a usable parsed index: ${why}`, { subject });
    };
    if (buffer.length < HEADER_BYTES) bad(`${buffer.length} bytes is shorter than its header`);
    if (buffer.byteOffset % 8 !== 0) bad("the buffer is not 8-byte aligned");
    const word = (i: number) => buffer.readUInt32LE(i * 4);
    if (word(0) !== COMPACT_MAGIC) bad("wrong magic");
    if (word(1) !== COMPACT_VERSION) bad(`format version ${word(1)}, expected ${COMPACT_VERSION}`);
    const count = word(2);
    const strings = word(3);
    const items = word(4);
    const stringBytes = word(5);
    const layout = compactLayout(count, strings, items, stringBytes);
    // Every count is checked against the real length first: a huge count or length cannot make us
    // allocate (or loop) beyond what the file actually holds.
    if (layout.total !== buffer.length)
      bad(`its counts describe ${layout.total} bytes, it has ${buffer.length}`);
    const ab = buffer.buffer;
    const at = buffer.byteOffset;
    this.count = count;
    this.ends = new Uint32Array(ab, at + layout.ends, strings);
    this.records = new Uint32Array(ab, at + layout.records, count * RECORD);
    this.items = new Uint32Array(ab, at + layout.list, items);
    this.numbers = new Float64Array(ab, at + layout.numbers, count * NUMBERS);
    this.bytesStart = layout.bytes;
    this.ascii = (word(9) & FLAG_ASCII) !== 0;
    this.sourceSha256 = buffer.toString("hex", DIGEST_WORD * 4, DIGEST_WORD * 4 + 32);

    let prev = 0;
    for (let i = 0; i < strings; i++) {
      const end = this.ends[i]!;
      if (end < prev || end > stringBytes) bad(`string ${i} ends out of bounds`);
      prev = end;
    }
    const r = this.records;
    let listAt = 0;
    for (let p = 0; p < count; p++) {
      const base = p * RECORD;
      for (const f of STRING_FIELDS) {
        const id = r[base + f]!;
        if (id >= strings && id !== NO_STRING) bad(`record ${p} names string ${id} of ${strings}`);
      }
      const len =
        r[base + R_N_DEPENDS]! +
        r[base + R_N_INSTALL_IF]! +
        r[base + R_N_PROVIDES]! +
        2 * r[base + R_N_EXTRA]!;
      if (r[base + R_LIST_START] !== listAt || listAt + len > items)
        bad(`record ${p} has a list out of bounds`);
      listAt += len;
    }
    const nSigs = word(7);
    if (listAt + 2 * nSigs !== items) bad("the list items do not add up");
    for (let i = 0; i < items; i++) if (this.items[i]! >= strings) bad(`list item ${i} names no string`);
    const descriptionId = word(6);
    if (descriptionId >= strings && descriptionId !== NO_STRING) bad("the description names no string");

    this.decoded = new Array<string | undefined>(strings);
    this.description = this.str(descriptionId);
    this.signatures = [];
    for (let i = 0; i < nSigs; i++) {
      this.signatures.push({
        algorithm: this.str(this.items[listAt + 2 * i]!) as SignatureAlgorithm,
        keyName: this.str(this.items[listAt + 2 * i + 1]!),
      });
    }
  }

  /** String `id` ("" for none), decoded once. */
  str(id: number): string {
    if (id === NO_STRING) return "";
    const known = this.decoded[id];
    if (known !== undefined) return known;
    const start = this.bytesStart + (id === 0 ? 0 : this.ends[id - 1]!);
    const end = this.bytesStart + this.ends[id]!;
    const s = this.buffer.toString(this.ascii ? "latin1" : "utf8", start, end);
    this.decoded[id] = s;
    return s;
  }

  private field(p: number, f: number): string {
    return this.str(this.records[p * RECORD + f]!);
  }

  name(p: number): string {
    return this.field(p, R_NAME);
  }

  version(p: number): string {
    return this.field(p, R_VERSION);
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

  private list(p: number, skip: number, lengthField: number): readonly string[] {
    const base = p * RECORD;
    const n = this.records[base + lengthField]!;
    if (n === 0) return NO_WORDS;
    let at = this.records[base + R_LIST_START]!;
    for (let f = R_N_DEPENDS; f < R_N_DEPENDS + skip; f++) at += this.records[base + f]!;
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.str(this.items[at + i]!);
    return out;
  }

  depends(p: number): readonly string[] {
    return this.list(p, 0, R_N_DEPENDS);
  }

  installIf(p: number): readonly string[] {
    return this.list(p, 1, R_N_INSTALL_IF);
  }

  provides(p: number): readonly string[] {
    return this.list(p, 2, R_N_PROVIDES);
  }

  /** Record `p` as a whole entry (fresh arrays the caller may keep). */
  entry(p: number): IndexEntry {
    const n = this.numbers;
    const base = p * RECORD;
    const extra: [string, string][] = [];
    const nExtra = this.records[base + R_N_EXTRA]!;
    let at =
      this.records[base + R_LIST_START]! +
      this.records[base + R_N_DEPENDS]! +
      this.records[base + R_N_INSTALL_IF]! +
      this.records[base + R_N_PROVIDES]!;
    for (let i = 0; i < nExtra; i++, at += 2)
      extra.push([this.str(this.items[at]!), this.str(this.items[at + 1]!)]);
    const e: IndexEntry = {
      checksum: this.field(p, R_CHECKSUM),
      name: this.field(p, R_NAME),
      version: this.field(p, R_VERSION),
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
