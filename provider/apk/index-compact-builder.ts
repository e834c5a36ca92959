import {
  COMPACT_MAGIC,
  COMPACT_VERSION,
  CompactIndex,
  compactLayout,
  DIGEST_WORD,
  FLAG_ASCII,
  NO_STRING,
  R_ARCH,
  R_CHECKSUM,
  R_COMMIT,
  R_DESCRIPTION,
  R_LICENSE,
  R_LIST_START,
  R_MAINTAINER,
  R_N_DEPENDS,
  R_N_EXTRA,
  R_N_INSTALL_IF,
  R_N_PROVIDES,
  R_NAME,
  R_ORIGIN,
  R_URL,
  R_VERSION,
  RECORD,
} from "./index-compact";
import type { IndexEntry } from "./index-text";

/** A growable u32 column (a typed array doubled as needed: no boxed numbers while parsing). */
class U32Column {
  data = new Uint32Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = v;
  }

  grow(min: number): void {
    const next = new Uint32Array(Math.max(min, this.data.length * 2));
    next.set(this.data);
    this.data = next;
  }
}

class F64Column {
  data = new Float64Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

/** The fields of one record as the builder takes them: IndexEntry's, lists read-only, `providerPriority` -1 = none. */
export type RecordFields = Omit<
  IndexEntry,
  "depends" | "installIf" | "provides" | "providerPriority" | "extra"
> & {
  depends: readonly string[];
  installIf: readonly string[];
  provides: readonly string[];
  providerPriority: number;
  extra: readonly (readonly [string, string])[];
};

/**
 * Collects records into the compact layout: strings go into one growing byte buffer (recurring
 * ones once, through an intern table), ids and numbers into typed columns; `finish` lays them out
 * in one preallocated buffer (no intermediate string or JSON of the whole index).
 */
export class CompactIndexBuilder {
  private readonly interned = new Map<string, number>();
  private ends = new U32Column();
  private bytes = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private ascii = true;
  private readonly records = new U32Column();
  private readonly items = new U32Column();
  private readonly numbers = new F64Column();
  count = 0;

  /** A string stored once per distinct value. */
  intern(s: string): number {
    if (s === "") return NO_STRING;
    const known = this.interned.get(s);
    if (known !== undefined) return known;
    const id = this.append(s);
    // `s` is often a slice of a chunk of index text, so the table keeps those chunks alive until the
    // index is finished (then all of it is dropped): reading each key back from the bytes instead
    // measured ~5% of the parse for a peak about the size of the text, which is the cheaper trade.
    this.interned.set(s, id);
    return id;
  }

