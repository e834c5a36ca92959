import { availableParallelism } from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";

/**
 * A gzip compressor that uses every core, the way pigz does: the input is cut into fixed-size
 * blocks, each block is raw-deflated on libuv's thread pool with the previous 32 KiB as its
 * dictionary (so back-references still reach across blocks), and every block but the last ends with
 * a sync flush so the pieces concatenate into one valid deflate stream. The CRC-32 is chained on the
 * main thread. Output depends only on the input, the level and the block size, never on thread
 * timing: it is as reproducible as single-threaded gzip.
 *
 * Why not plain zlib.createGzip: one deflate stream runs on one core, and layer/apk emission is
 * compression-bound (bench/gzip.ts prints both).
 */
export interface ParallelGzipOptions {
  level?: number;
  /** Input bytes per block (pigz uses 128 KiB; larger blocks cost less per-block overhead). */
  blockSize?: number;
  /** Blocks in flight; defaults to twice the cores. */
  concurrency?: number;
}

const DICT = 32 << 10;
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

function deflateBlock(
  input: Buffer,
  dictionary: Buffer | undefined,
  level: number,
  last: boolean,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.deflateRaw(
      input,
      {
        level,
        memLevel: 9,
        ...(dictionary ? { dictionary } : {}),
        finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      },
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
}

export class ParallelGzip extends Transform {
  private readonly level: number;
  private readonly blockSize: number;
  private readonly concurrency: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly inFlight: Promise<Buffer>[] = [];
  private previousTail: Buffer | undefined;
  private crc = 0;
  private size = 0;
  private headerSent = false;

  constructor(options: ParallelGzipOptions = {}) {
    super({ highWaterMark: 1 << 20 });
    this.level = options.level ?? 6;
    this.blockSize = options.blockSize ?? 256 << 10;
    this.concurrency = options.concurrency ?? Math.max(2, availableParallelism() * 2);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.crc = zlib.crc32(chunk, this.crc);
    this.size += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.dispatchFullBlocks().then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    (async () => {
      await this.dispatchFullBlocks();
      this.dispatch(this.takeBlock(this.pendingBytes), true);
      while (this.inFlight.length) this.emitBlock(await this.inFlight.shift()!);
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.size >>> 0, 4);
      this.push(trailer);
    })().then(() => cb(), cb);
  }

  private async dispatchFullBlocks(): Promise<void> {
    while (this.pendingBytes >= this.blockSize) {
      this.dispatch(this.takeBlock(this.blockSize), false);
      // Backpressure: never more than `concurrency` blocks compressing at once.
      while (this.inFlight.length >= this.concurrency) this.emitBlock(await this.inFlight.shift()!);
    }
  }

  private takeBlock(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const block = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return block;
  }

  private dispatch(block: Buffer, last: boolean): void {
    const dictionary = this.previousTail;
    // The next block's dictionary: the last 32 KiB of input seen so far.
    if (block.length >= DICT) this.previousTail = Buffer.from(block.subarray(block.length - DICT));
    else if (block.length > 0) {
      const joined = dictionary ? Buffer.concat([dictionary, block]) : block;
      this.previousTail = Buffer.from(joined.subarray(Math.max(0, joined.length - DICT)));
    }
    this.inFlight.push(deflateBlock(block, dictionary, this.level, last));
  }

  override push(chunk: Buffer | null): boolean {
    if (chunk && !this.headerSent) {
      this.headerSent = true;
      super.push(HEADER);
    }
    return super.push(chunk);
  }

  /** Pushes the next compressed block, in input order. */
  private emitBlock(data: Buffer): void {
    if (data.length) this.push(data);
  }
}
