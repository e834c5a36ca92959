import { DistrolessError } from "../util/errors";
import { decodeName, encodeName, nameByteLength } from "./raw-names";

/**
 * Tar header codec (POSIX ustar + PAX extensions, reading GNU long names and base-256 numbers too).
 * Writing follows what Go's archive/tar emits for melange and apko: `ustar\0` + `00` magic, octal
 * fields zero-padded and NUL-terminated, PAX header entries named `<dir>/PaxHeaders.0/<base>`.
 */

export const BLOCK = 512;

export type EntryType =
  | "file"
  | "hardlink"
  | "symlink"
  | "chardev"
  | "blockdev"
  | "directory"
  | "fifo"
  | "pax"
  | "pax-global"
  | "gnu-longname"
  | "gnu-longlink"
  | "unknown";

const TYPE_BY_FLAG: Record<string, EntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file", // contiguous file: a regular file to every reader that matters
  "1": "hardlink",
  "2": "symlink",
  "3": "chardev",
  "4": "blockdev",
  "5": "directory",
  "6": "fifo",
  x: "pax",
  g: "pax-global",
  L: "gnu-longname",
  K: "gnu-longlink",
};

const FLAG_BY_TYPE: Partial<Record<EntryType, string>> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  chardev: "3",
  blockdev: "4",
  directory: "5",
  fifo: "6",
  pax: "x",
};

export interface TarHeader {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** PAX records that applied to this entry (path/linkpath/size... already folded in). */
  pax: Record<string, string>;
}

export function newHeader(fields: Partial<TarHeader> & { name: string; type: EntryType }): TarHeader {
  // Every field written out (no spread): one object shape for every header, made once per entry
  // of a layer of many files.
  return {
    mode: fields.mode ?? (fields.type === "directory" ? 0o755 : fields.type === "symlink" ? 0o777 : 0o644),
    uid: fields.uid ?? 0,
    gid: fields.gid ?? 0,
    size: fields.size ?? 0,
    mtime: fields.mtime ?? 0,
    linkname: fields.linkname ?? "",
    uname: fields.uname ?? "",
    gname: fields.gname ?? "",
    devmajor: fields.devmajor ?? 0,
    devminor: fields.devminor ?? 0,
    pax: fields.pax ?? {},
    name: fields.name,
    type: fields.type,
  };
}

// ---- decoding ----

function cstr(buf: Uint8Array, start: number, len: number): string {
  return cbytes(buf, start, len).toString("utf8");
}

/** A NUL-terminated header field's bytes (a view, not a copy). */
export function cbytes(buf: Uint8Array, start: number, len: number): Buffer {
  let end = start;
  const max = start + len;
  while (end < max && buf[end] !== 0) end++;
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start);
}

function parseNumber(buf: Uint8Array, start: number, len: number, field: string): number {
  // GNU base-256: high bit of the first byte set.
  if ((buf[start]! & 0x80) !== 0) {
    if ((buf[start]! & 0x40) !== 0) throw new DistrolessError("E_FORMAT", `negative base-256 ${field}`);
    let v = buf[start]! & 0x3f;
    for (let i = start + 1; i < start + len; i++) {
      v = v * 256 + buf[i]!;
      if (v > Number.MAX_SAFE_INTEGER) throw new DistrolessError("E_HOSTILE", `tar ${field} too large`);
    }
    return v;
  }
  let v = 0;
  let seen = false;
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c === 0 || c === 32) {
      if (seen) break;
      continue;
    }
    if (c < 48 || c > 55) throw new DistrolessError("E_FORMAT", `invalid octal digit in tar ${field}`);
    v = v * 8 + (c - 48);
    seen = true;
  }
  return v;
}

