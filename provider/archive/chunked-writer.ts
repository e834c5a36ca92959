import type { Writable } from "node:stream";

/**
 * Collects many small writes (tar headers, padding, small files) into ~1 MiB chunks before handing
 * them to a stream, honouring its backpressure. A tar of thousands of small files otherwise costs
 * one stream write (and one compressor call) per 512-byte header.
 */
export class ChunkedWriter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly out: Writable,
    private readonly chunkSize = 1 << 20,
  ) {}

  async write(buf: Buffer): Promise<void> {
    if (buf.length >= this.chunkSize) {
      await this.flush();
      await this.send(buf);
      return;
    }
    this.parts.push(buf);
    this.size += buf.length;
    if (this.size >= this.chunkSize) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    await this.send(chunk);
  }

  private async send(buf: Buffer): Promise<void> {
    if (!this.out.write(buf)) await new Promise<void>((r) => this.out.once("drain", () => r()));
  }
}
