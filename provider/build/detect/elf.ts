/**
 * A small ELF reader for dependency detection: the interpreter (`PT_INTERP`), the libraries a file
 * needs (`DT_NEEDED`) and its own name (`DT_SONAME`). Handles 32- and 64-bit files of either byte
 * order. Reads only the headers and the dynamic section through a bounded reader, so a hostile or
 * truncated file yields `undefined` (not an ELF we understand) rather than an exception or a huge read.
 */
import * as fsp from "node:fs/promises";

export interface ElfInfo {
  class: 32 | 64;
  littleEndian: boolean;
  /** e_type: 2 = executable, 3 = shared object (PIE executables are 3 too). */
  type: number;
  machine: number;
  /** The program interpreter path (`/lib/ld-musl-x86_64.so.1`), NUL bytes trimmed. */
  interpreter?: string;
  needed: string[];
  soname: string[];
}

/** Reads `length` bytes at `offset`; returns fewer at end of file. */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

const ELF_MAGIC = 0x7f454c46;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const SHT_DYNAMIC = 6;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
/** Caps that keep a corrupt header from asking for gigabytes. */
const MAX_HEADERS = 4096;
const MAX_DYNAMIC_BYTES = 1 << 20;
const MAX_STRTAB_BYTES = 16 << 20;
const MAX_PATH = 4096;

interface Reader {
  u16(b: Buffer, o: number): number;
  u32(b: Buffer, o: number): number;
  /** A word of the file's class: 4 or 8 bytes. Values above 2^53 become NaN (treated as corrupt). */
  word(b: Buffer, o: number): number;
  wordSize: 4 | 8;
}

function readerFor(is64: boolean, le: boolean): Reader {
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number) => {
    const v = le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.NaN : Number(v);
  };
  return { u16, u32, word: is64 ? u64 : u32, wordSize: is64 ? 8 : 4 };
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

function cString(buf: Buffer, at: number): string | undefined {
  if (at < 0 || at >= buf.length) return undefined;
  const end = buf.indexOf(0, at);
  return buf.toString("utf8", at, end < 0 ? buf.length : end);
}

