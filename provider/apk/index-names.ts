import { DistrolessError } from "../util/errors";
import { type CompactIndex, R_NAME, R_VERSION } from "./index-compact";

/*
 * Every name a compact index answers to (package names and provided names) -> the records, as an
 * open-addressing hash table over the text's bytes: no string is made for a name nobody looks up.
 * A code is `position * 2` for a record's own name, `position * 2 + 1` for a name it provides;
 * a name's codes are kept in record order. Building it is where a package listed twice (same name
 * and version) is found.
 */

const EQUALS = 61;
const LF = 10;

function hashBytes(t: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ t[i]!, 0x01000193);
  return h >>> 0;
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

  /** `strict`: a package listed twice is an error (a parse); otherwise its records are all listed. */
  constructor(
    private readonly index: CompactIndex,
    private readonly subject: string,
    strict: boolean,
  ) {
    const expected = index.count * 2;
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
    const t = index.text;
    for (let p = 0; p < index.count; p++) {
      const ns = index.offset(p, R_NAME);
      const ne = index.valueEnd(ns);
      const id = this.intern(ns, ne);
      if (strict && this.own.data[id]) this.checkTwice(id, p);
      this.own.data[id] = 1;
      this.append(id, p * 2);
      const provideCode = p * 2 + 1;
      index.forEachWord(p, 2, (ws, we) => {
        let pe = t.indexOf(EQUALS, ws);
        if (pe < 0 || pe > we) pe = we;
        if (pe - ws === ne - ns && t.compare(t, ws, pe, ns, ne) === 0) return; // its own name
        const pid = this.intern(ws, pe);
        // One code per record and name: its provides of that name are listed when it is looked at.
        const tail = this.tail.data[pid]!;
        if (tail < 0 || this.codes.data[tail] !== provideCode) this.append(pid, provideCode);
      });
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
    for (let id = 0; id < this.start.length; id++)
      yield this.index.slice(this.start.data[id]!, this.end.data[id]!);
  }

  private find(name: string): number {
    let bytes: Uint8Array | undefined;
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c > 127) {
        bytes = Buffer.from(name, "utf8");
        break;
      }
      h = Math.imul(h ^ c, 0x01000193);
    }
    if (bytes) h = hashBytes(bytes, 0, bytes.length);
    h >>>= 0;
    const t = this.index.text;
    const key = bytes ?? Buffer.from(name, "latin1");
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const id = this.slots[s]!;
      if (id < 0) return -1;
      if (this.hash.data[id]! >>> 0 !== h) continue;
      const a = this.start.data[id]!;
      const b = this.end.data[id]!;
      if (b - a === key.length && t.compare(key, 0, key.length, a, b) === 0) return id;
    }
  }

  /** The id of text[s, e) as a name, added if new. */
  private intern(s: number, e: number): number {
    const t = this.index.text;
    const h = hashBytes(t, s, e);
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const id = this.slots[slot]!;
      if (id < 0) break;
      if (this.hash.data[id]! >>> 0 !== h) continue;
      const a = this.start.data[id]!;
      const b = this.end.data[id]!;
      if (b - a === e - s && t.compare(t, s, e, a, b) === 0) return id;
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

  /** Record `p` has name `id` as an earlier record does: the same version twice is an error. */
  private checkTwice(id: number, p: number): void {
    const index = this.index;
    const t = index.text;
    const vs = index.offset(p, R_VERSION);
    const ve = index.valueEnd(vs);
    for (let c = this.head.data[id]!; c >= 0; c = this.next.data[c]!) {
      const code = this.codes.data[c]!;
      if (code % 2 === 1) continue;
      const q = code / 2;
      const qs = index.offset(q, R_VERSION);
      const qe = index.valueEnd(qs);
      if (qe - qs === ve - vs && t.compare(t, vs, ve, qs, qe) === 0) {
        throw new DistrolessError(
          "E_FORMAT",
          `APKINDEX lists ${index.name(p)}-${index.version(p)} twice (records at lines ${recordLine(index, q)} and ${recordLine(index, p)})`,
          { subject: this.subject },
        );
      }
    }
  }
}

/** The line record `p` starts on (messages only): back from its name to the blank line before it. */
function recordLine(index: CompactIndex, p: number): number {
  const t = index.text;
  let at = index.offset(p, R_NAME);
  while (at > 0 && !(t[at - 1] === LF && (at < 2 || t[at - 2] === LF))) at--;
  let line = 1;
  for (let i = 0; i < at; i++) if (t[i] === LF) line++;
  return line;
}

const tables = new WeakMap<CompactIndex, NameTable>();

/**
 * The index's name table, built on first use. A parse builds it at once, `strict`, to refuse a
 * package listed twice; indexes built from plain entries take them as they are.
 */
export function nameTableOf(index: CompactIndex, subject = "APKINDEX", strict = false): NameTable {
  let table = tables.get(index);
  if (!table) {
    table = new NameTable(index, subject, strict);
    tables.set(index, table);
  }
  return table;
}
