import { DistrolessError } from "../util/errors";

/**
 * Pulls exact byte counts out of an async chunk source without copying when a read fits in the
 * current chunk. The tar reader and the gzip member splitter sit on it.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  private buffered = 0;
  private done = false;
  private readonly iterator: AsyncIterator<Uint8Array>;
  /** Bytes handed out so far (the stream offset of the next byte). */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.iterator =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (async function* () {
            yield* source as Iterable<Uint8Array>;
          })();
  }

  get available(): number {
    return this.buffered;
  }

  /** Buffers at least `n` bytes; false when the source ended first. */
  async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      if (this.done) return false;
      const r = await this.iterator.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      const chunk = Buffer.isBuffer(r.value)
        ? r.value
        : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      if (chunk.length > 0) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
    }
    return true;
  }

  /** At the end of the source with nothing buffered? */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  /** Exactly `n` bytes, or an error saying what was being read. */
  async read(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) {
      throw new DistrolessError("E_FORMAT", `unexpected end of data while reading ${what}`);
    }
    return this.take(n);
  }

  /** Up to `max` bytes already available (at least one, unless the source ended). */
  async readSome(max: number): Promise<Buffer | undefined> {
    if (this.buffered === 0 && !(await this.fill(1))) return undefined;
    const first = this.chunks[0]!;
    const n = Math.min(max, first.length - this.head);
    return this.take(n);
  }

  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      const got = await this.readSome(left);
      if (!got) throw new DistrolessError("E_FORMAT", `unexpected end of data while skipping ${what}`);
      left -= got.length;
    }
  }

  /** Returns buffered-but-unread bytes and the rest of the source, for a consumer taking over. */
  async *rest(): AsyncGenerator<Buffer> {
    while (this.chunks.length > 0) {
      const first = this.chunks.shift()!;
      const piece = first.subarray(this.head);
      this.head = 0;
      this.buffered -= piece.length;
      this.position += piece.length;
      if (piece.length) yield piece;
    }
    while (!this.done) {
      const r = await this.iterator.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const chunk = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      this.position += chunk.length;
      yield chunk;
    }
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    while (written < n) {
      const c = this.chunks[0]!;
      const m = Math.min(n - written, c.length - this.head);
      c.copy(out, written, this.head, this.head + m);
      written += m;
      this.advance(m);
    }
    return out;
  }

  private advance(n: number): void {
    this.head += n;
    this.buffered -= n;
    this.position += n;
    while (this.chunks.length > 0 && this.head >= this.chunks[0]!.length) {
      this.head -= this.chunks[0]!.length;
      this.chunks.shift();
    }
  }

  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.iterator.return?.();
    }
  }
}
