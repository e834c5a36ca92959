import { CompactIndex } from "../apk/index-compact";
import type { TrustRecord } from "./index-trust";

/** A parsed index as the loader keeps it in memory, by archive digest. */
export interface ParsedRecord {
  sha256: string;
  /** The records, description and signature names, in the compact form that is also the cache file. */
  index: CompactIndex;
  /** Keys that verified these exact bytes (in memory only: the disk copy never vouches for itself). */
  trust: TrustRecord[];
}

/** The bytes the cache stores for a record: the compact index's tables, then its text (no copy). */
export function encodeParsed(r: ParsedRecord): Buffer[] {
  return r.index.parts();
}

/**
 * The record again from sealed cache bytes; undefined when they are not a compact index of this
 * format version derived from the archive `sha256` (the caller parses the archive again).
 */
export function decodeParsed(
  data: Buffer | undefined,
  sha256: string,
  subject: string,
): ParsedRecord | undefined {
  if (!data) return undefined;
  // Typed views need 8-byte alignment; a read buffer normally has it, a slice may not.
  const body = data.byteOffset % 8 === 0 ? data : copyAligned(data);
  let index: CompactIndex;
  try {
    index = CompactIndex.fromCacheBytes(body, subject);
  } catch {
    return undefined;
  }
  if (index.sourceSha256 !== sha256) return undefined;
  return { sha256, index, trust: [] };
}

function copyAligned(data: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(data.length);
  data.copy(out);
  return out;
}
