import { randomBytes } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { PackHandle } from "../repository/unpacked-cache";
import { DistrolessError } from "../util/errors";
import { newHash, sha1Hex } from "../util/hash";

/**
 * A file body: inline, in the on-disk store under its SHA-1, or at an offset of its package's
 * unpacked copy (repository/unpacked-cache.ts, where the image installer puts package bodies).
 */
export type ContentRef =
  | { kind: "inline"; data: Buffer }
  | { kind: "stored"; sha1: string }
  | { kind: "packed"; pack: PackHandle; offset: number };

/**
 * The inode of a body in an unpacked package, and its content ref, in one object: an image of many
 * small files holds one of these per file for the whole build, where an inode and a separate ref
 * object cost twice the objects (and the heap that peaks with them).
 */
export class PackedInode {
  readonly kind = "packed";

  constructor(
    readonly pack: PackHandle,
    readonly offset: number,
    readonly size: number,
    /** Hex SHA-1 of the body. */
    readonly sha1: string,
  ) {}

  get content(): ContentRef {
    return this;
  }
}

export interface StoredContent {
  /** Hex SHA-1 of the body. */
  sha1: string;
  size: number;
  ref: ContentRef;
}

/** Bodies up to this size stay in memory (a tree of small files costs no disk round trip). */
const INLINE_MAX = 16 << 10;
/** Total inline bytes before even small bodies go to disk, so many small files cannot exhaust memory. */
const INLINE_BUDGET = 32 << 20;
/** Bodies up to this size are written with synchronous calls; larger ones through a FileHandle. */
const BUFFERED_MAX = 4 << 20;
const HEX_SHA1 = /^[0-9a-f]{40}$/;

/** A verified-size-and-SHA-1 body in a temp file, not yet adopted into the store. */
export interface PendingBody {
  sha1: string;
  tmp: string;
}

/**
 * A content-addressed store of file bodies keyed by SHA-1 (`<root>/sha1/ab/cdef...`), shared by
 * every build on the machine (it lives in the cache directory beside the repository cache). A body
 * is streamed to a temp file while hashed and renamed into place only when its hash is the one the
 * package recorded, so the store only ever holds verified, complete entries; concurrent writers of
 * one entry write the same bytes. Readers hash again while reading (`open`), so an entry damaged
 * on disk is caught instead of copied into an image.
 */
export class ContentStore {
  private readonly known = new Set<string>();
  private readonly madeDirs = new Set<string>();
  private inlineBytes = 0;

  constructor(readonly root: string) {}

  static inCache(cacheDir: string): ContentStore {
    return new ContentStore(path.join(cacheDir, "files"));
  }

  pathFor(sha1: string): string {
    if (!HEX_SHA1.test(sha1)) throw new DistrolessError("E_INTERNAL", `not a SHA-1: ${sha1}`);
    return path.join(this.root, "sha1", sha1.slice(0, 2), sha1.slice(2));
  }

  private has(sha1: string): boolean {
    if (this.known.has(sha1)) return true;
    if (!existsSync(this.pathFor(sha1))) return false;
    this.known.add(sha1);
    return true;
  }

