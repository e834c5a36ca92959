import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import * as path from "node:path";
import { DistrolessError } from "../util/errors";
import { q1Decode } from "../util/hash";
import { loadSealKey, SEAL_BYTES, type SealKeySource, sealBytes, sealBytesMatch } from "./cache-seal";
import {
  ByteReader,
  ByteWriter,
  decodeEntries,
  decodeMetaHead,
  encodeEntry,
  encodeMetaHead,
  type UnpackedEntry,
  type UnpackedMeta,
} from "./unpacked-format";

/**
 * The unpacked-package cache: `<cache>/unpacked/<C: hex>.pdpk`, one file per package holding its
 * file bodies uncompressed and back to back, then the entry list (unpacked-format.ts), then a
 * trailer with the metadata's length and its seal. A warm build installs from it without
 * inflating or re-verifying the .apk (apko's "expanded" cache does the same with the data tar).
 *
 * Trust is the parsed-index cache's (cache-seal.ts): the metadata is sealed with an HMAC under the
 * per-user key and bound to the package's `C:` (so an entry moved to another package's name does
 * not verify), and it holds the SHA-256 of every block of the bodies, each checked when the block
 * is read (so a flipped byte is caught at use, not trusted because it was fine at open). The file
 * is opened without following symlinks and must have exactly the size its metadata says. An entry
 * is written only after its package verified completely (datahash, every file's SHA-1), to a temp
 * file renamed into place. Anything that fails is reported as damaged and the package is installed
 * from its verified .apk again, which rewrites the entry.
 */

const MAGIC = Buffer.from("PDPKv001");
const TRAILER = MAGIC.length + 8 + SEAL_BYTES;
/** Bodies are verified (and cached in memory) in blocks of this size. */
export const PACK_BLOCK_SIZE = 256 << 10;
/**
 * Blocks kept in memory at once, over every open package: small files are read from them. The
 * layer's order visits a package's files mostly in its own order, so a few blocks per package in
 * use at a time hit nearly always.
 */
const BLOCK_CACHE_BYTES = 4 << 20;

/** A cache entry that failed its checks: which package, and why (for the notice and the retry). */
export class DamagedPackError extends DistrolessError {
  constructor(
    readonly checksum: string,
    readonly reason: string,
    subject: string,
  ) {
    super("E_CHECKSUM", `the unpacked copy of this package in the cache is damaged (${reason})`, { subject });
  }
}

/** In-memory blocks of every open package, least recently used dropped first. */
class BlockCache {
  private readonly blocks = new Map<string, Buffer>();
  private bytes = 0;

  get(key: string): Buffer | undefined {
    const b = this.blocks.get(key);
    if (b) {
      this.blocks.delete(key);
      this.blocks.set(key, b);
    }
    return b;
  }
  set(key: string, block: Buffer): void {
    this.blocks.set(key, block);
    this.bytes += block.length;
    for (const [k, b] of this.blocks) {
      if (this.bytes <= BLOCK_CACHE_BYTES) break;
      this.blocks.delete(k);
      this.bytes -= b.length;
    }
  }
  dropPrefix(prefix: string): void {
    for (const [k, b] of this.blocks) {
      if (!k.startsWith(prefix)) continue;
      this.blocks.delete(k);
      this.bytes -= b.length;
    }
  }
}

let nextPackId = 0;

/** An open unpacked package: reads bodies by offset, each block checked against its hash. */
export class PackHandle {
  private readonly id = `${nextPackId++}:`;
  /** Set when the package is complete (a handle being written cannot be read yet). */
  private sealed: { blockHashes: Buffer; bodiesLength: number } | undefined;

  constructor(
    private fd: number | undefined,
    readonly checksum: string,
    readonly label: string,
    private readonly cache: BlockCache,
    sealed?: { blockHashes: Buffer; bodiesLength: number },
  ) {
    this.sealed = sealed;
  }

  /** The bodies are complete: they can be read, each block against its hash. */
  complete(blockHashes: Buffer, bodiesLength: number): void {
    this.sealed = { blockHashes, bodiesLength };
  }

