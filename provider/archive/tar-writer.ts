import { END_OF_ARCHIVE, encodeHeader, paddingFor, type TarHeader } from "./tar-header";

/** One small tar member held in memory (index files, control segments, signatures). */
export interface TarMemoryEntry {
  header: TarHeader;
  data?: Uint8Array;
}

/**
 * Builds a tar in memory. `endOfArchive: false` omits the two zero blocks, as apk's signature and
 * control segments require (they are concatenated with the data segment into one logical tar).
 */
export function buildTar(entries: TarMemoryEntry[], options: { endOfArchive: boolean }): Buffer {
  const parts: Buffer[] = [];
  for (const { header, data } of entries) {
    const body = data ?? new Uint8Array(0);
    parts.push(encodeHeader({ ...header, size: header.type === "file" ? body.length : 0 }));
    if (header.type === "file" && body.length > 0) {
      parts.push(
        Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        Buffer.alloc(paddingFor(body.length)),
      );
    }
  }
  if (options.endOfArchive) parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}