/** Parses ELF headers through `readAt`; `undefined` when the bytes are not a usable ELF file. */
export async function readElf(readAt: ReadAt): Promise<ElfInfo | undefined> {
  const ident = await readAt(0, 64);
  if (ident.length < 52 || ident.readUInt32BE(0) !== ELF_MAGIC) return undefined;
  const klass = ident[4];
  const data = ident[5];
  if ((klass !== 1 && klass !== 2) || (data !== 1 && data !== 2)) return undefined;
  const is64 = klass === 2;
  if (is64 && ident.length < 64) return undefined;
  const r = readerFor(is64, data === 1);
  const type = r.u16(ident, 16);
  const machine = r.u16(ident, 18);
  const phoff = r.word(ident, is64 ? 32 : 28);
  const shoff = r.word(ident, is64 ? 40 : 32);
  const phentsize = r.u16(ident, is64 ? 54 : 42);
  const phnum = r.u16(ident, is64 ? 56 : 44);
  const shentsize = r.u16(ident, is64 ? 58 : 46);
  const shnum = r.u16(ident, is64 ? 60 : 48);
  const info: ElfInfo = {
    class: is64 ? 64 : 32,
    littleEndian: data === 1,
    type,
    machine,
    needed: [],
    soname: [],
  };

  const segments: Segment[] = [];
  if (phoff > 0 && phnum > 0 && phnum <= MAX_HEADERS && phentsize >= (is64 ? 56 : 32)) {
    const table = await readAt(phoff, phnum * phentsize);
    for (let i = 0; i < phnum && (i + 1) * phentsize <= table.length; i++) {
      const o = i * phentsize;
      const seg: Segment = is64
        ? {
            type: r.u32(table, o),
            offset: r.word(table, o + 8),
            vaddr: r.word(table, o + 16),
            filesz: r.word(table, o + 32),
          }
        : {
            type: r.u32(table, o),
            offset: r.word(table, o + 4),
            vaddr: r.word(table, o + 8),
            filesz: r.word(table, o + 16),
          };
      if (Number.isNaN(seg.offset) || Number.isNaN(seg.vaddr) || Number.isNaN(seg.filesz)) return undefined;
      segments.push(seg);
    }
  }

  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp && interp.filesz > 0 && interp.filesz <= MAX_PATH) {
    const raw = await readAt(interp.offset, interp.filesz);
    info.interpreter = raw.toString("latin1").replace(/\0+$/g, "").replace(/^\0+/g, "");
  }

  // Where the dynamic section lies: the PT_DYNAMIC segment, or (stripped of program headers, as in
  // some relocatable objects) the SHT_DYNAMIC section.
  let dynOffset = -1;
  let dynSize = 0;
  const dynSeg = segments.find((s) => s.type === PT_DYNAMIC);
  if (dynSeg) {
    dynOffset = dynSeg.offset;
    dynSize = dynSeg.filesz;
  } else if (shoff > 0 && shnum > 0 && shnum <= MAX_HEADERS && shentsize >= (is64 ? 64 : 40)) {
    const table = await readAt(shoff, shnum * shentsize);
    for (let i = 0; i < shnum && (i + 1) * shentsize <= table.length; i++) {
      const o = i * shentsize;
      if (r.u32(table, o + 4) !== SHT_DYNAMIC) continue;
      dynOffset = r.word(table, o + (is64 ? 24 : 16));
      dynSize = r.word(table, o + (is64 ? 32 : 20));
      break;
    }
  }
  if (dynOffset < 0 || !(dynSize > 0) || Number.isNaN(dynOffset)) return info;
  const dyn = await readAt(dynOffset, Math.min(dynSize, MAX_DYNAMIC_BYTES));

  const entrySize = r.wordSize * 2;
  const needed: number[] = [];
  const soname: number[] = [];
  let strtabAddr = Number.NaN;
  let strsz = 0;
  for (let o = 0; o + entrySize <= dyn.length; o += entrySize) {
    const tag = r.word(dyn, o);
    const val = r.word(dyn, o + r.wordSize);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) needed.push(val);
    else if (tag === DT_SONAME) soname.push(val);
    else if (tag === DT_STRTAB) strtabAddr = val;
    else if (tag === DT_STRSZ) strsz = val;
  }
  if (needed.length === 0 && soname.length === 0) return info;
  if (Number.isNaN(strtabAddr) || !(strsz > 0)) return info;

  // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD that covers it.
  // Without program headers, addresses equal offsets (unlinked objects).
  let strtabOffset = strtabAddr;
  const loads = segments.filter((s) => s.type === PT_LOAD);
  if (loads.length > 0) {
    const seg = loads.find((s) => strtabAddr >= s.vaddr && strtabAddr < s.vaddr + s.filesz);
    if (!seg) return info;
    strtabOffset = strtabAddr - seg.vaddr + seg.offset;
  }
  const strtab = await readAt(strtabOffset, Math.min(strsz, MAX_STRTAB_BYTES));
  const str = (v: number) => cString(strtab, v);
  for (const v of needed) {
    const s = str(v);
    if (s) info.needed.push(s);
  }
  for (const v of soname) {
    const s = str(v);
    if (s) info.soname.push(s);
  }
  return info;
}

/** Reads ELF information from a file; `undefined` for anything that is not an ELF file. */
export async function readElfFile(file: string): Promise<ElfInfo | undefined> {
  const fh = await fsp.open(file, "r");
  try {
    const { size } = await fh.stat();
    const readAt: ReadAt = async (offset, length) => {
      if (offset < 0 || offset >= size || length <= 0) return Buffer.alloc(0);
      const n = Math.min(length, size - offset);
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, offset);
      return buf.subarray(0, bytesRead);
    };
    try {
      return await readElf(readAt);
    } catch (err) {
      // A RangeError from a truncated header: not an ELF file we can use.
      if (err instanceof RangeError) return undefined;
      throw err;
    }
  } finally {
    await fh.close();
  }
}

/** Reads ELF information from bytes in memory (tests, fuzzing). */
export async function readElfBuffer(buf: Buffer): Promise<ElfInfo | undefined> {
  try {
    return await readElf(async (offset, length) =>
      offset < 0 || offset >= buf.length ? Buffer.alloc(0) : buf.subarray(offset, offset + length),
    );
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}
