import * as zlib from "node:zlib";
import { DistrolessError } from "../util/errors";

/**
 * apk files and signed indexes are several gzip members back to back, and their checksums cover the
 * compressed bytes of individual members. So members must be located exactly, which a plain
 * multi-member gunzip cannot tell. We parse each gzip header ourselves and let zlib's raw inflate
 * report how many input bytes the deflate stream used (`engine.bytesWritten`).
 */

export interface GzipMember {
  /** Offset of the member's first byte in the containing buffer. */
  offset: number;
  /** Compressed length, header and trailer included. */
  length: number;
  inflated: Buffer;
}

const FTEXT = 1;
const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/** Length of the gzip header at `offset`, or undefined if more bytes are needed. Throws on non-gzip. */
export function gzipHeaderLength(buf: Uint8Array, offset: number): number | undefined {
  const have = buf.length - offset;
  if ((have >= 1 && buf[offset] !== 0x1f) || (have >= 2 && buf[offset + 1] !== 0x8b)) {
    throw new DistrolessError("E_FORMAT", `not gzip data at byte ${offset} (bad magic)`);
  }
  if (have < 10) return undefined;
  if (buf[offset + 2] !== 8)
    throw new DistrolessError("E_FORMAT", `unsupported gzip method at byte ${offset}`);
  const flags = buf[offset + 3]!;
  if (flags & ~(FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT)) {
    throw new DistrolessError("E_FORMAT", `reserved gzip flags set at byte ${offset}`);
  }
  let p = offset + 10;
  if (flags & FEXTRA) {
    if (buf.length < p + 2) return undefined;
    p += 2 + (buf[p]! | (buf[p + 1]! << 8));
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      while (p < buf.length && buf[p] !== 0) p++;
      if (p >= buf.length) return undefined;
      p++;
    }
  }
  if (flags & FHCRC) p += 2;
  return p <= buf.length ? p - offset : undefined;
}

/**
 * Inflates the gzip member starting at `offset`. Returns undefined when `buf` ends before the member
 * does (the caller may read more and retry). `maxInflated` caps the output (decompression bombs).
 */
export function inflateMember(buf: Buffer, offset: number, maxInflated: number): GzipMember | undefined {
  const headerLen = gzipHeaderLength(buf, offset);
  if (headerLen === undefined) return undefined;
  const start = offset + headerLen;
  let result: { buffer: Buffer; engine: zlib.InflateRaw };
  try {
    result = zlib.inflateRawSync(buf.subarray(start), {
      info: true,
      maxOutputLength: maxInflated,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    }) as unknown as { buffer: Buffer; engine: zlib.InflateRaw };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
      throw new DistrolessError(
        "E_HOSTILE",
        `gzip member at byte ${offset} inflates past the ${maxInflated}-byte limit`,
      );
    }
    throw new DistrolessError("E_FORMAT", `corrupt gzip data at byte ${offset}: ${(err as Error).message}`);
  }
  const used = result.engine.bytesWritten;
  const trailer = start + used;
  // With Z_SYNC_FLUSH, a stream cut short inflates without error; a missing trailer tells us.
  if (trailer + 8 > buf.length) return undefined;
  const crc = buf.readUInt32LE(trailer);
  const isize = buf.readUInt32LE(trailer + 4);
  if (zlib.crc32(result.buffer) !== crc || result.buffer.length >>> 0 !== isize) {
    throw new DistrolessError("E_CHECKSUM", `gzip member at byte ${offset} fails its CRC check (corrupt)`);
  }
  return { offset, length: trailer + 8 - offset, inflated: result.buffer };
}

/** Splits a buffer holding whole gzip members; every byte must belong to a member. */
export function splitGzipMembers(
  buf: Buffer,
  options: { maxMembers?: number; maxInflated?: number } = {},
): GzipMember[] {
  const maxMembers = options.maxMembers ?? 16;
  const maxInflated = options.maxInflated ?? 256 << 20;
  const members: GzipMember[] = [];
  let offset = 0;
  if (buf.length === 0) throw new DistrolessError("E_FORMAT", "empty file (expected gzip data)");
  while (offset < buf.length) {
    if (members.length >= maxMembers) {
      throw new DistrolessError("E_HOSTILE", `more than ${maxMembers} gzip members`);
    }
    const m = inflateMember(buf, offset, maxInflated);
    if (!m)
      throw new DistrolessError("E_FORMAT", `truncated gzip data (member at byte ${offset} is incomplete)`);
    members.push(m);
    offset += m.length;
  }
  return members;
}
