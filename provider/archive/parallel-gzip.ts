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
 */
export class GzipEncoder {
  private readonly level: number;
  private readonly blockSize: number;
  private readonly maxInFlight: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
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

  async write(chunk: Buffer): Promise<void> {
    this.throwIfFailed();
    if (chunk.length === 0) return;
    this.crc = zlib.crc32(chunk, this.crc);
    this.size += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= this.blockSize) {
      this.dispatch(this.takeBlock(this.blockSize), false);
      // Backpressure: never more than `concurrency` blocks' worth of input compressing at once.
      await this.until(() => this.inFlightBytes < this.maxInFlight);
    }
  }

  async end(): Promise<void> {
    this.throwIfFailed();
    this.dispatch(this.takeBlock(this.pendingBytes), true);
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

  private takeBlock(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const block = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return block;
  }

  private dispatch(block: Buffer, last: boolean): void {
    const runs = runsOf(block, this.level > 0);
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
      deflateRun(input, dictionary, this.level, final).then(
        (data) => {
          piece.data = data;
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
