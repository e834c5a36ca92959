import { availableParallelism } from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";
import { runsOf, storedBlocks } from "./stored-blocks";

/**
 * A gzip compressor that uses every core, the way pigz does: the input is cut into fixed-size
 * blocks, each block is raw-deflated on libuv's thread pool with the previous 32 KiB as its
 * dictionary (so back-references still reach across blocks), and every block but the last ends with
 * a sync flush so the pieces concatenate into one valid deflate stream. Incompressible stretches
 * (stored-blocks.ts) are written as stored blocks on the spot instead of being searched for matches.
 * The CRC-32 is chained on the main thread. Output depends only on the input, the level and the
 * block size, never on thread timing or the number of cores: it is as reproducible as
 * single-threaded gzip.
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
export const DEFAULT_BLOCK_SIZE = 256 << 10;

function deflateRun(
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
        // Room for the whole output: the default 16 KiB costs a thread-pool round trip (and a
        // main-thread callback) per 16 KiB of output.
        chunkSize: input.length + (input.length >> 6) + 1024,
      },
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
}

/** One run of input on its way out: compressed in order of dispatch, emitted in that order. */
interface Piece {
  inputBytes: number;
  data?: Buffer;
}

/**
 * The compressor without a stream around it: `write` input, `end`, and every output chunk goes to
 * `emit` in order. `write` resolves once there is room for more input (bounded memory).
 *
 * A writer that fills whole blocks itself (the layer writer) skips a copy: it takes a buffer with
 * `newBlock`, fills it, and hands it over with `put` (exactly `blockSize` bytes; the last block goes
 * to `end`). Block buffers come back to a small pool once compressed, so a layer of any size
 * allocates a handful of them rather than one per block (less GC, fewer page faults).
 */
export class GzipEncoder {
  private readonly level: number;
  readonly blockSize: number;
  private readonly maxInFlight: number;
  /** `write`'s block being filled. */
  private current: Buffer | undefined;
  private fill = 0;
  private readonly pool: Buffer[] = [];
  private readonly queue: Piece[] = [];
  private inFlightBytes = 0;
  private previousTail: Buffer | undefined;
  private crc = 0;
  private size = 0;
  private headerSent = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  constructor(
    private readonly emit: (chunk: Buffer) => void,
    options: ParallelGzipOptions = {},
  ) {
    this.level = options.level ?? 6;
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    const concurrency = options.concurrency ?? Math.max(2, availableParallelism() * 2);
    this.maxInFlight = concurrency * this.blockSize;
  }

  /** A buffer of `blockSize` bytes to fill and `put` (from the pool when one is free). */
  newBlock(): Buffer {
    return this.pool.pop() ?? Buffer.allocUnsafeSlow(this.blockSize);
  }

  /**
   * Takes over a full block (`blockSize` bytes, from `newBlock`): it is compressed and its buffer
   * reused afterwards. Returns a promise only when the caller must wait for room.
   */
  put(block: Buffer): Promise<void> | undefined {
    this.throwIfFailed();
    if (block.length !== this.blockSize) throw new Error(`put takes whole blocks of ${this.blockSize} bytes`);
    this.dispatch(block, false);
    // Backpressure: never more than `concurrency` blocks' worth of input compressing at once.
    return this.inFlightBytes < this.maxInFlight
      ? undefined
      : this.until(() => this.inFlightBytes < this.maxInFlight);
  }

  async write(chunk: Buffer): Promise<void> {
    this.throwIfFailed();
    for (let off = 0; off < chunk.length; ) {
      this.current ??= this.newBlock();
      const n = Math.min(chunk.length - off, this.blockSize - this.fill);
      chunk.copy(this.current, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === this.blockSize) {
        const block = this.current;
        this.current = undefined;
        this.fill = 0;
        const waiting = this.put(block);
        if (waiting) await waiting;
      }
    }
  }

  /** Ends the stream; `last` is the final (partial) block of a `put` writer. */
  async end(last?: Buffer): Promise<void> {
    this.throwIfFailed();
    if (last && this.fill > 0) throw new Error("end(last) after write()");
    const final = last ?? (this.current ?? Buffer.alloc(0)).subarray(0, this.fill);
    this.current = undefined;
    this.fill = 0;
    this.dispatch(final, true);
    await this.until(() => this.queue.length === 0);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.size >>> 0, 4);
    this.out(trailer);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private until(ready: () => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.failure !== undefined) reject(this.failure);
        else if (ready()) resolve();
        else this.wake = check;
      };
      check();
    });
  }

  private dispatch(block: Buffer, last: boolean): void {
    // Not for an empty block: zlib's crc32 of a NULL buffer (a zero-length ArrayBuffer) is 0.
    if (block.length > 0) this.crc = zlib.crc32(block, this.crc);
    this.size += block.length;
    const runs = runsOf(block, this.level > 0);
    // The buffer goes back to the pool once every deflate run reading it is done.
    let reading = 0;
    const done = () => {
      if (--reading === 0 && block.buffer.byteLength === this.blockSize && this.pool.length < 4) {
        this.pool.push(Buffer.from(block.buffer, 0, this.blockSize));
      }
    };
    runs.forEach((run, i) => {
      const input = block.subarray(run.start, run.end);
      const final = last && i === runs.length - 1;
      const dictionary = this.previousTail;
      // The next run's dictionary: the last 32 KiB of input seen so far, but none of a stored run:
      // incompressible bytes hold nothing to match, and priming zlib with them costs time.
      if (run.stored) this.previousTail = undefined;
      else if (input.length >= DICT) this.previousTail = Buffer.from(input.subarray(input.length - DICT));
      else if (input.length > 0) {
        const joined = dictionary ? Buffer.concat([dictionary, input]) : input;
        this.previousTail = Buffer.from(joined.subarray(Math.max(0, joined.length - DICT)));
      }
      const piece: Piece = { inputBytes: input.length };
      this.queue.push(piece);
      this.inFlightBytes += input.length;
      if (run.stored) {
        piece.data = storedBlocks(input, final);
        return;
      }
      reading++;
      deflateRun(input, dictionary, this.level, final).then(
        (data) => {
          piece.data = data;
          done();
          this.flushReady();
        },
        (err: unknown) => {
          this.failure ??= err;
          this.flushReady();
        },
      );
    });
    this.flushReady();
  }

  /** Emits finished pieces from the front of the queue, in input order. */
  private flushReady(): void {
    while (this.queue.length > 0 && this.queue[0]!.data !== undefined) {
      const piece = this.queue.shift()!;
      this.inFlightBytes -= piece.inputBytes;
      if (piece.data!.length) this.out(piece.data!);
    }
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private out(chunk: Buffer): void {
    if (!this.headerSent) {
      this.headerSent = true;
      this.emit(HEADER);
    }
    this.emit(chunk);
  }
}

/** GzipEncoder as a Transform stream. */
export class ParallelGzip extends Transform {
  private readonly encoder: GzipEncoder;

  constructor(options: ParallelGzipOptions = {}) {
    super({ highWaterMark: 1 << 20 });
    this.encoder = new GzipEncoder((chunk) => this.push(chunk), options);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.encoder.write(chunk).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.encoder.end().then(() => cb(), cb);
  }
}
