/**
 * The section names of an ELF file, for the `strip` linter (melange asks Go's debug/elf whether a
 * `.debug` or `.zdebug` section exists). Reads only the section header table and the section-name
 * string table, both bounded, so a hostile or truncated file yields `undefined`, never a huge read.
 */
import * as fsp from "node:fs/promises";

const MAX_SECTIONS = 65_535;
const MAX_NAMES_BYTES = 16 << 20;

/** Section names of the ELF file at `file`; `undefined` when it is not an ELF file we can read. */
export async function elfSectionNames(file: string): Promise<string[] | undefined> {
  const fh = await fsp.open(file, "r");
  try {
    const { size } = await fh.stat();
    const readAt = async (offset: number, length: number): Promise<Buffer> => {
      if (offset < 0 || offset >= size || length <= 0) return Buffer.alloc(0);
      const n = Math.min(length, size - offset);
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, offset);
      return buf.subarray(0, bytesRead);
    };
    const ident = await readAt(0, 64);
    if (ident.length < 52 || ident.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = ident[4] === 2;
    if (ident[4] !== 1 && ident[4] !== 2) return undefined;
    if (ident[5] !== 1 && ident[5] !== 2) return undefined;
    if (is64 && ident.length < 64) return undefined;
    const le = ident[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const word = (b: Buffer, o: number) => {
      if (!is64) return u32(b, o);
      const v = le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
      return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
    };
    const shoff = word(ident, is64 ? 40 : 32);
    const shentsize = u16(ident, is64 ? 58 : 46);
    const shnum = u16(ident, is64 ? 60 : 48);
    const shstrndx = u16(ident, is64 ? 62 : 50);
    if (shoff <= 0 || shnum === 0 || shnum > MAX_SECTIONS || shentsize < (is64 ? 64 : 40)) return [];
    if (shstrndx >= shnum) return undefined;
    const table = await readAt(shoff, shnum * shentsize);
    if (table.length < shnum * shentsize) return undefined;
    const strBase = shstrndx * shentsize;
    const strOffset = word(table, strBase + (is64 ? 24 : 16));
    const strSize = word(table, strBase + (is64 ? 32 : 20));
    if (strOffset < 0 || strSize < 0 || strSize > MAX_NAMES_BYTES) return undefined;
    const names = await readAt(strOffset, strSize);
    const out: string[] = [];
    for (let i = 0; i < shnum; i++) {
      const at = u32(table, i * shentsize);
      if (at >= names.length) continue;
      const end = names.indexOf(0, at);
      out.push(names.toString("latin1", at, end < 0 ? names.length : end));
    }
    return out;
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  } finally {
    await fh.close();
  }
}
