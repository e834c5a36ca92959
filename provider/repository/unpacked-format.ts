import { decodeName, encodeName } from "../archive/raw-names";
import { DistrolessError } from "../util/errors";

/**
 * The binary metadata of an unpacked package (unpacked-cache.ts): the data segment's entries as
 * the installer needs them, in archive order, and the SHA-256 of every block of the bodies region.
 * Read back only after its seal verified, but still bounds-checked: a record of another format
 * version, or one a bug of ours wrote, must be refused, never crash or over-allocate.
 */

export const UNPACKED_FORMAT_VERSION = 1;

export type UnpackedType = "dir" | "file" | "symlink" | "hardlink";
const TYPES: readonly UnpackedType[] = ["dir", "file", "symlink", "hardlink"];

/** One data-segment entry. A file's body is at `offset` of the bodies region (`size` bytes). */
export interface UnpackedEntry {
  /** Normalized relative path, as the data scanner gives it (raw bytes kept, raw-names.ts). */
  path: string;
  type: UnpackedType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** Symlink target or hardlink name ("" otherwise). */
  linkname: string;
  /** Body size (files; 0 otherwise). */
  size: number;
  /** Where the body starts in the bodies region (files; bodies follow each other in entry order). */
  offset: number;
  /** Hex SHA-1: a file's body (verified), a link's recorded one when it had one. */
  sha1?: string;
  xattrs?: Record<string, Buffer>;
}

export interface UnpackedMeta {
  datahash: string;
  blockSize: number;
  bodiesLength: number;
  /** SHA-256 of each `blockSize` block of the bodies region (the last one may be short), 32 bytes each. */
  blockHashes: Buffer;
  entryCount: number;
}

/** A growable little-endian byte buffer. */
export class ByteWriter {
  private buf = Buffer.allocUnsafe(4096);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.length++] = v;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  /** A length-prefixed byte string. */
  blob(b: Uint8Array): void {
    this.u32(b.length);
    this.bytes(b);
  }
  name(s: string): void {
    this.blob(encodeName(s));
  }
  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Appends one entry's record (the writer encodes entries as they are installed). */
export function encodeEntry(w: ByteWriter, e: UnpackedEntry): void {
  w.u8(TYPES.indexOf(e.type));
  const xattrs = e.xattrs ? Object.entries(e.xattrs) : [];
  w.u8((e.sha1 ? 1 : 0) | (xattrs.length ? 2 : 0));
  w.u32(e.mode);
  w.u32(e.uid);
  w.u32(e.gid);
  w.f64(e.mtime);
  w.name(e.path);
  if (e.type === "symlink" || e.type === "hardlink") w.name(e.linkname);
  if (e.type === "file") w.f64(e.size);
  if (e.sha1) w.bytes(Buffer.from(e.sha1, "hex"));
  if (xattrs.length) {
    w.u32(xattrs.length);
    for (const [k, v] of xattrs) {
      w.name(k);
      w.blob(v);
    }
  }
}

/** The metadata head: written after the entries are known, read first. */
export function encodeMetaHead(m: Omit<UnpackedMeta, "entryCount">, entryCount: number): Buffer {
  const w = new ByteWriter();
  w.u32(UNPACKED_FORMAT_VERSION);
  w.u32(m.blockSize);
  w.f64(m.bodiesLength);
  w.name(m.datahash);
  w.blob(m.blockHashes);
  w.u32(entryCount);
  return w.result();
}

/** Bounds-checked reads over a sealed metadata buffer; any overrun is an E_FORMAT. */
export class ByteReader {
  private at = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly subject: string,
  ) {}

  private need(n: number): number {
    if (n < 0 || this.at + n > this.buf.length) {
      throw new DistrolessError("E_FORMAT", "unpacked package metadata is cut short", {
        subject: this.subject,
      });
    }
    const at = this.at;
    this.at += n;
    return at;
  }
  u8(): number {
    return this.buf[this.need(1)]!;
  }
  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }
  f64(): number {
    return this.buf.readDoubleLE(this.need(8));
  }
  bytes(n: number): Buffer {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  blob(): Buffer {
    return this.bytes(this.u32());
  }
  name(): string {
    return decodeName(this.blob());
  }
  get done(): boolean {
    return this.at === this.buf.length;
  }
}

export function decodeMetaHead(r: ByteReader, subject: string): UnpackedMeta {
  const version = r.u32();
  if (version !== UNPACKED_FORMAT_VERSION) {
    throw new DistrolessError(
      "E_FORMAT",
      `unpacked package format ${version}, expected ${UNPACKED_FORMAT_VERSION}`,
      {
        subject,
      },
    );
  }
  const blockSize = r.u32();
  const bodiesLength = r.f64();
  const datahash = r.name();
  const blockHashes = r.blob();
  const entryCount = r.u32();
  const blocks = blockSize > 0 ? Math.ceil(bodiesLength / blockSize) : -1;
  if (!Number.isSafeInteger(bodiesLength) || bodiesLength < 0 || blocks * 32 !== blockHashes.length) {
    throw new DistrolessError("E_FORMAT", "unpacked package metadata does not describe its bodies", {
      subject,
    });
  }
  return { datahash, blockSize, bodiesLength, blockHashes, entryCount };
}

/**
 * The entries, one at a time (a package of many files is never decoded into one big list); each
 * file body is checked to lie inside the bodies region, in order.
 */
export function* decodeEntries(r: ByteReader, meta: UnpackedMeta, subject: string): Generator<UnpackedEntry> {
  let offset = 0;
  for (let i = 0; i < meta.entryCount; i++) {
    const type = TYPES[r.u8()];
    if (!type) throw new DistrolessError("E_FORMAT", "unknown entry type in unpacked package", { subject });
    const flags = r.u8();
    const e: UnpackedEntry = {
      type,
      mode: r.u32(),
      uid: r.u32(),
      gid: r.u32(),
      mtime: r.f64(),
      path: r.name(),
      linkname: "",
      size: 0,
      offset: 0,
    };
    if (type === "symlink" || type === "hardlink") e.linkname = r.name();
    if (type === "file") {
      e.size = r.f64();
      e.offset = offset;
      offset += e.size;
      if (!Number.isSafeInteger(e.size) || e.size < 0 || offset > meta.bodiesLength) {
        throw new DistrolessError("E_FORMAT", `${e.path}: body outside the unpacked package`, { subject });
      }
    }
    if (flags & 1) e.sha1 = r.bytes(20).toString("hex");
    if (flags & 2) {
      const xattrs: Record<string, Buffer> = {};
      for (let n = r.u32(); n > 0; n--) xattrs[r.name()] = Buffer.from(r.blob());
      e.xattrs = xattrs;
    }
    yield e;
  }
  if (offset !== meta.bodiesLength || !r.done) {
    throw new DistrolessError("E_FORMAT", "unpacked package metadata does not account for its bodies", {
      subject,
    });
  }
}
