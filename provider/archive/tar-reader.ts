import { DistrolessError } from "../util/errors";
import { ByteQueue } from "./byte-queue";
import { decodeName } from "./raw-names";
import {
  applyPax,
  BLOCK,
  decodeHeader,
  isZeroBlock,
  paddingFor,
  parsePaxRecords,
  type TarHeader,
} from "./tar-header";

export interface TarReadOptions {
  /** Cap on one PAX header or GNU long name body: these are buffered whole. */
  maxMetadataBytes?: number;
  /** Cap on the number of entries (a tar of millions of empty entries is a memory bomb too). */
  maxEntries?: number;
}

/**
 * A streaming tar reader: `next()` gives each entry's header (PAX records and GNU long names
 * folded in), `body()`/`readBody()` its content. Archives without end-of-archive blocks (apk's
 * signature and control segments) end cleanly at a block boundary; anything cut mid-entry is an error.
 */
export class TarReader {
  private readonly q: ByteQueue;
  private remaining = 0; // body bytes of the current entry not yet read
  private pad = 0;
  private entries = 0;
  private ended = false;
  private readonly maxMeta: number;
  private readonly maxEntries: number;
  private globalPax: Record<string, string> = {};

  constructor(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | ByteQueue,
    options: TarReadOptions = {},
  ) {
    this.q = source instanceof ByteQueue ? source : new ByteQueue(source);
    this.maxMeta = options.maxMetadataBytes ?? 1 << 20;
    this.maxEntries = options.maxEntries ?? 5_000_000;
  }

  /** The stream offset of the next unread byte (for callers that checksum segments). */
  get position(): number {
    return this.q.position;
  }

  async next(): Promise<TarHeader | undefined> {
    if (this.ended) return undefined;
    await this.skipRest();
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      if (await this.q.atEnd()) return this.finish();
      const block = await this.q.read(BLOCK, "a tar header");
      if (isZeroBlock(block)) {
        // One zero block then the end, or two zero blocks: either way the archive is over.
        if (!(await this.q.atEnd())) await this.q.read(BLOCK, "the end-of-archive marker");
        return this.finish();
      }
      const header = decodeHeader(block);
      if (++this.entries > this.maxEntries) {
        throw new DistrolessError("E_HOSTILE", `tar archive has more than ${this.maxEntries} entries`);
      }
      if (header.type === "pax" || header.type === "pax-global" || header.type.startsWith("gnu-")) {
        if (header.size > this.maxMeta) {
          throw new DistrolessError(
            "E_HOSTILE",
            `tar metadata entry of ${header.size} bytes is over the limit`,
          );
        }
        const body = await this.q.read(header.size, "a tar metadata entry");
        await this.q.skip(paddingFor(header.size), "tar padding");
        if (header.type === "pax") pax = { ...pax, ...parsePaxRecords(body) };
        else if (header.type === "pax-global")
          this.globalPax = { ...this.globalPax, ...parsePaxRecords(body) };
        else if (header.type === "gnu-longname") longName = cString(body);
        else longLink = cString(body);
        continue;
      }
      const records = { ...this.globalPax, ...pax };
      if (Object.keys(records).length) applyPax(header, records);
      if (longName !== undefined && !pax.path) header.name = longName;
      if (longLink !== undefined && !pax.linkpath) header.linkname = longLink;
      // Only regular files (and unknown types, by the spec) carry data.
      const hasBody = header.type === "file" || header.type === "unknown";
      this.remaining = hasBody ? header.size : 0;
      this.pad = hasBody ? paddingFor(header.size) : 0;
      return header;
    }
  }

  /** The current entry's content as chunks (zero-copy where possible). */
  async *body(): AsyncGenerator<Buffer> {
    while (this.remaining > 0) {
      const chunk = await this.q.readSome(this.remaining);
      if (!chunk)
        throw new DistrolessError("E_FORMAT", "unexpected end of data inside a tar entry (truncated)");
      this.remaining -= chunk.length;
      yield chunk;
    }
  }

  /** The current entry's content in one buffer; refuses bodies over `maxBytes`. */
  async readBody(maxBytes: number, what = "tar entry"): Promise<Buffer> {
    if (this.remaining > maxBytes) {
      throw new DistrolessError(
        "E_HOSTILE",
        `${what} is ${this.remaining} bytes, over the ${maxBytes}-byte limit`,
      );
    }
    const n = this.remaining;
    this.remaining = 0;
    return n === 0 ? Buffer.alloc(0) : await this.q.read(n, what);
  }

  /** Reads and discards whatever follows the archive (record padding, trailing bytes). */
  async drain(): Promise<number> {
    let n = 0;
    for await (const chunk of this.q.rest()) n += chunk.length;
    return n;
  }

  private async skipRest(): Promise<void> {
    if (this.remaining > 0) await this.q.skip(this.remaining, "a tar entry");
    this.remaining = 0;
    if (this.pad > 0) {
      // apk segments may end right after the last body without padding only if the body ended on a
      // block boundary, so missing padding is truncation.
      await this.q.skip(this.pad, "tar padding");
    }
    this.pad = 0;
  }

  private finish(): undefined {
    this.ended = true;
    return undefined;
  }
}

function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  const bytes = buf.subarray(0, nul < 0 ? buf.length : nul);
  return decodeName(bytes);
}

/** Reads a whole small tar held in memory: every entry with its content. */
export async function readTarBuffer(
  data: Uint8Array,
  options: TarReadOptions & { maxEntryBytes?: number } = {},
): Promise<{ header: TarHeader; data: Buffer }[]> {
  const reader = new TarReader([data], options);
  const out: { header: TarHeader; data: Buffer }[] = [];
  for (let h = await reader.next(); h; h = await reader.next()) {
    out.push({ header: h, data: await reader.readBody(options.maxEntryBytes ?? 64 << 20, h.name) });
  }
  return out;
}
