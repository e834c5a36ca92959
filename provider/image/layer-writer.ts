import { once } from "node:events";
import { closeSync, openSync, writeSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { Transform } from "node:stream";
import { GzipEncoder } from "../archive/parallel-gzip";
import { END_OF_ARCHIVE, encodeHeader, paddingFor } from "../archive/tar-header";
import { tempPathFor } from "../util/fs";
import { newHash } from "../util/hash";
import type { ContentStore } from "./content-store";
import type { CompressorFactory, LayerBytesListener, LayerEntry, WrittenLayer } from "./layer";

/** Progress of one layer: its estimated tar size and who is told the bytes written. */
export interface LayerProgress {
  total: number;
  onBytes: LayerBytesListener;
}

/** What the tar is fed into: the parallel gzip by default, or a caller's Transform. */
interface Encoder {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
}

function transformEncoder(t: Transform, emit: (chunk: Buffer) => void): Encoder {
  t.on("data", emit);
  const ended = once(t, "end");
  ended.catch(() => {}); // awaited in end(); an early error must not be unhandled meanwhile
  return {
    async write(chunk) {
      if (!t.write(chunk)) await once(t, "drain");
    },
    async end() {
      t.end();
      await ended;
    },
  };
}

/** Small writes (headers, small files, padding) are gathered into chunks of this size. */
const CHUNK = 256 << 10;
/** Bodies from this size on go to the compressor as they are read, not through the gatherer. */
const DIRECT_BODY = 64 << 10;
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
  private parts: Buffer[] = [];
  private partBytes = 0;
  private failure: unknown;
  private readonly encoder: Encoder;

  private constructor(
    readonly file: string,
    private fd: number | undefined,
    private readonly store: ContentStore,
    compressor: CompressorFactory | undefined,
    private readonly progress: LayerProgress | undefined,
  ) {
    const emit = (chunk: Buffer) => this.emit(chunk);
    this.encoder = compressor ? transformEncoder(compressor(), emit) : new GzipEncoder(emit);
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
    const flushing = this.gather(encodeHeader(header));
    if (flushing) await flushing;
    if (!inode || inode.size === 0) return;
    const content = inode.content;
    if (content.kind === "packed") {
      // Read synchronously from the package's unpacked copy (page cache): a read queued on the
      // thread pool would wait behind compression.
      const direct = inode.size >= DIRECT_BODY;
      if (direct) await this.flushParts();
      for (const chunk of content.pack.chunks(content.offset, inode.size)) {
        const waiting = direct ? this.send(chunk) : this.gather(chunk);
        if (waiting) await waiting;
      }
    } else if (content.kind === "inline" || inode.size < DIRECT_BODY) {
      for await (const chunk of this.store.open(inode.content, inode.size, header.name))
        await this.gather(chunk);
    } else {
      await this.flushParts();
      for await (const chunk of this.store.open(inode.content, inode.size, header.name))
        await this.send(chunk);
    }
    const pad = paddingFor(inode.size);
    if (pad > 0) {
      const flushing = this.gather(ZEROS.subarray(0, pad));
      if (flushing) await flushing;
    }
  }

  /** Ends the tar and the gzip; the temp file is complete and closed. */
  async finish(): Promise<WrittenLayer> {
    await this.gather(END_OF_ARCHIVE);
    await this.flushParts();
    await this.encoder.end();
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

  /** Queues small writes; a promise only when a chunk went to the compressor (most calls: none). */
  private gather(b: Buffer): Promise<void> | undefined {
    this.parts.push(b);
    this.partBytes += b.length;
    return this.partBytes >= CHUNK ? this.flushParts() : undefined;
  }

  private async flushParts(): Promise<void> {
    if (this.partBytes === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partBytes);
    this.parts = [];
    this.partBytes = 0;
    await this.send(chunk);
  }

  private async send(chunk: Buffer): Promise<void> {
    this.throwIfFailed();
    this.tarHash.update(chunk);
    this.tarBytes += chunk.length;
    // Below the estimate until finish() reports the layer complete.
    if (this.progress)
      this.progress.onBytes(Math.min(this.tarBytes, this.progress.total - 1), this.progress.total);
    await this.encoder.write(chunk);
    this.throwIfFailed();
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