  /**
   * The body at `offset`, `size` bytes, as views of verified blocks (synchronous: page-cache reads).
   * With `scratch` (PACK_BLOCK_SIZE bytes), blocks that one body covers whole are read into it: a
   * caller that copies each chunk before asking for the next saves an allocation per block.
   */
  *chunks(offset: number, size: number, scratch?: Buffer): Generator<Buffer> {
    const end = offset + size;
    for (let at = offset; at < end; ) {
      const index = Math.floor(at / PACK_BLOCK_SIZE);
      const start = index * PACK_BLOCK_SIZE;
      const stop = Math.min(end, start + PACK_BLOCK_SIZE);
      // A block that one body covers whole is not worth keeping: nothing else reads it.
      const whole = at === start && stop === start + PACK_BLOCK_SIZE;
      const block = whole ? this.readBlock(index, scratch) : this.cachedBlock(index);
      yield block.subarray(at - start, stop - start);
      at = stop;
    }
  }

  private cachedBlock(index: number): Buffer {
    const key = this.id + index;
    let block = this.cache.get(key);
    if (!block) {
      block = this.readBlock(index);
      this.cache.set(key, block);
    }
    return block;
  }

  private readBlock(index: number, into?: Buffer): Buffer {
    const sealed = this.sealed;
    if (this.fd === undefined || !sealed)
      throw new DistrolessError("E_INTERNAL", `${this.label}: pack not readable`);
    const want = sealed.blockHashes.subarray(index * 32, index * 32 + 32);
    if (want.length !== 32) throw this.damaged(`no block ${index}`);
    const length = Math.min(PACK_BLOCK_SIZE, sealed.bodiesLength - index * PACK_BLOCK_SIZE);
    const block = into && into.length >= length ? into : Buffer.allocUnsafe(length);
    let n = 0;
    while (n < length) {
      const got = readSync(this.fd, block, n, length - n, index * PACK_BLOCK_SIZE + n);
      if (got === 0) break;
      n += got;
    }
    const data = block.subarray(0, n);
    // The last block is short; a block cut short by truncation fails its hash like a flipped byte.
    if (!createHash("sha256").update(data).digest().equals(want))
      throw this.damaged(`block ${index} does not match its hash`);
    return data;
  }

  private damaged(reason: string): DamagedPackError {
    return new DamagedPackError(this.checksum, reason, this.label);
  }

