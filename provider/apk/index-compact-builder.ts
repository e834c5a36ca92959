import { isAscii } from "node:buffer";
import { DistrolessError } from "../util/errors";
import {
  COMPACT_MAGIC,
  COMPACT_VERSION,
  CompactIndex,
  compactLayout,
  DIGEST_WORD,
  FLAG_ASCII,
  HEADER_BYTES,
  NO_STRING,
  NUMBERS,
  R_ARCH,
  R_CHECKSUM,
  R_COMMIT,
  R_DESCRIPTION,
  R_LICENSE,
  R_LIST_START,
  R_MAINTAINER,
  R_N_DEPENDS,
  R_NAME,
  R_ORIGIN,
  R_URL,
  R_VERSION,
  RECORD,
} from "./index-compact";
import type { IndexEntry } from "./index-text";

/** A growable u32 column (a typed array doubled as needed: no boxed numbers while parsing). */
export class U32Column {
  data: Uint32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Uint32Array(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = v;
  }

  grow(min: number): void {
    const next = new Uint32Array(Math.max(min, this.data.length * 2));
    next.set(this.data);
    this.data = next;
  }

  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

class F64Column {
  data: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Float64Array(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * One record as text offsets: `fields[f]` for the string fields (NO_STRING when absent), the line
 * offsets of each list (depends, install_if, provides, extra) and the numbers.
 */
export interface RecordOffsets {
  fields: Uint32Array;
  lists: readonly (readonly number[])[];
  /** How many of each list's entries are this record's (default: all of them). */
  counts?: readonly number[];
  size: number;
  installedSize: number;
  buildTime: number;
  /** -1 = none. */
  providerPriority: number;
}

/** Collects records (offsets into one text) into the compact tables; `finish` lays them out. */
export class CompactIndexBuilder {
  private readonly records: U32Column;
  private readonly items: U32Column;
  private readonly numbers: F64Column;
  count = 0;

  /** `expected`: about how many records will come (the columns are sized for them). */
  constructor(expected = 64) {
    this.records = new U32Column(expected * RECORD);
    this.items = new U32Column(expected * 2);
    this.numbers = new F64Column(expected * NUMBERS);
  }

  add(r: RecordOffsets): number {
    const col = this.records;
    if (col.length + RECORD > col.data.length) col.grow(col.length + RECORD);
    const d = col.data;
    const b = col.length;
    d.set(r.fields, b);
    d[b + R_LIST_START] = this.items.length;
    for (let l = 0; l < 4; l++) {
      const lines = r.lists[l]!;
      const n = r.counts ? r.counts[l]! : lines.length;
      d[b + R_N_DEPENDS + l] = n;
      for (let i = 0; i < n; i++) this.items.push(lines[i]!);
    }
    col.length += RECORD;
    const n = this.numbers;
    n.push(r.size);
    n.push(r.installedSize);
    n.push(r.buildTime);
    n.push(r.providerPriority);
    return this.count++;
  }

  finish(text: Buffer, sourceSha256: string, aux: IndexAux): CompactIndex {
    const tables = writeTables(
      this.count,
      this.records.view(),
      this.items.view(),
      this.numbers.view(),
      text,
      sourceSha256,
      aux,
    );
    return new CompactIndex({ tables, text }, "parsed index", true);
  }
}

const FIELD_OF: readonly [number, keyof IndexEntry][] = [
  [R_CHECKSUM, "checksum"],
  [R_NAME, "name"],
  [R_VERSION, "version"],
  [R_ARCH, "arch"],
  [R_DESCRIPTION, "description"],
  [R_URL, "url"],
  [R_LICENSE, "license"],
  [R_ORIGIN, "origin"],
  [R_MAINTAINER, "maintainer"],
  [R_COMMIT, "commit"],
];

/**
 * A compact index of entries built in memory (tests, publishing, the resolver's plain inputs): the
 * values are written one per line into a text of their own, so reading them back is the same as
 * for a parsed index. A value cannot hold a line break (no APKINDEX can carry one either).
 */
export function compactFromEntries(
  entries: readonly IndexEntry[],
  description = "",
  sourceSha256 = "",
): CompactIndex {
  const lines: string[] = [];
  let at = 0;
  const put = (value: string, who: IndexEntry): number => {
    if (value.includes("\n")) {
      throw new DistrolessError("E_FORMAT", "an index value cannot hold a line break", {
        subject: `${who.name}-${who.version}`,
      });
    }
    const o = at;
    lines.push(value);
    at += Buffer.byteLength(value) + 1;
    return o;
  };
  const b = new CompactIndexBuilder();
  const fields = new Uint32Array(10);
  const arches = new Map<string, number>();
  for (const e of entries) {
    if (e.arch) arches.set(e.arch, (arches.get(e.arch) ?? 0) + 1);
    for (const [f, key] of FIELD_OF) {
      const v = e[key] as string;
      fields[f] = v === "" ? NO_STRING : put(v, e);
    }
    const list = (words: readonly string[]) => (words.length === 0 ? [] : [put(words.join(" "), e)]);
    // An extra's line is `K:value`, its offset the key's (as in a parsed text).
    const extra = e.extra.map(([k, v]) => put(`${k}:${v}`, e));
    b.add({
      fields,
      lists: [list(e.depends), list(e.installIf), list(e.provides), extra],
      size: e.size,
      installedSize: e.installedSize,
      buildTime: e.buildTime,
      providerPriority: e.providerPriority ?? -1,
    });
  }
  const text = Buffer.from(lines.length ? `${lines.join("\n")}\n` : "", "utf8");
  return b.finish(text, sourceSha256, { description, signatures: [], arches });
}

/** The small parts of a parsed index kept as JSON beside its tables. */
interface IndexAux {
  description: string;
  signatures: readonly { algorithm: string; keyName: string }[];
  /** Records per `A:` value, for the foreign-arch warning. */
  arches: ReadonlyMap<string, number>;
}

/** The tables for these sections, laid out as above (the builder's last step). */
function writeTables(
  count: number,
  records: Uint32Array,
  items: Uint32Array,
  numbers: Float64Array,
  text: Buffer,
  sourceSha256: string,
  aux: IndexAux,
): Buffer {
  const auxBytes = Buffer.from(
    JSON.stringify({
      description: aux.description,
      signatures: aux.signatures.map((s) => ({ algorithm: s.algorithm, keyName: s.keyName })),
      arches: Object.fromEntries(aux.arches),
    }),
  );
  const layout = compactLayout(count, items.length, auxBytes.length);
  const out = Buffer.allocUnsafeSlow(layout.tables); // its own ArrayBuffer: aligned typed views
  out.fill(0, 0, HEADER_BYTES);
  const header = [COMPACT_MAGIC, COMPACT_VERSION, count, items.length, text.length, auxBytes.length];
  header.push(isAscii(text) ? FLAG_ASCII : 0);
  for (let i = 0; i < header.length; i++) out.writeUInt32LE(header[i]!, i * 4);
  if (/^[0-9a-f]{64}$/.test(sourceSha256)) out.write(sourceSha256, DIGEST_WORD * 4, 32, "hex");
  const copy = (col: Uint32Array | Float64Array, at: number) =>
    out.set(new Uint8Array(col.buffer, col.byteOffset, col.byteLength), at);
  copy(records, layout.records);
  copy(items, layout.list);
  out.fill(0, layout.list + items.length * 4, layout.numbers);
  copy(numbers, layout.numbers);
  auxBytes.copy(out, layout.aux);
  return out;
}
