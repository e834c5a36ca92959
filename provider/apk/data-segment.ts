/**
 * The data segment of an apk: the data tar of a package's entries, gzipped, and its SHA-256 (the
 * package's `datahash`). Entries are written depth-first in bytewise order with melange's header
 * conventions (owner names as the entries give them, root:root by default,
 * `APK-TOOLS.checksum.SHA1` PAX records on files and symlinks).
 *
 * One read per file (issue #15): the tar is built straight into the compressor's input blocks
 * (GzipEncoder.newBlock/put), and a small file is read into its place there, behind a header
 * whose SHA-1 record is filled in once the bytes are in. No buffer per file, no chunk that is
 * copied again into a block, no stream between the tar and the compressor. The compressed output
 * is hashed as it comes and kept in memory while small (most packages: no temp file at all), else
 * written to the temp file as it comes.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { GzipEncoder } from "../archive/parallel-gzip";
import { comparePaths } from "../archive/safe-path";
import { END_OF_ARCHIVE, encodeHeader, newHeader, paddingFor, xattrRecordValue } from "../archive/tar-header";
import { DistrolessError } from "../util/errors";
import { hashFile, newHash, sha1 } from "../util/hash";
import { contentSize, type DataEntry } from "./data-entry";

/** Files up to this size are read once, straight into the tar; larger ones are hashed first. */
const READ_ONCE_LIMIT = 4 << 20;

/** Compressed output kept in memory up to this size; beyond it, it goes to the temp file. */
const IN_MEMORY_LIMIT = 16 << 20;

const SHA1_RECORD = "APK-TOOLS.checksum.SHA1";
/** A stand-in SHA-1 of the right length: the header is encoded before the file is read. */
const SHA1_PLACEHOLDER = "0".repeat(40);

export interface DataSegment {
  /** SHA-256 (hex) of the compressed bytes. */
  datahash: string;
  /** Compressed size. */
  size: number;
  /** The compressed bytes when they stayed small; otherwise they are in the temp file. */
  chunks?: Buffer[];
}

/** The tar, written into the compressor's blocks: each block is handed over once full. */
class BlockWriter {
  private block: Buffer;
  private fill = 0;

  constructor(private readonly encoder: GzipEncoder) {
    this.block = encoder.newBlock();
  }

  /** Bytes left in the current block (never 0 between calls). */
  get room(): number {
    return this.block.length - this.fill;
  }

  /** The next `n` (<= room) bytes of the tar, to be filled by the caller before `settle`. */
  take(n: number): Buffer {
    const region = this.block.subarray(this.fill, this.fill + n);
    this.fill += n;
    return region;
  }

  /** Hands a full block to the compressor (waiting when it has enough in flight). */
  async settle(): Promise<void> {
    if (this.fill < this.block.length) return;
    const full = this.block;
    this.block = this.encoder.newBlock();
    this.fill = 0;
    const waiting = this.encoder.put(full);
    if (waiting) await waiting;
  }

  async put(b: Buffer): Promise<void> {
    for (let off = 0; off < b.length; ) {
      const n = Math.min(this.room, b.length - off);
      b.copy(this.block, this.fill, off, off + n);
      this.fill += n;
      off += n;
      await this.settle();
    }
  }

  async zeros(count: number): Promise<void> {
    for (let left = count; left > 0; ) {
      const n = Math.min(this.room, left);
      this.take(n).fill(0);
      left -= n;
      await this.settle();
    }
  }

  /**
   * Reads `size` bytes of the open file `fd` into the tar, straight into the blocks; an error if
   * the file holds another number of bytes.
   */
  async readFile(fd: number, size: number, entryPath: string): Promise<void> {
    let seen = 0;
    while (seen < size) {
      const want = Math.min(this.room, size - seen);
      const n = readSync(fd, this.block, this.fill, want, null);
      if (n === 0) break;
      this.fill += n;
      seen += n;
      await this.settle();
    }
    if (seen !== size || readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0) changedSize(entryPath, size, fd);
  }

  end(): Promise<void> {
    return this.encoder.end(this.block.subarray(0, this.fill));
  }
}

function changedSize(entryPath: string, size: number, fd: number): never {
  throw new DistrolessError(
    "E_BUILD",
    `${entryPath} changed size while being packaged (${size} -> ${fstatSync(fd).size})`,
  );
}

/** Reads exactly `target.length` bytes of the open file into `target`, and no more exist. */
function readExactly(fd: number, target: Buffer, entryPath: string): void {
  let off = 0;
  while (off < target.length) {
    const n = readSync(fd, target, off, target.length - off, null);
    if (n === 0) break;
    off += n;
  }
  if (off !== target.length || readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0)
    changedSize(entryPath, target.length, fd);
}

/**
 * The SHA-1 record as it starts the PAX data block that follows the PAX header block: records are
 * sorted, upper-case keys sort first, and its length (68, digits included) never varies.
 */
const SHA1_RECORD_START = Buffer.from(`68 ${SHA1_RECORD}=`, "latin1");

/** Where the SHA-1 placeholder sits in an encoded header. */
function sha1Offset(header: Buffer): number {
  const at = 512 + SHA1_RECORD_START.length;
  if (
    header.length < at + 41 ||
    !SHA1_RECORD_START.equals(header.subarray(512, at)) ||
    header[at + 40] !== 0x0a
  ) {
    throw new DistrolessError("E_INTERNAL", "the tar header has no SHA-1 record where it should be");
  }
  return at;
}