function headerChecksum(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 32 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Decodes one 512-byte header block (without PAX folding). */
export function decodeHeader(block: Uint8Array): TarHeader {
  const stored = parseNumber(block, 148, 8, "checksum");
  const sum = headerChecksum(block);
  if (stored !== sum.unsigned && stored !== sum.signed) {
    throw new DistrolessError("E_FORMAT", "tar header checksum mismatch (corrupt or not a tar archive)");
  }
  const flag = String.fromCharCode(block[156]!);
  const magic = cstr(block, 257, 6);
  let nameBytes = cbytes(block, 0, 100);
  if (magic === "ustar") {
    const prefix = cbytes(block, 345, 155);
    if (prefix.length > 0 && block[257 + 5] === 0 /* POSIX ustar, not GNU */)
      nameBytes = Buffer.concat([prefix, Buffer.from("/"), nameBytes]);
  }
  const header: TarHeader = {
    name: decodeName(nameBytes),
    type: TYPE_BY_FLAG[flag] ?? "unknown",
    mode: parseNumber(block, 100, 8, "mode") & 0o7777,
    uid: parseNumber(block, 108, 8, "uid"),
    gid: parseNumber(block, 116, 8, "gid"),
    size: parseNumber(block, 124, 12, "size"),
    mtime: parseNumber(block, 136, 12, "mtime"),
    linkname: decodeName(cbytes(block, 157, 100)),
    uname: cstr(block, 265, 32),
    gname: cstr(block, 297, 32),
    devmajor: parseNumber(block, 329, 8, "devmajor"),
    devminor: parseNumber(block, 337, 8, "devminor"),
    pax: {},
  };
  return header;
}

/** Parses PAX extended header records (`<len> <key>=<value>\n`). */
export function parsePaxRecords(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) break; // trailing NUL padding some writers leave
    const space = buf.indexOf(32, pos);
    if (space < 0) throw new DistrolessError("E_FORMAT", "malformed PAX record (no length)");
    const len = Number.parseInt(buf.toString("latin1", pos, space), 10);
    if (!Number.isInteger(len) || len <= space - pos + 1 || pos + len > buf.length) {
      throw new DistrolessError("E_FORMAT", "malformed PAX record length");
    }
    const record = buf.subarray(space + 1, pos + len - 1); // without the trailing \n
    if (buf[pos + len - 1] !== 10) throw new DistrolessError("E_FORMAT", "PAX record not newline-terminated");
    const eq = record.indexOf(61);
    if (eq < 0) throw new DistrolessError("E_FORMAT", "malformed PAX record (no '=')");
    const key = record.toString("utf8", 0, eq);
    // Names keep their bytes (see raw-names.ts); other values are text.
    // xattr values are binary (security.capability): kept byte for byte the same way.
    if (key === "path" || key === "linkpath" || key.startsWith("SCHILY.xattr."))
      out[key] = decodeName(record.subarray(eq + 1));
    else out[key] = record.toString("utf8", eq + 1);
    pos += len;
  }
  return out;
}

/** Folds PAX records into a header the way readers must (path, linkpath, size, ids, names, mtime). */
export function applyPax(header: TarHeader, records: Record<string, string>): void {
  for (const [key, value] of Object.entries(records)) {
    switch (key) {
      case "path":
        header.name = value;
        break;
      case "linkpath":
        header.linkname = value;
        break;
      case "size":
        header.size = paxNumber(value, key);
        break;
      case "uid":
        header.uid = paxNumber(value, key);
        break;
      case "gid":
        header.gid = paxNumber(value, key);
        break;
      case "uname":
        header.uname = value;
        break;
      case "gname":
        header.gname = value;
        break;
      case "mtime":
        header.mtime = Math.floor(Number.parseFloat(value));
        break;
    }
    header.pax[key] = value;
  }
}

function paxNumber(value: string, key: string): number {
  if (!/^\d+$/.test(value)) throw new DistrolessError("E_FORMAT", `invalid PAX ${key} "${value}"`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new DistrolessError("E_HOSTILE", `PAX ${key} too large`);
  return n;
}

// ---- encoding ----

/** `value`'s bytes, cut at `len`, into a zeroed block (ASCII, the usual case, without a Buffer). */
function writeString(block: Buffer, value: string, start: number, len: number): void {
  const n = Math.min(len, value.length);
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) {
      encodeName(value).copy(block, start, 0, len);
      return;
    }
    block[start + i] = c;
  }
}

function writeOctal(block: Buffer, value: number, start: number, len: number): void {
  // len-1 octal digits, zero padded, then NUL.
  if (Number.isSafeInteger(value) && value >= 0 && value < 8 ** (len - 1)) {
    for (let i = start + len - 2, v = value; i >= start; i--, v = Math.floor(v / 8)) block[i] = 48 + (v % 8);
  } else {
    block.write(value.toString(8).padStart(len - 1, "0"), start, len - 1, "latin1");
  }
  block[start + len - 1] = 0;
}

function fitsOctal(value: number, len: number): boolean {
  return value >= 0 && value < 8 ** (len - 1);
}

/** Splits a long name into ustar prefix (<= 155) + name (<= 100) at a slash, if possible. */
function splitUstarPath(name: string): [string, string] | undefined {
  const bytes = nameByteLength(name);
  if (bytes <= 100) return ["", name];
  if (bytes > 256) return undefined;
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== "/") continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (nameByteLength(prefix) <= 155 && nameByteLength(rest) <= 100 && rest.length > 0)
      return [prefix, rest];
  }
  return undefined;
}

