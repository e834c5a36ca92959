import { type CompactIndex, R_NAME } from "./index-compact";

/*
 * Every name a compact index answers to (package names and provided names) -> the records, as an
 * open-addressing hash table over the text's bytes: no string is made for a name nobody looks up.
 * A code is `position * 2` for a record's own name, `position * 2 + 1` for a name it provides;
 * a name's codes are kept in record order. The parser fills it as it reads (it knows where each
 * line ends), which is also where a package listed twice (same name and version) is found; an index
 * read from the cache gets one built from its offsets on first use.
 */

const EQUALS = 61;
const SPACE = 32;

function hashBytes(t: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ t[i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(t: Uint8Array, a: number, b: number, c: number, d: number): boolean {
  if (b - a !== d - c) return false;
  for (let i = 0; i < b - a; i++) if (t[a + i] !== t[c + i]) return false;
  return true;
}

/** A growable i32 column. */
class I32Column {
  data: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(16, capacity));
  }

  push(v: number): number {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length] = v;
    return this.length++;
  }
}

export class NameTable {
  private slots: Int32Array;
  private mask: number;
  // Per distinct name: where its bytes are, its hash, first and last code, whether a record has it as its own.
  private readonly start: I32Column;
  private readonly end: I32Column;
  private readonly hash: I32Column;
  private readonly head: I32Column;
  private readonly tail: I32Column;
  private readonly own: I32Column;
  // Per code: the code and the next code of the same name (-1 ends).
  private readonly codes: I32Column;
  private readonly next: I32Column;
  /** Per record, where its version is (only while looking for packages listed twice). */
  private readonly versions: I32Column | undefined;
  private index: CompactIndex | undefined;

  /** `strict`: `addOwn` reports a package listed twice (a parse); otherwise every record is listed. */
  constructor(expectedRecords: number, strict: boolean) {
    const expected = Math.max(16, expectedRecords * 2);
    let size = 1024;
    while (size < expected * 2) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    this.start = new I32Column(expected);
    this.end = new I32Column(expected);
    this.hash = new I32Column(expected);
    this.head = new I32Column(expected);
    this.tail = new I32Column(expected);
    this.own = new I32Column(expected);
    this.codes = new I32Column(expected);
    this.next = new I32Column(expected);
    if (strict) this.versions = new I32Column(expectedRecords * 2);
  }

  /** The table of a parsed (or cached) index, from its offsets. */
  static of(index: CompactIndex): NameTable {
    const table = new NameTable(index.count, false);
    const t = index.text;
    for (let p = 0; p < index.count; p++) {
      const ns = index.offset(p, R_NAME);
      const ne = index.valueEnd(ns);
      table.addOwn(t, p, ns, ne, 0, 0);
      for (const o of index.lineOffsets(p, 2)) table.addProvides(t, p, o, index.valueEnd(o), ns, ne);
    }
    table.attach(index);
    return table;
  }

  /** The index the offsets are into (lookups decode and compare against its text). */
  attach(index: CompactIndex): void {
    this.index = index;
  }

  /**
   * Record `p`'s own name is t[ns, ne) and its version t[vs, ve). Returns the position of an
   * earlier record of the same name and version (strict tables only), else -1.
   */
  addOwn(t: Uint8Array, p: number, ns: number, ne: number, vs: number, ve: number): number {
    const id = this.intern(t, ns, ne);
    const v = this.versions;
    if (v) {
      v.push(vs);
      v.push(ve);
      if (this.own.data[id]) {
        for (let c = this.head.data[id]!; c >= 0; c = this.next.data[c]!) {
          const code = this.codes.data[c]!;
          if (code % 2 === 1) continue;
          const q = code / 2;
          if (sameBytes(t, vs, ve, v.data[q * 2]!, v.data[q * 2 + 1]!)) return q;
        }
      }
    }
    this.own.data[id] = 1;
    this.append(id, p * 2);
    return -1;
  }

  /** A `p:` line of record `p`, t[start, end): each word's name (up to `=`), unless it is t[ns, ne). */
  addProvides(t: Uint8Array, p: number, start: number, end: number, ns: number, ne: number): void {
    const code = p * 2 + 1;
    let at = start;
    while (at < end) {
      let we = at;
      let eq = -1;
      while (we < end && t[we] !== SPACE) {
        if (eq < 0 && t[we] === EQUALS) eq = we;
        we++;
      }
      const nameEnd = eq < 0 ? we : eq;
      if (we > at && !sameBytes(t, at, nameEnd, ns, ne)) {
        const id = this.intern(t, at, nameEnd);
        // One code per record and name: its provides of that name are listed when it is looked at.
        const tail = this.tail.data[id]!;
        if (tail < 0 || this.codes.data[tail] !== code) this.append(id, code);
      }
      at = we + 1;
    }
  }

  /** The codes of `name`, in record order (empty when nothing answers to it). */
  lookup(name: string): number[] {
    const id = this.find(name);
    const out: number[] = [];
    if (id < 0) return out;
    for (let c = this.head.data[id]!; c >= 0; c = this.next.data[c]!) out.push(this.codes.data[c]!);
    return out;
  }

  /** Every name (package and provided), decoded: for suggestions. */
  *names(): IterableIterator<string> {
    const index = this.index!;
    for (let id = 0; id < this.start.length; id++)
      yield index.slice(this.start.data[id]!, this.end.data[id]!);
  }

  private find(name: string): number {
    const key = Buffer.from(name, "utf8");
    const h = hashBytes(key, 0, key.length);
    const t = this.index!.text;
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const id = this.slots[s]!;
      if (id < 0) return -1;
      if (this.hash.data[id]! >>> 0 !== h) continue;
      const a = this.start.data[id]!;
      const b = this.end.data[id]!;
      if (b - a === key.length && t.compare(key, 0, key.length, a, b) === 0) return id;
    }
  }

  /** The id of t[s, e) as a name, added if new. */
  private intern(t: Uint8Array, s: number, e: number): number {
    const h = hashBytes(t, s, e);
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const id = this.slots[slot]!;
      if (id < 0) break;
      if (this.hash.data[id]! >>> 0 === h && sameBytes(t, s, e, this.start.data[id]!, this.end.data[id]!))
        return id;
    }
    const id = this.start.push(s);
    this.end.push(e);
    this.hash.push(h | 0);
    this.head.push(-1);
    this.tail.push(-1);
    this.own.push(0);
    if (this.start.length * 2 > this.slots.length) this.rehash();
    else this.place(id, h);
    return id;
  }

  private place(id: number, h: number): void {
    let s = h & this.mask;
    while (this.slots[s]! >= 0) s = (s + 1) & this.mask;
    this.slots[s] = id;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    this.mask = this.slots.length - 1;
    for (let id = 0; id < this.start.length; id++) this.place(id, this.hash.data[id]! >>> 0);
  }

  private append(id: number, code: number): void {
    const c = this.codes.push(code);
    this.next.push(-1);
    const tail = this.tail.data[id]!;
    if (tail < 0) this.head.data[id] = c;
    else this.next.data[tail] = c;
    this.tail.data[id] = c;
  }
}

const tables = new WeakMap<CompactIndex, NameTable>();

/** Keeps the table a parse built for its index. */
export function rememberNameTable(index: CompactIndex, table: NameTable): void {
  table.attach(index);
  tables.set(index, table);
}

/** The index's name table: the parse's, or built from the offsets on first use. */
export function nameTableOf(index: CompactIndex): NameTable {
  let table = tables.get(index);
  if (!table) {
    table = NameTable.of(index);
    tables.set(index, table);
  }
  return table;
}