/** The compressed output: hashed as it comes, kept in memory while small, else appended to `file`. */
class Sink {
  private readonly hash = newHash("sha256");
  private chunks: Buffer[] | undefined = [];
  private fd: number | undefined;
  size = 0;
  /** A write error: emit cannot throw (it runs in the compressor's callbacks), so it is kept here. */
  failure: unknown;

  constructor(private readonly file: string) {}

  readonly emit = (chunk: Buffer): void => {
    if (this.failure !== undefined) return;
    try {
      this.hash.update(chunk);
      this.size += chunk.length;
      if (this.chunks && this.size <= IN_MEMORY_LIMIT) {
        this.chunks.push(chunk);
        return;
      }
      if (this.fd === undefined) {
        this.fd = openSync(this.file, "w", 0o644);
        for (const c of this.chunks ?? []) writeAll(this.fd, c);
        this.chunks = undefined;
      }
      writeAll(this.fd, chunk);
    } catch (err) {
      this.failure = err;
    }
  };

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  result(): DataSegment {
    if (this.failure !== undefined) throw this.failure;
    const seg: DataSegment = { datahash: this.hash.digest("hex"), size: this.size };
    if (this.chunks) seg.chunks = this.chunks;
    return seg;
  }
}

function writeAll(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
}

function paxOf(e: DataEntry): Record<string, string> {
  const pax: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.xattrs ?? {})) pax[`SCHILY.xattr.${k}`] = xattrRecordValue(v);
  if (e.type === "symlink") pax[SHA1_RECORD] = sha1(e.linkname ?? "").toString("hex");
  return pax;
}

function headerOf(e: DataEntry, epoch: number, size: number, pax: Record<string, string>): Buffer {
  return encodeHeader(
    newHeader({
      name: e.path,
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      uname: e.uname ?? "root",
      gname: e.gname ?? "root",
      size,
      mtime: epoch,
      linkname: e.linkname ?? "",
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
      pax,
    }),
  );
}

/** A file on disk of at most READ_ONCE_LIMIT bytes: read once, its SHA-1 patched into its header. */
async function putSmallFile(
  out: BlockWriter,
  e: DataEntry,
  file: string,
  size: number,
  epoch: number,
  scratch: { buf?: Buffer },
): Promise<void> {
  const header = headerOf(e, epoch, size, { ...paxOf(e), [SHA1_RECORD]: SHA1_PLACEHOLDER });
  const pad = paddingFor(size);
  const fd = openSync(file, "r");
  try {
    if (header.length + size + pad <= out.room) {
      // The usual case: header, bytes and padding fit in the current block; the file is read there.
      const region = out.take(header.length + size + pad);
      const body = region.subarray(header.length, header.length + size);
      readExactly(fd, body, e.path);
      header.write(sha1(body).toString("hex"), sha1Offset(header), "latin1");
      header.copy(region);
      region.fill(0, header.length + size);
      await out.settle();
      return;
    }
    // Across a block boundary (once per block): read aside, then copied in.
    if (!scratch.buf || scratch.buf.length < size)
      scratch.buf = Buffer.allocUnsafe(Math.max(size, 256 << 10));
    const body = scratch.buf.subarray(0, size);
    readExactly(fd, body, e.path);
    header.write(sha1(body).toString("hex"), sha1Offset(header), "latin1");
    await out.put(header);
    await out.put(body);
    await out.zeros(pad);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the gzipped data tar of `entries`; the compressed bytes are returned in memory when they
 * stay small, else they are in `file` (which the caller removes).
 */
export async function writeDataSegment(
  entries: DataEntry[],
  epoch: number,
  file: string,
  level: number,
): Promise<DataSegment> {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  const sink = new Sink(file);
  // The same encoder (level, block size) as gzip-stream's createGzip: the same bytes.
  const out = new BlockWriter(new GzipEncoder(sink.emit, { level }));
  const scratch: { buf?: Buffer } = {};
  try {
    for (const e of sorted) {
      const c = e.type === "file" ? e.content : undefined;
      const size = e.type === "file" ? contentSize(e) : 0;
      if (c !== undefined && !Buffer.isBuffer(c) && c.size <= READ_ONCE_LIMIT) {
        await putSmallFile(out, e, c.file, c.size, epoch, scratch);
      } else if (c !== undefined && !Buffer.isBuffer(c)) {
        // Too big to hold: hashed first (its header goes before its bytes), then read into the tar.
        const sum = (await hashFile(c.file, "sha1")).hex;
        await out.put(headerOf(e, epoch, size, { ...paxOf(e), [SHA1_RECORD]: sum }));
        const fd = openSync(c.file, "r");
        try {
          await out.readFile(fd, size, e.path);
        } finally {
          closeSync(fd);
        }
        await out.zeros(paddingFor(size));
      } else if (e.type === "file") {
        const data = c ?? Buffer.alloc(0);
        await out.put(headerOf(e, epoch, size, { ...paxOf(e), [SHA1_RECORD]: sha1(data).toString("hex") }));
        await out.put(data);
        await out.zeros(paddingFor(size));
      } else {
        await out.put(headerOf(e, epoch, 0, paxOf(e)));
      }
      if (sink.failure !== undefined) throw sink.failure;
    }
    await out.put(END_OF_ARCHIVE);
    await out.end();
    return sink.result();
  } finally {
    sink.close();
  }
}