  /** A string stored as it is (values that rarely repeat: checksums, descriptions, commits). */
  append(s: string): number {
    if (s === "") return NO_STRING;
    const need = this.used + s.length * 3;
    if (need > this.bytes.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.bytes.length * 2));
      this.bytes.copy(next, 0, 0, this.used);
      this.bytes = next;
    }
    const n = this.bytes.write(s, this.used, "utf8");
    if (n !== s.length) this.ascii = false;
    this.used += n;
    this.ends.push(this.used);
    return this.ends.length - 1;
  }

  /** The interned string `s`'s id if it was stored, for lookups while building (duplicates). */
  internedId(s: string): number | undefined {
    return this.interned.get(s);
  }

  /** The version id of record `p` (the parser compares versions of repeated names). */
  versionId(p: number): number {
    return this.records.data[p * RECORD + R_VERSION]!;
  }

  /**
   * `s` interned, trying the previous record's value of the field first: arch, licence, maintainer,
   * origin and URL mostly repeat from one record to the next (subpackages sit together), and a
   * string compare is much cheaper than a lookup in a table of every distinct string.
   */
  private internField(field: number, s: string): number {
    if (s === this.lastValue[field]) return this.lastId[field]!;
    const id = this.intern(s);
    this.lastValue[field] = s;
    this.lastId[field] = id;
    return id;
  }

  private readonly lastValue: string[] = new Array<string>(RECORD).fill("");
  private readonly lastId: number[] = new Array<number>(RECORD).fill(NO_STRING);

  /** Adds a record; `nameId` when the caller interned the name already (`intern(f.name)`). */
  add(f: RecordFields, nameId = this.intern(f.name)): number {
    const r = this.records;
    if (r.length + RECORD > r.data.length) r.grow(r.length + RECORD);
    const d = r.data;
    const b = r.length;
    d[b + R_CHECKSUM] = this.append(f.checksum);
    d[b + R_NAME] = nameId;
    d[b + R_VERSION] = this.internField(R_VERSION, f.version);
    d[b + R_ARCH] = this.internField(R_ARCH, f.arch);
    d[b + R_DESCRIPTION] = this.append(f.description);
    d[b + R_URL] = this.internField(R_URL, f.url);
    d[b + R_LICENSE] = this.internField(R_LICENSE, f.license);
    d[b + R_ORIGIN] = this.internField(R_ORIGIN, f.origin);
    d[b + R_MAINTAINER] = this.internField(R_MAINTAINER, f.maintainer);
    d[b + R_COMMIT] = this.append(f.commit);
    d[b + R_LIST_START] = this.items.length;
    d[b + R_N_DEPENDS] = f.depends.length;
    d[b + R_N_INSTALL_IF] = f.installIf.length;
    d[b + R_N_PROVIDES] = f.provides.length;
    d[b + R_N_EXTRA] = f.extra.length;
    r.length += RECORD;
    // Relations are stored as they are, not interned: a lookup per word in a table of every
    // distinct string measured as the largest single cost of parsing a 150,000-package index, while
    // the bytes saved are small and the resolver decodes the relations of few packages.
    for (const w of f.depends) this.items.push(this.appendAny(w));
    for (const w of f.installIf) this.items.push(this.appendAny(w));
    for (const w of f.provides) this.items.push(this.appendAny(w));
    for (const [k, v] of f.extra) {
      // An empty extra value is kept as an (interned) empty-looking id: "" would read back as none.
      this.items.push(this.internAny(k));
      this.items.push(this.internAny(v));
    }
    this.numbers.push(f.size);
    this.numbers.push(f.installedSize);
    this.numbers.push(f.buildTime);
    this.numbers.push(f.providerPriority);
    return this.count++;
  }

  /** Like `append`, but "" is a real string too (list items must name a string). */
  private appendAny(s: string): number {
    if (s !== "") return this.append(s);
    this.ends.push(this.used);
    return this.ends.length - 1;
  }

  /** Like `intern`, but "" is a real string too (list items must name a string). */
  private internAny(s: string): number {
    if (s !== "") return this.intern(s);
    const known = this.interned.get(s);
    if (known !== undefined) return known;
    this.ends.push(this.used);
    const id = this.ends.length - 1;
    this.interned.set(s, id);
    return id;
  }

  /** The finished index: one buffer, laid out as index-compact.ts describes. */
  finish(
    sourceSha256: string,
    description: string,
    signatures: readonly { algorithm: string; keyName: string }[],
  ): CompactIndex {
    const descriptionId = this.append(description);
    for (const s of signatures) {
      this.items.push(this.internAny(s.algorithm));
      this.items.push(this.internAny(s.keyName));
    }
    const strings = this.ends.length;
    const items = this.items.length;
    const layout = compactLayout(this.count, strings, items, this.used);
    const out = Buffer.allocUnsafeSlow(layout.total); // its own ArrayBuffer: aligned typed views
    out.fill(0, 0, layout.ends);
    const header = [COMPACT_MAGIC, COMPACT_VERSION, this.count, strings, items, this.used, descriptionId];
    header.push(signatures.length, 0, this.ascii ? FLAG_ASCII : 0);
    for (let i = 0; i < header.length; i++) out.writeUInt32LE(header[i]!, i * 4);
    if (/^[0-9a-f]{64}$/.test(sourceSha256)) out.write(sourceSha256, DIGEST_WORD * 4, 32, "hex");
    const copy = (col: Uint32Array | Float64Array, length: number, at: number) =>
      out.set(new Uint8Array(col.buffer, 0, length * col.BYTES_PER_ELEMENT), at);
    copy(this.ends.data, strings, layout.ends);
    copy(this.records.data, this.records.length, layout.records);
    copy(this.items.data, items, layout.list);
    out.fill(0, layout.list + items * 4, layout.numbers);
    copy(this.numbers.data, this.numbers.length, layout.numbers);
    this.bytes.copy(out, layout.bytes, 0, this.used);
    return new CompactIndex(out, "parsed index");
  }
}

/** A compact index of entries built in memory (tests, publishing, the resolver's plain inputs). */
export function compactFromEntries(
  entries: readonly IndexEntry[],
  description = "",
  sourceSha256 = "",
): CompactIndex {
  const b = new CompactIndexBuilder();
  for (const e of entries) b.add({ ...e, providerPriority: e.providerPriority ?? -1 });
  return b.finish(sourceSha256, description, []);
}