  close(): void {
    this.cache.dropPrefix(this.id);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** A package's entry being written: bodies appended as they are read, entries as they are installed. */
export class PackWriter {
  private readonly entries = new ByteWriter();
  private entryCount = 0;
  private bodies = 0;
  private blockHash = createHash("sha256");
  private inBlock = 0;
  private readonly hashes: Buffer[] = [];

  constructor(
    private readonly fd: number,
    private readonly tmp: string,
    private readonly target: string | undefined,
    private readonly key: Buffer | undefined,
    readonly handle: PackHandle,
    private readonly release: () => void,
  ) {}

  /** Where the next body starts. */
  get position(): number {
    return this.bodies;
  }

  append(chunk: Buffer): void {
    for (let off = 0; off < chunk.length; )
      off += writeSync(this.fd, chunk, off, chunk.length - off, this.bodies + off);
    this.bodies += chunk.length;
    for (let off = 0; off < chunk.length; ) {
      const n = Math.min(chunk.length - off, PACK_BLOCK_SIZE - this.inBlock);
      this.blockHash.update(chunk.subarray(off, off + n));
      this.inBlock += n;
      off += n;
      if (this.inBlock === PACK_BLOCK_SIZE) this.endBlock();
    }
  }

  private endBlock(): void {
    this.hashes.push(this.blockHash.digest());
    this.blockHash = createHash("sha256");
    this.inBlock = 0;
  }

  addEntry(e: UnpackedEntry): void {
    encodeEntry(this.entries, e);
    this.entryCount++;
  }

  /** Completes the entry (sealed and renamed into place when the cache has a key); the handle reads it. */
  finish(datahash: string): PackHandle {
    if (this.inBlock > 0) this.endBlock();
    const blockHashes = Buffer.concat(this.hashes);
    const meta = Buffer.concat([
      encodeMetaHead(
        { datahash, blockSize: PACK_BLOCK_SIZE, bodiesLength: this.bodies, blockHashes },
        this.entryCount,
      ),
      this.entries.result(),
    ]);
    this.handle.complete(blockHashes, this.bodies);
    if (!this.target || !this.key) return this.handle; // an anonymous pack: read back, never kept
    const trailer = Buffer.alloc(TRAILER);
    MAGIC.copy(trailer, 0);
    trailer.writeUInt32LE(meta.length, MAGIC.length);
    sealBytes(this.key, sealSource(this.handle.checksum), meta).copy(trailer, MAGIC.length + 8);
    let at = this.bodies;
    for (const part of [meta, trailer]) {
      for (let off = 0; off < part.length; )
        off += writeSync(this.fd, part, off, part.length - off, at + off);
      at += part.length;
    }
    renameSync(this.tmp, this.target);
    return this.handle;
  }

  /** Drops a package that did not verify: nothing of it stays in the cache. */
  abort(): void {
    this.release();
    rmSync(this.tmp, { force: true });
  }
}

function sealSource(checksum: string): string {
  return `unpacked ${checksum}`;
}

/**
 * The cache's unpacked entries for one build: opens them (checked), writes new ones, and closes
 * every handle at the end. Without a seal key nothing is read or kept: packages are unpacked into
 * anonymous temp files for the build only.
 */
export class UnpackedCache {
  private readonly blocks = new BlockCache();
  /** Every handle opened by this build, closed together at its end. */
  private readonly handles: PackHandle[] = [];
  private key: Buffer | undefined;

  private constructor(readonly dir: string) {}

  static async inCache(
    cacheDir: string,
    sealSource: SealKeySource = { env: process.env },
  ): Promise<UnpackedCache> {
    const cache = new UnpackedCache(path.join(cacheDir, "unpacked"));
    cache.key = await loadSealKey(sealSource);
    return cache;
  }

  pathFor(checksum: string): string {
    const raw = q1Decode(checksum);
    if (!raw) throw new DistrolessError("E_FORMAT", `"${checksum}" is not a Q1 checksum`);
    return path.join(this.dir, `${raw.toString("hex")}.pdpk`);
  }

  /**
   * The sealed entry of package `checksum` and its entries, or undefined when there is none (or no
   * key). A damaged entry is removed and reported by a DamagedPackError.
   */
  read(
    checksum: string,
    label: string,
  ): { handle: PackHandle; meta: UnpackedMeta; entries: Iterable<UnpackedEntry> } | undefined {
    if (!this.key) return undefined;
    const file = this.pathFor(checksum);
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      this.discard(checksum);
      throw new DamagedPackError(checksum, code === "ELOOP" ? "a symlink" : `unreadable: ${code}`, label);
    }
    try {
      const size = fstatSync(fd).isFile() ? fstatSync(fd).size : -1;
      if (size < TRAILER) throw new Error("not a regular file of an unpacked package");
      const trailer = Buffer.alloc(TRAILER);
      readSync(fd, trailer, 0, TRAILER, size - TRAILER);
      if (!trailer.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error("no trailer (cut short?)");
      const metaLength = trailer.readUInt32LE(MAGIC.length);
      if (metaLength > size - TRAILER) throw new Error("metadata longer than the file");
      const meta = Buffer.alloc(metaLength);
      readSync(fd, meta, 0, metaLength, size - TRAILER - metaLength);
      if (!sealBytesMatch(this.key, sealSource(checksum), meta, trailer.subarray(MAGIC.length + 8))) {
        throw new Error("the seal does not verify");
      }
      const reader = new ByteReader(meta, label);
      const head = decodeMetaHead(reader, label);
      if (head.blockSize !== PACK_BLOCK_SIZE || head.bodiesLength + metaLength + TRAILER !== size) {
        throw new Error("the size does not match its metadata");
      }
      const handle = new PackHandle(fd, checksum, label, this.blocks, head);
      this.handles.push(handle);
      return { handle, meta: head, entries: decodeEntries(reader, head, label) };
    } catch (err) {
      closeSync(fd);
      this.discard(checksum);
      throw new DamagedPackError(checksum, (err as Error).message, label);
    }
  }

  /** A writer for package `checksum` (its handle reads the bodies back once `finish`ed). */
  writer(checksum: string, label: string): PackWriter {
    const tmpDir = path.join(this.dir, "tmp");
    mkdirSync(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${process.pid}.${randomBytes(8).toString("hex")}`);
    const fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o644);
    const handle = new PackHandle(fd, checksum, label, this.blocks);
    this.handles.push(handle);
    const release = () => handle.close();
    if (!this.key) {
      // Nothing to seal with: the bodies live in an unlinked file for this build only.
      unlinkSync(tmp);
      return new PackWriter(fd, tmp, undefined, undefined, handle, release);
    }
    return new PackWriter(fd, tmp, this.pathFor(checksum), this.key, handle, release);
  }

  /** Removes a damaged entry, so the next install rewrites it (handles already open stay open). */
  discard(checksum: string): void {
    rmSync(this.pathFor(checksum), { force: true });
  }

  close(): void {
    for (const h of this.handles.splice(0)) h.close();
  }
}