function encodeBlock(h: TarHeader, name: string, prefix: string, flag: string): Buffer {
  // From Node's buffer pool (Buffer.alloc would be an allocation of its own per header).
  const block = Buffer.allocUnsafe(BLOCK).fill(0);
  writeString(block, name, 0, 100);
  writeOctal(block, h.mode & 0o7777, 100, 8);
  writeOctal(block, fitsOctal(h.uid, 8) ? h.uid : 0, 108, 8);
  writeOctal(block, fitsOctal(h.gid, 8) ? h.gid : 0, 116, 8);
  writeOctal(block, fitsOctal(h.size, 12) ? h.size : 0, 124, 12);
  writeOctal(block, fitsOctal(h.mtime, 12) ? h.mtime : 0, 136, 12);
  block.write(flag, 156, 1, "latin1");
  // A longer target goes in a PAX linkpath record; like Go, the field keeps its first 100 bytes.
  writeString(block, h.linkname, 157, 100);
  block.write("ustar\u000000", 257, 8, "latin1");
  writeString(block, nameByteLength(h.uname) <= 32 ? h.uname : "", 265, 32);
  writeString(block, nameByteLength(h.gname) <= 32 ? h.gname : "", 297, 32);
  // Go's archive/tar (melange, apko) leaves the device fields of a PAX header block NUL.
  if (flag !== "x") {
    writeOctal(block, fitsOctal(h.devmajor, 8) ? h.devmajor : 0, 329, 8);
    writeOctal(block, fitsOctal(h.devminor, 8) ? h.devminor : 0, 337, 8);
  }
  writeString(block, prefix, 345, 155);
  const { unsigned } = headerChecksum(block);
  block.write(unsigned.toString(8).padStart(6, "0"), 148, 6, "latin1");
  block[154] = 0;
  block[155] = 32;
  return block;
}

/** An xattr value as a PAX `SCHILY.xattr.*` record value (its bytes kept exactly; see raw-names.ts). */
export function xattrRecordValue(value: Buffer): string {
  return decodeName(value);
}

/** The xattr bytes of a `SCHILY.xattr.*` record value read by parsePaxRecords. */
export function xattrFromRecord(value: string): Buffer {
  return encodeName(value);
}

export function encodePaxRecords(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const key of Object.keys(records).sort()) {
    const body = encodeName(` ${key}=${records[key]}\n`);
    const bodyLen = body.length;
    // The length counts its own digits: grow the digit count until it is self-consistent.
    let digits = String(bodyLen).length;
    while (String(bodyLen + digits).length !== digits) digits++;
    const len = bodyLen + digits;
    parts.push(Buffer.from(String(len), "latin1"), body);
  }
  return Buffer.concat(parts);
}

function paxHeaderName(name: string): string {
  const slash = name.lastIndexOf("/");
  const dir = slash >= 0 ? name.slice(0, slash) : "";
  const base = slash >= 0 ? name.slice(slash + 1) : name;
  const full = dir ? `${dir}/PaxHeaders.0/${base}` : `PaxHeaders.0/${base}`;
  return nameByteLength(full) <= 100 ? full : decodeName(encodeName(full).subarray(0, 100));
}

export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/**
 * Encodes an entry's header block(s): a PAX header (when records are given or a field does not fit
 * ustar) followed by the ustar block. The caller writes the body and `paddingFor(size)` zero bytes.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const flag = FLAG_BY_TYPE[h.type];
  if (!flag) throw new DistrolessError("E_INTERNAL", `cannot write tar entry type ${h.type}`);
  const records: Record<string, string> = { ...h.pax };
  // Go's archive/tar (melange, apko) splits a long name into ustar prefix + name only for a
  // ustar header; an entry that has PAX records anyway (the apk checksum) carries it as `path`.
  const split =
    Object.keys(records).length === 0 || nameByteLength(h.name) <= 100 ? splitUstarPath(h.name) : undefined;
  let name = h.name;
  let prefix = "";
  if (split) [prefix, name] = split;
  else {
    records.path = h.name;
    name = decodeName(encodeName(h.name).subarray(0, 100));
  }
  if (nameByteLength(h.linkname) > 100) records.linkpath = h.linkname;
  if (!fitsOctal(h.size, 12)) records.size = String(h.size);
  if (!fitsOctal(h.uid, 8)) records.uid = String(h.uid);
  if (!fitsOctal(h.gid, 8)) records.gid = String(h.gid);
  if (!fitsOctal(h.mtime, 12)) records.mtime = String(h.mtime);
  if (nameByteLength(h.uname) > 32) records.uname = h.uname;
  if (nameByteLength(h.gname) > 32) records.gname = h.gname;
  const main = encodeBlock(h, name, prefix, flag);
  if (Object.keys(records).length === 0) return main;
  const body = encodePaxRecords(records);
  const paxHeader = encodeBlock(
    newHeader({ name: paxHeaderName(h.name), type: "pax", mode: 0, size: body.length }),
    paxHeaderName(h.name),
    "",
    "x",
  );
  return Buffer.concat([paxHeader, body, Buffer.alloc(paddingFor(body.length)), main]);
}

export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
