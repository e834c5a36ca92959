import { once } from "node:events";
import { closeSync, openSync, writeSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { Transform } from "node:stream";
import { DEFAULT_BLOCK_SIZE, GzipEncoder } from "../archive/parallel-gzip";
import { END_OF_ARCHIVE, encodeHeader, paddingFor } from "../archive/tar-header";
import { PACK_BLOCK_SIZE } from "../repository/unpacked-cache";
import { tempPathFor } from "../util/fs";
import { newHash } from "../util/hash";
import type { ContentStore } from "./content-store";
import type { CompressorFactory, LayerBytesListener, LayerEntry, WrittenLayer } from "./layer";

/** Progress of one layer: its estimated tar size and who is told the bytes written. */
export interface LayerProgress {
  total: number;
  onBytes: LayerBytesListener;
}

/**
 * What the tar is fed into, a block at a time: the parallel gzip by default (it takes the block
 * buffers over, no copy), or a caller's Transform.
 */
interface Encoder {
  newBlock(): Buffer;
  /** A full block; a promise only when the caller must wait for room. */
  put(block: Buffer): Promise<void> | undefined;
  /** The last, partial block, and the end of the stream. */
  end(last: Buffer): Promise<void>;
}

function transformEncoder(t: Transform, emit: (chunk: Buffer) => void): Encoder {
  t.on("data", emit);
  const ended = once(t, "end");
  ended.catch(() => {}); // awaited in end(); an early error must not be unhandled meanwhile
  return {
    newBlock: () => Buffer.allocUnsafeSlow(BLOCK),
    put: (block) => (t.write(block) ? undefined : once(t, "drain").then(() => {})),
    async end(last) {
      t.end(last);
      await ended;
    },
  };
}

function gzipEncoder(emit: (chunk: Buffer) => void): Encoder {
  const gzip = new GzipEncoder(emit, { blockSize: BLOCK });
  return { newBlock: () => gzip.newBlock(), put: (b) => gzip.put(b), end: (last) => gzip.end(last) };
}

/**
 * The tar is written into blocks of this size, each hashed once and handed to the compressor
 * whole. It is also the parallel gzip's block size, which fixes where its deflate blocks are cut:
 * changing it changes every compressed layer.
 */
const BLOCK = DEFAULT_BLOCK_SIZE;
const ZEROS = Buffer.alloc(512);

/**
 * Writes one layer as entries arrive: tar on the main thread, gzip on the thread pool (both cores
 * busy from the first block), the gzip written to a temp file in `dir` with synchronous writes (the
 * pool is busy compressing; a queued async write would wait behind it). The tar (diff_id) and the
 * gzip (digest) are hashed on the way; nothing is held whole in memory. Several writers can be open
 * at once, so a layered image is written in one walk of the tree.
 */
export class LayerWriter {
  private readonly tarHash = newHash("sha256");
  private readonly gzHash = newHash("sha256");
  private tarBytes = 0;
  private gzBytes = 0;
  private failure: unknown;
  private readonly encoder: Encoder;
  /** The block being filled (headers, bodies and padding are copied in: one copy per byte). */
  private block: Buffer;
  private fill = 0;
  /** Where large bodies' blocks are read (see PackHandle.chunks). */
  private scratch: Buffer | undefined;

  private constructor(
    readonly file: string,
    private fd: number | undefined,
    private readonly store: ContentStore,
    compressor: CompressorFactory | undefined,
    private readonly progress: LayerProgress | undefined,
  ) {
    const emit = (chunk: Buffer) => this.emit(chunk);
    this.encoder = compressor ? transformEncoder(compressor(), emit) : gzipEncoder(emit);
    this.block = this.encoder.newBlock();
  }

  static async open(
    dir: string,
    store: ContentStore,
    compressor?: CompressorFactory,
    progress?: LayerProgress,
  ): Promise<LayerWriter> {
    await fsp.mkdir(dir, { recursive: true });
    const file = tempPathFor(path.join(dir, "layer.tar.gz"));
    return new LayerWriter(file, openSync(file, "w", 0o644), store, compressor, progress);
  }

  /** Appends one entry: its header and, for a regular file, its body from the content store. */
  async add({ header, inode }: LayerEntry): Promise<void> {
    const headerDone = this.write(encodeHeader(header));
    if (headerDone) await headerDone;
    if (!inode || inode.size === 0) return;
    const content = inode.content;
    // An unpacked package's bodies are read synchronously (page cache): a read queued on the
    // thread pool would wait behind compression.
    if (content.kind === "packed") {
      this.scratch ??= Buffer.allocUnsafeSlow(PACK_BLOCK_SIZE);
      // `write` copies each chunk before the next is read, so whole blocks may share one buffer.
      for (const chunk of content.pack.chunks(content.offset, inode.size, this.scratch)) {
        const waiting = this.write(chunk);
        if (waiting) await waiting;
      }
    } else {
      for await (const chunk of this.store.open(content, inode.size, header.name)) {
        const waiting = this.write(chunk);
        if (waiting) await waiting;
      }
    }
    const pad = paddingFor(inode.size);
    if (pad > 0) {
      const padDone = this.write(ZEROS.subarray(0, pad));
      if (padDone) await padDone;
    }
  }

  /**
   * Copies `b` into the block, handing each block that fills to the compressor; a promise only
   * when the compressor asks the writer to wait (most calls, small writes, return none).
   */
  private write(b: Uint8Array): Promise<void> | undefined {
    let off = 0;
    for (;;) {
      const n = Math.min(b.length - off, BLOCK - this.fill);
      this.block.set(n === b.length ? b : b.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill < BLOCK) return undefined;
      const waiting = this.ship();
      if (off === b.length) return waiting;
      if (waiting) return waiting.then(() => this.write(b.subarray(off)));
    }
  }

  /** Hashes the full block and gives it to the compressor; a fresh block takes its place. */
  private ship(): Promise<void> | undefined {
    this.throwIfFailed();
    const block = this.block;
    this.count(block);
    this.block = this.encoder.newBlock();
    this.fill = 0;
    return this.encoder.put(block);
  }

  private count(block: Buffer): void {
    this.tarHash.update(block);
    this.tarBytes += block.length;
    // Below the estimate until finish() reports the layer complete.
    if (this.progress)
      this.progress.onBytes(Math.min(this.tarBytes, this.progress.total - 1), this.progress.total);
  }

  /** Ends the tar and the gzip; the temp file is complete and closed. */
  async finish(): Promise<WrittenLayer> {
    const endDone = this.write(END_OF_ARCHIVE);
    if (endDone) await endDone;
    this.throwIfFailed();
    const last = this.block.subarray(0, this.fill);
    this.count(last);
    await this.encoder.end(last);
    this.throwIfFailed();
    this.close();
    this.progress?.onBytes(this.progress.total, this.progress.total);
    return {
      file: this.file,
      digest: `sha256:${this.gzHash.digest("hex")}`,
      size: this.gzBytes,
      diffId: `sha256:${this.tarHash.digest("hex")}`,
      uncompressedSize: this.tarBytes,
    };
  }

  /** Closes and removes the temp file (after a failure anywhere in the build). */
  async abort(): Promise<void> {
    this.failure ??= new Error("aborted");
    this.close();
    await fsp.rm(this.file, { force: true });
  }

  private close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** Compressed output, in order: hashed and written (a write error fails the next step). */
  private emit(chunk: Buffer): void {
    if (this.failure !== undefined || this.fd === undefined) return;
    try {
      this.gzHash.update(chunk);
      this.gzBytes += chunk.length;
      for (let off = 0; off < chunk.length; ) off += writeSync(this.fd, chunk, off);
    } catch (err) {
      this.failure = err;
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