  /**
   * Consumes `body` (`size` bytes). With `expectedSha1` (the package's recorded checksum) the body
   * must hash to it, or nothing is adopted and an E_CHECKSUM names `subject`.
   */
  async ingest(
    body: AsyncIterable<Buffer>,
    size: number,
    expectedSha1: string | undefined,
    subject: string,
    pending?: PendingBody[],
  ): Promise<StoredContent> {
    const expected = expectedSha1?.toLowerCase();
    if (size <= INLINE_MAX && this.inlineBytes + size <= INLINE_BUDGET) {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk);
      const data = Buffer.concat(chunks);
      const sha1 = sha1Hex(data);
      check(sha1, expected, data.length, size, subject);
      this.inlineBytes += data.length;
      return { sha1, size: data.length, ref: { kind: "inline", data } };
    }
    if (expected && HEX_SHA1.test(expected) && this.has(expected)) {
      // Already stored: the caller's reader still verifies these bytes against the recorded hash.
      for await (const _ of body) {
        // drain
      }
      return { sha1: expected, size, ref: { kind: "stored", sha1: expected } };
    }
    // Medium bodies are written with synchronous calls: installing is sequential, and a thread-pool
    // round trip per open/write/close would cost more than the writes themselves. Large ones stream.
    const tmp = this.tempPath();
    const hash = newHash("sha1");
    let written = 0;
    let adopted = false;
    const out = await openTemp(tmp, size <= BUFFERED_MAX);
    try {
      try {
        for await (const chunk of body) {
          hash.update(chunk);
          written += chunk.length;
          await out.write(chunk);
        }
      } finally {
        await out.close();
      }
      const sha1 = hash.digest("hex");
      check(sha1, expected, written, size, subject);
      if (!this.has(sha1)) {
        // A body whose package is not verified yet waits in its temp file (see `commit`).
        if (pending) pending.push({ sha1, tmp });
        else this.adopt(sha1, tmp);
        adopted = true;
      }
      return { sha1, size: written, ref: { kind: "stored", sha1 } };
    } finally {
      if (!adopted) rmSync(tmp, { force: true });
    }
  }

  /**
   * Adopts bodies held back by `ingest(..., pending)` once their package's data segment verified.
   * Until then they are not in the shared store: a package refused at the end of its scan (datahash
   * mismatch) must not leave bodies under their SHA-1 for a later package, with a colliding SHA-1,
   * to pick up as "already stored".
   */
  commit(pending: PendingBody[]): void {
    for (const p of pending.splice(0)) {
      if (this.has(p.sha1)) rmSync(p.tmp, { force: true });
      else this.adopt(p.sha1, p.tmp);
    }
  }

  /** Drops bodies held back for a package that was refused. */
  discard(pending: PendingBody[]): void {
    for (const p of pending.splice(0)) rmSync(p.tmp, { force: true });
  }

  private tempPath(): string {
    const tmpDir = path.join(this.root, "tmp");
    if (!this.madeDirs.has(tmpDir)) {
      mkdirSync(tmpDir, { recursive: true });
      this.madeDirs.add(tmpDir);
    }
    return path.join(tmpDir, `${process.pid}.${randomBytes(8).toString("hex")}`);
  }

  /** Publishes a complete, verified temp file under its hash (rename: readers never see a part). */
  private adopt(sha1: string, tmp: string): void {
    const target = this.pathFor(sha1);
    const shard = path.dirname(target);
    if (!this.madeDirs.has(shard)) {
      mkdirSync(shard, { recursive: true });
      this.madeDirs.add(shard);
    }
    renameSync(tmp, target);
    this.known.add(sha1);
  }

  /** Streams a body, checking on the way that it still has the size and SHA-1 it was stored under. */
  async *open(ref: ContentRef, size: number, subject: string): AsyncGenerator<Buffer> {
    if (ref.kind === "inline") {
      if (ref.data.length > 0) yield ref.data;
      return;
    }
    if (ref.kind === "packed") {
      // Checked block by block against the package's sealed hashes as it is read.
      yield* ref.pack.chunks(ref.offset, size);
      return;
    }
    const file = this.pathFor(ref.sha1);
    const hash = newHash("sha1");
    let seen = 0;
    try {
      if (size <= 1 << 20) {
        // Synchronous on purpose: the layer's gzip runs on the thread pool; small reads there would
        // queue behind compression blocks.
        const data = readFileSync(file);
        hash.update(data);
        seen = data.length;
        if (seen === size && data.length > 0) yield data;
      } else {
        for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
          const b = chunk as Buffer;
          seen += b.length;
          if (seen > size) break;
          hash.update(b);
          yield b;
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new DistrolessError(
          "E_MISSING",
          `${subject}: content ${ref.sha1} vanished from the file store`,
          {
            subject: file,
          },
        );
      }
      throw err;
    }
    if (seen !== size || hash.digest("hex") !== ref.sha1) {
      this.known.delete(ref.sha1);
      await fsp.rm(file, { force: true });
      throw new DistrolessError(
        "E_CHECKSUM",
        `${subject}: the stored copy of ${ref.sha1} is damaged (removed; build again to refetch)`,
        { subject: file },
      );
    }
  }

  async read(ref: ContentRef, size: number, subject: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of this.open(ref, size, subject)) chunks.push(c);
    return Buffer.concat(chunks);
  }
}

/** A temp file written either with synchronous calls or through a FileHandle. */
interface TempFile {
  write(chunk: Buffer): Promise<unknown> | undefined;
  close(): Promise<void> | undefined;
}

async function openTemp(file: string, synchronous: boolean): Promise<TempFile> {
  if (synchronous) {
    const fd = openSync(file, "w", 0o644);
    return {
      write: (chunk) => {
        writeSync(fd, chunk);
        return undefined;
      },
      close: () => {
        closeSync(fd);
        return undefined;
      },
    };
  }
  const fh = await fsp.open(file, "w", 0o644);
  return { write: (chunk) => fh.write(chunk), close: () => fh.close() };
}

function check(
  got: string,
  expected: string | undefined,
  length: number,
  size: number,
  subject: string,
): void {
  if (length !== size) {
    throw new DistrolessError("E_FORMAT", `${subject}: body is ${length} bytes, the header says ${size}`);
  }
  if (expected && got !== expected) {
    throw new DistrolessError(
      "E_CHECKSUM",
      `${subject}: content SHA-1 ${got} does not match the recorded ${expected}`,
    );
  }
}
